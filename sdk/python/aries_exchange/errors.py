"""The exceptions of the SDK.

Every answer of Aries that is not a success is an :class:`AriesAPIError`
carrying the HTTP status, the OAuth or API error code (RFC 6749 section 5.2,
RFC 6750 section 3.1), the human-readable message and the response headers.
A request that got no answer at all (connection refused, timeout, TLS
failure) is an :class:`AriesConnectionError`. Both derive from
:class:`AriesError`, which is also raised on its own when the client cannot
even build a request, for instance an API call from a client that has no
token and no way to get one.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Dict, Iterable, Iterator, Mapping, Optional, Tuple, cast

__all__ = ["AriesError", "AriesAPIError", "AriesConnectionError", "Headers"]


def json_object(value: object) -> Optional[Dict[str, Any]]:
    """A decoded JSON value as an object, or None when it is not one."""
    return cast(Dict[str, Any], value) if isinstance(value, dict) else None


class Headers(Mapping[str, str]):
    """Response headers: a read-only mapping with case-insensitive names.

    ``e.headers.get("Retry-After")`` and ``e.headers["retry-after"]`` find
    the same header. A header sent several times is joined with ``", "``
    (RFC 9110 section 5.3).
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Tuple[str, str]] = ()) -> None:
        merged: dict[str, Tuple[str, str]] = {}
        for name, value in items:
            key = name.lower()
            if key in merged:
                merged[key] = (merged[key][0], merged[key][1] + ", " + value)
            else:
                merged[key] = (name, value)
        self._items = merged

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return "Headers(%r)" % {name: value for name, value in self._items.values()}


class AriesError(Exception):
    """Base class of every exception the SDK raises."""


class AriesConnectionError(AriesError):
    """No answer from Aries: the connection failed or timed out.

    The underlying ``OSError`` is the exception's ``__cause__``. Whether a
    request that timed out reached the server cannot be known; orders carry
    an ``Idempotency-Key`` so that sending one again is safe.
    """


class AriesAPIError(AriesError):
    """An error answer of Aries.

    Attributes:
        status_code: the HTTP status, such as 400, 401, 403, 404, 409, 422
            or 429.
        error: the error code, such as ``invalid_grant``,
            ``invalid_client``, ``insufficient_scope`` or ``rate_limited``;
            ``None`` when the answer named none.
        message: the human-readable description the server gave, or the
            HTTP reason phrase.
        headers: the response headers, case-insensitive
            (``e.headers.get("Retry-After")``).
        body: the raw response body.
    """

    def __init__(
        self,
        status_code: int,
        error: Optional[str],
        message: str,
        headers: Optional[Headers] = None,
        body: bytes = b"",
    ) -> None:
        self.status_code = status_code
        self.error = error
        self.message = message
        self.headers: Headers = headers if headers is not None else Headers()
        self.body = body
        super().__init__(str(self))

    def __str__(self) -> str:
        text = str(self.status_code)
        if self.error:
            text += " " + self.error
        if self.message:
            text += ": " + self.message
        return text

    def __repr__(self) -> str:
        return "AriesAPIError(status_code=%d, error=%r, message=%r)" % (self.status_code, self.error, self.message)

    @property
    def request_id(self) -> Optional[str]:
        """The ``X-Request-Id`` of the answer, to quote to Aries support."""
        return self.headers.get("X-Request-Id")

    def json(self) -> Optional[Any]:
        """The body decoded as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def retry_after(self, now: float) -> Optional[float]:
        """How many seconds the server asked the caller to wait.

        ``Retry-After`` in seconds or as an HTTP date (RFC 9110 section
        10.2.3), else ``X-RateLimit-Reset`` in unix seconds; ``None`` when
        the answer names no time. ``now`` is the current unix time
        (``time.time()``).
        """
        return _retry_after(self.headers, now)

    @classmethod
    def from_response(cls, status: int, headers: Headers, body: bytes) -> "AriesAPIError":
        """Reads an error answer: the JSON body of RFC 6749 section 5.2, or
        the ``error`` of an RFC 6750 ``WWW-Authenticate`` challenge."""
        error: Optional[str] = None
        message = ""
        try:
            decoded = json_object(json.loads(body.decode("utf-8"))) if body else None
        except (UnicodeDecodeError, ValueError):
            decoded = None
        if decoded is not None:
            if isinstance(decoded.get("error"), str):
                error = decoded["error"]
            for key in ("error_description", "message"):
                if isinstance(decoded.get(key), str) and decoded[key]:
                    message = decoded[key]
                    break
        if error is None:
            challenge = _bearer_challenge(headers.get("WWW-Authenticate", ""))
            error = challenge.get("error")
            message = message or challenge.get("error_description", "")
        if not message:
            try:
                message = HTTPStatus(status).phrase
            except ValueError:
                message = "HTTP %d" % status
        return cls(status, error, message, headers, body)


def _retry_after(headers: Mapping[str, str], now: float) -> Optional[float]:
    value = headers.get("Retry-After", "").strip()
    if value:
        if value.isdigit():
            return float(int(value))
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(when.timestamp() - now, 0.0)
    value = headers.get("X-RateLimit-Reset", "").strip()
    if value.isdigit() and int(value) > 0:
        return max(int(value) - now, 0.0)
    return None


def _bearer_challenge(challenge: str) -> dict[str, str]:
    """The auth-params of a ``Bearer`` challenge (RFC 6750 section 3), such
    as ``Bearer realm="aries", error="invalid_token"``."""
    scheme, _, params = challenge.strip().partition(" ")
    if scheme.lower() != "bearer":
        return {}
    out: dict[str, str] = {}
    i, n = 0, len(params)
    while i < n:
        while i < n and params[i] in " ,":
            i += 1
        eq = params.find("=", i)
        if eq < 0:
            break
        name = params[i:eq].strip().lower()
        i = eq + 1
        if i < n and params[i] == '"':
            i += 1
            value: list[str] = []
            while i < n and params[i] != '"':
                if params[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(params[i])
                i += 1
            i += 1
            out[name] = "".join(value)
        else:
            end = params.find(",", i)
            end = n if end < 0 else end
            out[name] = params[i:end].strip()
            i = end
    return out
