"""One HTTP exchange with Aries over urllib.request."""

from __future__ import annotations

import http.client
import json
import platform
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ._version import __version__
from .errors import AriesConnectionError, AriesError, Headers

# Every answer read is capped: the largest the API sends (500 orders) is a
# fraction of this.
MAX_BODY = 1 << 20

USER_AGENT = "aries-exchange-python/%s Python/%s" % (__version__, platform.python_version())


@dataclass(frozen=True)
class Response:
    status: int
    headers: Headers
    body: bytes

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AriesError("Aries answered %d with a body that is not JSON: %s" % (self.status, e)) from e


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect with the Authorization header still
    # set, to any host: an API answer never redirects, so a 3xx is returned
    # as it is instead.
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


def check_base_url(url: str, what: str) -> str:
    """Validates an http(s) base URL and drops a trailing slash."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("%s must be an http(s) URL such as https://api.aries.com, not %r" % (what, url))
    return url.rstrip("/")


class Transport:
    """Sends requests below a base URL and reads the answers, whatever
    their status. It holds no per-request state and is safe for use by many
    threads."""

    def __init__(self, base_url: str, timeout: float, handlers: Sequence[urllib.request.BaseHandler] = ()) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_RefuseRedirects, *handlers)

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, str]] = None,
        json_body: Any = None,
        form: Optional[Mapping[str, str]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data: Optional[bytes] = None
        all_headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode("ascii")
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if headers:
            all_headers.update(headers)
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return Response(answer.status, Headers(answer.headers.items()), _read(answer))
        except urllib.error.HTTPError as e:
            # Every status urllib does not call success arrives here; the
            # answer is still an answer.
            try:
                body = _read(e) if e.fp is not None else b""
            finally:
                e.close()
            return Response(e.code, Headers(e.headers.items() if e.headers else ()), body)
        except urllib.error.URLError as e:
            raise AriesConnectionError("%s %s: no answer from Aries: %s" % (method, path, e.reason)) from e
        except (OSError, http.client.HTTPException) as e:  # timeouts while reading, resets
            raise AriesConnectionError("%s %s: no answer from Aries: %s" % (method, path, e)) from e


def _read(answer: Any) -> bytes:
    body: bytes = answer.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise AriesError("the answer of Aries is larger than %d bytes" % MAX_BODY)
    return body
