"""Tokens: what the token endpoint grants, how a client keeps them fresh,
and a file to keep them in between runs."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, List, Mapping, Optional, Tuple

from .errors import AriesAPIError, AriesConnectionError, AriesError, json_object

__all__ = ["Token", "FileTokenStore", "TokenCallback"]

log = logging.getLogger("aries_exchange")

TokenCallback = Callable[["Token"], None]


def _redact(secret: Optional[str]) -> str:
    if not secret:
        return repr(secret)
    return repr(secret[:8] + "...")


@dataclass(frozen=True)
class Token:
    """What the token endpoint grants (RFC 6749 section 5.1).

    Attributes:
        access_token: sent as ``Authorization: Bearer <access_token>``.
        token_type: ``"Bearer"``.
        expires_in: the lifetime in seconds as the server sent it (900 by
            default); it does not count down, ``expires_at`` does.
        refresh_token: present for the code and refresh grants. Aries
            rotates it on every use: the one a refresh presented is spent.
        scope: the granted scopes, space-separated, with the bundles
            ``read``, ``trade`` and ``withdraw`` expanded.
        expires_at: the unix time the access token expires, computed when
            the token was received; ``None`` when unknown.
    """

    access_token: str
    token_type: str = "Bearer"
    expires_in: Optional[int] = None
    refresh_token: Optional[str] = None
    scope: str = ""
    expires_at: Optional[float] = field(default=None)

    def __repr__(self) -> str:
        # Tokens are credentials: a log line must not carry them whole.
        return "Token(access_token=%s, token_type=%r, expires_in=%r, refresh_token=%s, scope=%r)" % (
            _redact(self.access_token), self.token_type, self.expires_in, _redact(self.refresh_token), self.scope)

    @property
    def scopes(self) -> List[str]:
        """The granted scopes as a list."""
        return self.scope.split()

    def to_dict(self) -> dict[str, Any]:
        """The token as JSON-ready data, for a store of your own."""
        out: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type, "scope": self.scope}
        if self.expires_in is not None:
            out["expires_in"] = self.expires_in
        if self.refresh_token is not None:
            out["refresh_token"] = self.refresh_token
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Token":
        """Reads what :meth:`to_dict` wrote."""
        expires_at = data.get("expires_at")
        expires_in = data.get("expires_in")
        return cls(
            access_token=str(data.get("access_token") or ""),
            token_type=str(data.get("token_type") or "Bearer"),
            expires_in=int(expires_in) if expires_in is not None else None,
            refresh_token=data.get("refresh_token") or None,
            scope=str(data.get("scope") or ""),
            expires_at=float(expires_at) if expires_at is not None else None,
        )

    @classmethod
    def from_response(cls, answer: Any, now: float) -> "Token":
        """Reads a token endpoint answer received at unix time ``now``."""
        data = json_object(answer)
        if data is None or not isinstance(data.get("access_token"), str) or not data["access_token"]:
            raise AriesError("the token endpoint answered without an access_token")
        expires_in = data.get("expires_in")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            expires_in = None
        refresh = data.get("refresh_token")
        return cls(
            access_token=data["access_token"],
            token_type=str(data.get("token_type") or "Bearer"),
            expires_in=expires_in,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            scope=str(data.get("scope") or ""),
            expires_at=now + expires_in if expires_in is not None else None,
        )


class FileTokenStore:
    """A token kept in a JSON file that only its owner can read (mode 0600).

    Pass ``on_token_refresh=store.save`` to a client: every rotated refresh
    token is written before the call that caused the refresh returns.
    :meth:`save` replaces the file atomically (a temporary file in the same
    directory, flushed, synced and renamed over the old one), so a crash
    leaves the old token or the new one, never half of either.
    """

    def __init__(self, path: "os.PathLike[str] | str") -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def load(self) -> Optional[Token]:
        """The stored token, or ``None`` when the file does not exist."""
        try:
            with open(self.path, encoding="utf-8") as f:
                return Token.from_dict(json.load(f))
        except FileNotFoundError:
            return None

    def save(self, token: Token) -> None:
        """Replaces the stored token."""
        directory = os.path.dirname(os.path.abspath(self.path))
        with self._lock:
            fd, tmp = tempfile.mkstemp(prefix=".aries-token-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(token.to_dict(), f)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                raise


def is_dead_refresh(e: AriesAPIError) -> bool:
    """Whether the token endpoint refused a refresh token for good: it
    expired, was revoked, or was already used (RFC 6749 section 5.2)."""
    return e.status_code == 400 and e.error == "invalid_grant"


def _again(e: AriesAPIError) -> AriesAPIError:
    """A fresh copy of a refusal to raise again (re-raising one instance
    would grow its traceback at every call)."""
    return AriesAPIError(e.status_code, e.error, e.message, e.headers, e.body)


class TokenManager:
    """Holds a client's token and renews it before it expires.

    However many threads ask at once, at most one renewal runs at a time
    (``_lock``) and the others wait for it and use its result: with refresh
    token rotation, a second concurrent refresh would present a spent
    token, which Aries takes as a replay and answers by revoking the whole
    sign-in. The current token is an immutable :class:`Token` read without
    the lock; it is only replaced while the lock is held.
    """

    def __init__(
        self,
        token: Optional[Token],
        *,
        auto_refresh: bool,
        refresh: Callable[[str], Token],
        app_token: Optional[Callable[[], Token]],
        on_refresh: Optional[TokenCallback],
        clock: Callable[[], float],
        margin: float,
    ) -> None:
        self._lock = threading.Lock()
        self._token = token
        self._auto = auto_refresh
        self._refresh = refresh
        self._app_token = app_token
        self._on_refresh = on_refresh
        self._clock = clock
        self._margin = margin
        self._as_app = False  # the token is the app's own (client credentials)
        self._stale: Optional[str] = None  # an access token the API refused
        self._dead: Optional[AriesAPIError] = None  # the refresh token was refused for good
        # The last refresh tokens this client rotated away: an immutable
        # tuple, replaced under the lock and read without it.
        self._spent: Tuple[str, ...] = ()

    @property
    def token(self) -> Optional[Token]:
        return self._token

    def set(self, token: Optional[Token]) -> None:
        """Replaces the token (after a sign-in, or by the app's choice)."""
        with self._lock:
            self._token, self._as_app, self._stale, self._dead = token, False, None, None

    def set_access_token(self, access_token: Optional[str]) -> None:
        """Replaces the access token and keeps the refresh token."""
        with self._lock:
            refresh = self._token.refresh_token if self._token is not None else None
            if access_token is None and refresh is None:
                self._token = None
            else:
                self._token = Token(access_token=access_token or "", refresh_token=refresh)
            self._as_app, self._stale = False, None

    def _due(self, tok: Token) -> bool:
        """Whether tok should be replaced before it is used: it was refused,
        or it expires within the margin (at most half its lifetime, so a
        short-lived token is still used for a while)."""
        if tok.access_token == self._stale:
            return True
        if tok.expires_at is None:
            return False
        margin = self._margin
        if tok.expires_in is not None:
            margin = min(margin, tok.expires_in / 2)
        return self._clock() >= tok.expires_at - margin

    def _renewable(self, tok: Optional[Token]) -> bool:
        if not self._auto:
            return False
        if tok is not None and tok.refresh_token:
            return self._dead is None
        return (tok is None or self._as_app) and self._app_token is not None

    def access_token(self) -> str:
        """A usable access token, renewed first when it is due."""
        tok = self._token
        if tok is not None and tok.access_token and not (self._due(tok) and self._renewable(tok)):
            return tok.access_token
        with self._lock:
            # Another thread may have renewed it while this one waited.
            tok = self._token
            if tok is not None and tok.access_token and not (self._due(tok) and self._renewable(tok)):
                return tok.access_token
            return self._renew(tok).access_token

    def _renew(self, old: Optional[Token]) -> Token:
        """Gets a new token; called with the lock held."""
        if self._auto and old is not None and old.refresh_token:
            if self._dead is not None:
                raise _again(self._dead)
            try:
                new = self._refresh(old.refresh_token)
            except AriesAPIError as e:
                if is_dead_refresh(e):
                    self._dead = e
                    raise
                return self._keep(old, e)
            except AriesConnectionError as e:
                return self._keep(old, e)
            return self._install(old, new)
        if self._auto and (old is None or self._as_app) and self._app_token is not None:
            # Only a client that never held a user's token acts as the app:
            # a user's session that ends must not silently become the app's.
            new = self._app_token()
            self._token, self._as_app, self._stale = new, True, None
            return new
        if old is not None and old.access_token:
            return old  # nothing to renew it with: the server will judge it
        if old is not None and old.refresh_token:
            raise AriesError("the client has a refresh token but auto_refresh is off: call "
                             "client.oauth2.refresh_token() and set client.bearer_token")
        raise AriesError("the client has no access token: pass bearer_token, refresh_token, or client_id "
                         "and client_secret to act as the app, or set client.token after a sign-in")

    def _keep(self, old: Token, cause: AriesError) -> Token:
        # A failed proactive refresh is not yet a failed call: the old token
        # works until it expires (a 429 or an outage of the token endpoint).
        if old.access_token and old.access_token != self._stale and (
                old.expires_at is None or self._clock() < old.expires_at):
            log.warning("refreshing the access token failed (%s); using the current one until it expires", cause)
            return old
        raise cause

    def _install(self, old: Optional[Token], new: Token) -> Token:
        """Makes new the token and hands it to the callback; lock held."""
        if new.refresh_token is None and old is not None and old.refresh_token:
            # Without rotation the server sends no new refresh token: the
            # old one stays valid.
            new = replace(new, refresh_token=old.refresh_token)
        if old is not None and old.refresh_token and old.refresh_token != new.refresh_token:
            self._spent = (self._spent + (old.refresh_token,))[-16:]
        self._token, self._as_app, self._stale, self._dead = new, False, None, None
        log.debug("access token refreshed, expires in %s s", new.expires_in)
        if self._on_refresh is not None:
            # Under the lock: callbacks run one at a time, in order, so a
            # store never ends up with an older token than the newest.
            self._on_refresh(new)
        return new

    def refresh_manually(self, refresh_token: str, refresh: Callable[[], Token]) -> Token:
        """Runs an explicit refresh (client.oauth2.refresh_token). A refresh
        of the client's own refresh token takes turns with the automatic
        ones and its result becomes the client's token; any other runs at
        once (a backend may refresh for many users through one client)."""
        tok = self._token
        if (tok is None or tok.refresh_token != refresh_token) and refresh_token not in self._spent:
            return _keeping(refresh(), refresh_token)
        with self._lock:
            if refresh_token in self._spent:
                # Sending it would be a replay, which revokes the sign-in.
                raise AriesError("this refresh token was already spent by the client's own refresh; "
                                 "client.token holds the current one")
            own = self._token is not None and self._token.refresh_token == refresh_token
            try:
                new = _keeping(refresh(), refresh_token)
            except AriesAPIError as e:
                if own and is_dead_refresh(e):
                    self._dead = e
                raise
            if own:
                self._install(self._token, new)
            return new

    def invalidate(self, access_token: str) -> bool:
        """Marks an access token the API refused (401) as stale. Reports
        whether the client can get another, so the call is worth retrying."""
        with self._lock:
            tok = self._token
            if tok is None or not self._renewable(tok):
                return False
            if tok.access_token == access_token:
                self._stale = access_token
            return True


def _keeping(new: Token, refresh_token: str) -> Token:
    """new, with refresh_token when the answer carried none: a client whose
    refresh tokens Aries does not rotate gets no new one and keeps using
    the one it sent (RFC 6749 sections 5.1 and 6; docs/fapi.md in the Aries
    repository, "Refresh-token policy")."""
    if new.refresh_token is None:
        return replace(new, refresh_token=refresh_token)
    return new
