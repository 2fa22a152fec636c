"""Signing users in: the authorization code flow with PKCE (RFC 6749
section 4.1, RFC 7636), the first-party sign-in with MFA, refresh,
revocation (RFC 7009) and client credentials."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional, Union

from .errors import AriesAPIError, AriesError, json_object
from .tokens import Token, _redact

if TYPE_CHECKING:
    from .client import AriesClient

__all__ = ["OAuth2", "SignInResult", "generate_code_verifier", "code_challenge_s256", "generate_state"]

AUTHORIZE_PATH = "/oauth2/authorize"  # the hosted sign-in and consent pages
TOKEN_PATH = "/v1/oauth2/token"
REVOKE_PATH = "/v1/oauth2/revoke"
FIRST_PARTY_AUTHORIZE_PATH = "/v1/oauth2/authorize"
MFA_VERIFY_PATH = "/v1/oauth2/mfa/verify"

Scope = Union[str, Iterable[str], None]


def generate_code_verifier() -> str:
    """A new PKCE code verifier (RFC 7636 section 4.1): 32 random bytes,
    base64url without padding (43 characters). Keep it until the exchange."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")


def code_challenge_s256(code_verifier: str) -> str:
    """The S256 challenge of a verifier (RFC 7636 section 4.2):
    BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def generate_state() -> str:
    """A new random ``state`` (RFC 6749 section 10.12): use one per
    authorization request and check it when the user comes back."""
    return secrets.token_urlsafe(24)


def scope_string(scope: Scope) -> Optional[str]:
    """``["read", "trade"]`` or ``"read trade"`` as the space-separated
    string of the protocol; ``None`` for no scope."""
    if scope is None:
        return None
    if isinstance(scope, str):
        text = " ".join(scope.split())
    else:
        text = " ".join(str(s) for s in scope)
    return text or None


@dataclass(frozen=True)
class SignInResult:
    """The outcome of :meth:`OAuth2.sign_in` or :meth:`OAuth2.verify_mfa`.

    Either ``authorization_code`` is set, to exchange with
    :meth:`OAuth2.exchange_code`, or (after ``sign_in`` for a user with
    two-step verification) ``mfa_required`` is true and ``session_token``
    is to be passed to :meth:`OAuth2.verify_mfa` with the user's 6-digit
    code within ``expires_in`` seconds.
    """

    authorization_code: Optional[str] = None
    mfa_required: bool = False
    session_token: Optional[str] = None
    expires_in: Optional[int] = None

    def __repr__(self) -> str:
        return "SignInResult(authorization_code=%s, mfa_required=%r, session_token=%s, expires_in=%r)" % (
            _redact(self.authorization_code), self.mfa_required, _redact(self.session_token), self.expires_in)


class OAuth2:
    """The authorization server's endpoints, as ``client.oauth2``.

    Calls here never use or change the client's own token, except
    :meth:`refresh_token` given the client's own refresh token (which it
    spends): set ``client.token`` to act for a user after a sign-in. They
    are never retried automatically: a code, a session token and a refresh
    token each work once.
    """

    def __init__(self, client: "AriesClient") -> None:
        self._c = client

    def _credentials(self) -> dict[str, str]:
        if not self._c.client_id:
            raise AriesError("this call needs the client_id the app was registered with")
        out = {"client_id": self._c.client_id}
        if self._c.client_secret:
            out["client_secret"] = self._c.client_secret
        return out

    def get_authorization_url(
        self,
        redirect_uri: str,
        scope: Scope = None,
        state: Optional[str] = None,
        code_challenge: Optional[str] = None,
        code_challenge_method: Optional[str] = None,
        *,
        prompt: Optional[str] = None,
    ) -> str:
        """The URL of the hosted sign-in and consent pages to send the user
        to (RFC 6749 section 4.1.1). Aries sends the user back to
        ``redirect_uri`` (registered for the app, character for character)
        with ``code`` and ``state``, or with ``error``.

        ``scope`` is a list such as ``["read", "trade"]`` or a string; left
        out, the app's enabled scopes except ``admin`` are asked for.
        ``code_challenge`` is the S256 challenge of a PKCE verifier
        (:func:`code_challenge_s256`); the method defaults to ``S256``.
        ``prompt`` is ``login``, ``consent`` or ``none``.
        """
        if not self._c.client_id:
            raise AriesError("get_authorization_url needs the client_id the app was registered with")
        params = [("response_type", "code"), ("client_id", self._c.client_id), ("redirect_uri", redirect_uri)]
        scopes = scope_string(scope)
        if scopes:
            params.append(("scope", scopes))
        if state:
            params.append(("state", state))
        if code_challenge:
            params.append(("code_challenge", code_challenge))
            params.append(("code_challenge_method", code_challenge_method or "S256"))
        elif code_challenge_method:
            raise ValueError("code_challenge_method needs a code_challenge")
        if prompt:
            params.append(("prompt", prompt))
        return self._c.auth_url + AUTHORIZE_PATH + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)

    def exchange_code(self, code: str, redirect_uri: Optional[str] = None, code_verifier: Optional[str] = None) -> Token:
        """Trades an authorization code for tokens (RFC 6749 section 4.1.3).

        ``redirect_uri`` must be the one of the authorization request. A
        confidential app authenticates with its secret; a public one (and
        any app whose request carried a ``code_challenge``) sends the PKCE
        ``code_verifier``. A code works once and lives a minute: a second
        use is ``400 invalid_grant``.
        """
        form = {"grant_type": "authorization_code", "code": code}
        if redirect_uri:
            form["redirect_uri"] = redirect_uri
        if code_verifier:
            form["code_verifier"] = code_verifier
        form.update(self._credentials())
        return self._c._token_request(form)

    def refresh_token(self, refresh_token: str, scope: Scope = None) -> Token:
        """Trades a refresh token for new tokens (RFC 6749 section 6).

        Aries rotates refresh tokens: the one passed is spent, keep the
        returned one (presenting a spent one again revokes the whole
        sign-in). A client whose refresh tokens Aries does not rotate gets
        the one passed back in the returned token's ``refresh_token``. When it is the client's own refresh token, the new tokens
        become the client's and go to ``on_token_refresh``. ``scope`` may
        narrow the grant. A refresh token that expired, was revoked or was
        already used is ``400 invalid_grant``.
        """
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        scopes = scope_string(scope)
        if scopes:
            form["scope"] = scopes
        form.update(self._credentials())
        return self._c._tokens.refresh_manually(refresh_token, lambda: self._c._token_request(form))

    def client_credentials(self, scope: Scope = None) -> Token:
        """A token for the app itself, acting for no user (RFC 6749 section
        4.4); confidential apps only. A client built with only a client id
        and secret gets these by itself."""
        form = {"grant_type": "client_credentials"}
        scopes = scope_string(scope)
        if scopes:
            form["scope"] = scopes
        form.update(self._credentials())
        return self._c._token_request(form)

    def revoke(self, token: str, token_type_hint: Optional[str] = None) -> None:
        """Revokes a refresh token, and with it every token of its sign-in,
        or an access token (RFC 7009). Revoking an invalid token succeeds.
        The API stops accepting a revoked access token within its revocation
        interval (5 seconds by default)."""
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        form.update(self._credentials())
        self._c._anonymous("POST", REVOKE_PATH, form=form)

    def sign_in(
        self,
        email: str,
        password: str,
        scope: Scope = None,
        *,
        redirect_uri: Optional[str] = None,
        code_challenge: Optional[str] = None,
        code_challenge_method: Optional[str] = None,
    ) -> SignInResult:
        """Signs a user in with email and password, without a browser
        (``POST /v1/oauth2/authorize``): only apps registered as
        first-party may.

        Returns a :class:`SignInResult` with ``authorization_code``, or, for
        a user with two-step verification, ``mfa_required`` and
        ``session_token`` for :meth:`verify_mfa` (the server's ``403
        insufficient_authorization``, which is the next step of the flow and
        not raised). Wrong credentials are ``401 access_denied``, which does
        not tell whether the email exists. ``redirect_uri``, when given, must
        be registered and repeated at the exchange; ``code_challenge`` binds
        the code to a PKCE verifier.
        """
        body = dict(self._credentials())
        body["email"] = email
        body["password"] = password
        scopes = scope_string(scope)
        if scopes:
            body["scope"] = scopes
        if redirect_uri:
            body["redirect_uri"] = redirect_uri
        if code_challenge:
            body["code_challenge"] = code_challenge
            body["code_challenge_method"] = code_challenge_method or "S256"
        try:
            answer = self._c._anonymous("POST", FIRST_PARTY_AUTHORIZE_PATH, json_body=body)
        except AriesAPIError as e:
            challenge = json_object(e.json()) if e.status_code == 403 else None
            if (challenge is not None and challenge.get("mfa_required") is True
                    and isinstance(challenge.get("session_token"), str) and challenge["session_token"]):
                expires_in = challenge.get("expires_in")
                return SignInResult(mfa_required=True, session_token=challenge["session_token"],
                                    expires_in=expires_in if isinstance(expires_in, int) else None)
            raise
        return _authorized(answer)

    def verify_mfa(self, code: str, session_token: str) -> SignInResult:
        """Completes a sign-in that answered ``mfa_required`` with the
        user's 6-digit TOTP code (``POST /v1/oauth2/mfa/verify``); returns a
        :class:`SignInResult` with ``authorization_code``.

        A wrong code is ``400 invalid_mfa_code`` and may be tried again; a
        code is accepted once. After five wrong codes or five minutes the
        session token is dead (``400 invalid_grant``): sign in again.
        """
        body = dict(self._credentials())
        body["code"] = code
        body["session_token"] = session_token
        return _authorized(self._c._anonymous("POST", MFA_VERIFY_PATH, json_body=body))


def _authorized(answer: object) -> SignInResult:
    obj = json_object(answer)
    code = obj.get("authorization_code") if obj is not None else None
    if not isinstance(code, str) or not code:
        raise AriesError("Aries answered without an authorization_code")
    return SignInResult(authorization_code=code)
