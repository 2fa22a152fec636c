"""AriesClient: one app, and when it holds a token, one user."""

from __future__ import annotations

import logging
import os
import time
import urllib.request
from typing import Any, Callable, Mapping, Optional, Sequence

from ._transport import Transport, check_base_url
from .errors import AriesAPIError, _retry_after
from .oauth2 import TOKEN_PATH, OAuth2
from .services import Accounts, Orders, Users
from .tokens import Token, TokenCallback, TokenManager

__all__ = ["AriesClient", "DEFAULT_API_URL", "DEFAULT_AUTH_URL"]

log = logging.getLogger("aries_exchange")

DEFAULT_API_URL = "https://api.aries.com"  # the token endpoint and the API
DEFAULT_AUTH_URL = "https://app.aries.com"  # the hosted sign-in and consent pages

# RFC 9110 section 9.2.2: sending these again has the effect of sending
# them once. Other requests are retried only with an Idempotency-Key.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class AriesClient:
    """A client of the Aries API.

    Built from one of the SDK page's starting points:

    * ``AriesClient(client_id=..., client_secret=...)``: an app. Until it
      holds a user's token, its API calls act as the app itself, with
      tokens of the client credentials grant it gets and renews by itself.
    * ``AriesClient(client_id=..., client_secret=..., refresh_token=...)``:
      acts for the user the refresh token belongs to, getting access tokens
      as needed (``client_secret`` is left out for a public app).
    * ``AriesClient(bearer_token=...)``: sends this access token as it is.

    Args:
        client_id, client_secret: the app's credentials from the Client
            Center; keep the secret out of source code.
        refresh_token: a user's refresh token.
        auto_refresh: renew access tokens by itself (the default): shortly
            before they expire, and once after the API refuses one with 401.
            With ``False`` the client never asks for a token on its own.
        bearer_token: an access token to use as it is.
        base_url: the API's base URL; default the ``ARIES_API_URL``
            environment variable, then ``https://api.aries.com``.
        auth_url: the base URL of the hosted sign-in pages; default
            ``base_url`` when that was given or set in the environment (one
            ``aries serve`` serves both), else ``https://app.aries.com``.
        on_token_refresh: called with the new :class:`Token` after every
            refresh the client makes, automatic or through
            ``client.oauth2.refresh_token`` of its own refresh token. Aries
            rotates refresh tokens, so a program that keeps one across runs
            must save each new one (:class:`FileTokenStore` ``.save`` does).
            Calls are made one at a time, in order; an exception it raises
            propagates to the API call that triggered the refresh.
        max_retries: how many times an answer ``429 Too Many Requests`` is
            retried, after waiting as its ``Retry-After`` (or
            ``X-RateLimit-Reset``) header says; 0 (the default) never
            retries. Only idempotent requests and requests with an
            ``Idempotency-Key`` (orders, withdrawals) are retried, and never
            a token request.
        max_retry_wait: the most seconds one call may spend waiting to
            retry; a retry that would exceed it is not made and the 429 is
            raised.
        refresh_margin: how many seconds before expiry an access token is
            replaced (at most half its lifetime).
        timeout: seconds to wait for each answer.
        http_handlers: extra ``urllib.request`` handlers (a proxy, an SSL
            context through ``HTTPSHandler(context=...)``). Redirects are
            never followed, so a token cannot be sent to another host.
        clock: the current unix time, ``time.time`` by default; sleep:
            waits a number of seconds, ``time.sleep`` by default. Tests
            replace them.

    The client is safe for use by many threads.
    """

    def __init__(
        self,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        refresh_token: Optional[str] = None,
        auto_refresh: bool = True,
        bearer_token: Optional[str] = None,
        base_url: Optional[str] = None,
        auth_url: Optional[str] = None,
        on_token_refresh: Optional[TokenCallback] = None,
        max_retries: int = 0,
        max_retry_wait: float = 30.0,
        refresh_margin: float = 60.0,
        timeout: float = 30.0,
        http_handlers: Sequence[urllib.request.BaseHandler] = (),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_retries < 0 or max_retry_wait < 0 or refresh_margin < 0 or timeout <= 0:
            raise ValueError("max_retries, max_retry_wait and refresh_margin must not be negative, timeout positive")
        self.client_id = client_id or None
        self.client_secret = client_secret or None
        given = base_url or os.environ.get("ARIES_API_URL") or None
        self.base_url = check_base_url(given or DEFAULT_API_URL, "base_url")
        self.auth_url = check_base_url(auth_url or (self.base_url if given else DEFAULT_AUTH_URL), "auth_url")
        self.auto_refresh = auto_refresh
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._clock = clock
        self._sleep = sleep
        self._transport = Transport(self.base_url, timeout, http_handlers)

        token: Optional[Token] = None
        if bearer_token or refresh_token:
            token = Token(access_token=bearer_token or "", refresh_token=refresh_token or None)
        app_token = None
        if self.client_id and self.client_secret:
            app_token = self._client_credentials
        self._tokens = TokenManager(token, auto_refresh=auto_refresh, refresh=self._refresh_grant,
                                    app_token=app_token, on_refresh=on_token_refresh, clock=clock,
                                    margin=refresh_margin)

        self.oauth2 = OAuth2(self)
        self.users = Users(self)
        self.accounts = Accounts(self)
        self.orders = Orders(self)

    def __repr__(self) -> str:
        return "AriesClient(client_id=%r, base_url=%r)" % (self.client_id, self.base_url)

    @property
    def token(self) -> Optional[Token]:
        """The client's current token, or ``None``. Setting it (to what
        ``client.oauth2.exchange_code`` returned, say) makes the client act
        for that user from then on, refreshing with its refresh token."""
        return self._tokens.token

    @token.setter
    def token(self, token: Optional[Token]) -> None:
        self._tokens.set(token)

    @property
    def bearer_token(self) -> Optional[str]:
        """The access token API calls send, ``None`` while the client has
        none. Setting it replaces the access token and keeps the refresh
        token."""
        tok = self._tokens.token
        return tok.access_token if tok is not None and tok.access_token else None

    @bearer_token.setter
    def bearer_token(self, access_token: Optional[str]) -> None:
        self._tokens.set_access_token(access_token)

    # Token endpoint.

    def _token_request(self, form: Mapping[str, str]) -> Token:
        """POST /v1/oauth2/token; never retried: codes and refresh tokens
        work once."""
        answer = self._transport.send("POST", TOKEN_PATH, form=form)
        if answer.status != 200:
            raise AriesAPIError.from_response(answer.status, answer.headers, answer.body)
        return Token.from_response(answer.json(), self._clock())

    def _refresh_grant(self, refresh_token: str) -> Token:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.client_id:
            form["client_id"] = self.client_id
        if self.client_secret:
            form["client_secret"] = self.client_secret
        return self._token_request(form)

    def _client_credentials(self) -> Token:
        assert self.client_id and self.client_secret
        return self._token_request({"grant_type": "client_credentials", "client_id": self.client_id,
                                    "client_secret": self.client_secret})

    # Requests.

    def _anonymous(self, method: str, path: str, *, json_body: Any = None,
                   form: Optional[Mapping[str, str]] = None) -> Any:
        """A request without an access token (sign-in, MFA, revocation);
        never retried."""
        answer = self._transport.send(method, path, json_body=json_body, form=form)
        if not 200 <= answer.status < 300:
            raise AriesAPIError.from_response(answer.status, answer.headers, answer.body)
        return answer.json()

    def _call(self, method: str, path: str, *, query: Optional[Mapping[str, str]] = None,
              json_body: Any = None, headers: Optional[Mapping[str, str]] = None) -> Any:
        """An API call with the client's access token: renews the token once
        after a 401 when it can, and retries 429 answers as the client's
        retry settings allow."""
        retryable = method in _IDEMPOTENT or bool(headers and "Idempotency-Key" in headers)
        retried = 0
        waited = 0.0
        renewed = False
        while True:
            access_token = self._tokens.access_token()
            all_headers = dict(headers or {})
            all_headers["Authorization"] = "Bearer " + access_token
            answer = self._transport.send(method, path, query=query, json_body=json_body, headers=all_headers)
            if 200 <= answer.status < 300:
                return answer.json()
            error = AriesAPIError.from_response(answer.status, answer.headers, answer.body)
            # A 401 means the request was not executed: after one renewal
            # (the token was revoked or expired early) it is safe to send.
            if answer.status == 401 and not renewed and self._tokens.invalidate(access_token):
                renewed = True
                log.debug("%s %s: 401, renewing the access token", method, path)
                continue
            if answer.status != 429 or not retryable or retried >= self.max_retries:
                raise error
            wait = _retry_after(answer.headers, self._clock())
            if wait is None:
                wait = float(min(2 ** retried, 32))
            if waited + wait > self.max_retry_wait:
                raise error
            log.info("%s %s: rate limited, retrying in %.1f s", method, path, wait)
            self._sleep(wait)
            waited += wait
            retried += 1
