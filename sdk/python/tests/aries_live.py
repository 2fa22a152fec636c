"""The live Aries servers the tests run against, and what drives them.

The tests never mock Aries: they call real ``aries serve`` processes. Where
those are comes from the environment variable ``ARIES_TEST_FIXTURE``, a JSON
object that cmd/aries/python_sdk_test.go writes after it has started the
servers and created the users and clients with the ``aries`` command line::

    {
      "url": "http://127.0.0.1:PORT",          # the main server
      "redirect_uri": "https://yourapp.com/callback",
      "users":     {"trader": {"id", "email", "password"}, "sandbox": ..., "seed": ...},
      "mfa_users": {"flows": {"id", "email", "password", "totp_secret"}, "seed": ...},
      "clients":   {"confidential": {"client_id", "client_secret"},
                    "public": {"client_id"}, "first_party": {"client_id", "client_secret"}},
      "strict": {                              # a second server with tight limits
        "url": ..., "code_ttl_seconds": 2, "trading_limit": "3/3s",
        "users": {"limited": ...}, "clients": {"confidential": ...}
      }
    }

Without it, :func:`fixture` boots the same servers itself from an ``aries``
binary (``ARIES_BIN``) or, in a checkout of the repository with Go
installed, from ``go build ./cmd/aries``; when neither is possible the live
tests are skipped, saying why.

The main server runs with ``--rate-limit authentication=1000/1m`` (every test
signs in from the same address), ``--revocation-interval 100ms`` (a revoked
access token stops working at once); the strict one with ``--code-ttl 2s``
and ``--rate-limit trading=3/3s``.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import hmac
import html.parser
import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)  # sdk/python
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))

# The tests test this checkout of the SDK, whatever is installed.
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

FIXTURE_ENV = "ARIES_TEST_FIXTURE"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password: str
    totp_secret: Optional[str] = None


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: Optional[str] = None


@dataclass(frozen=True)
class Server:
    url: str
    users: Dict[str, User]
    clients: Dict[str, Client]
    mfa_users: Dict[str, User] = field(default_factory=dict)


@dataclass(frozen=True)
class Fixture:
    main: Server
    strict: Server
    redirect_uri: str
    code_ttl_seconds: float

    @property
    def url(self) -> str:
        return self.main.url


def _users(data: dict) -> Dict[str, User]:
    return {k: User(id=v["id"], email=v["email"], password=v["password"], totp_secret=v.get("totp_secret"))
            for k, v in (data or {}).items()}


def _clients(data: dict) -> Dict[str, Client]:
    return {k: Client(client_id=v["client_id"], client_secret=v.get("client_secret")) for k, v in (data or {}).items()}


def parse_fixture(data: dict) -> Fixture:
    strict = data["strict"]
    return Fixture(
        main=Server(url=data["url"], users=_users(data["users"]), clients=_clients(data["clients"]),
                    mfa_users=_users(data.get("mfa_users", {}))),
        strict=Server(url=strict["url"], users=_users(strict["users"]), clients=_clients(strict["clients"])),
        redirect_uri=data["redirect_uri"],
        code_ttl_seconds=float(strict["code_ttl_seconds"]),
    )


_lock = threading.Lock()
_fixture: Optional[Fixture] = None
_boot_error: Optional[str] = None


def fixture() -> Fixture:
    """The live servers; raises unittest.SkipTest when there are none."""
    global _fixture, _boot_error
    with _lock:
        if _fixture is None and _boot_error is None:
            raw = os.environ.get(FIXTURE_ENV)
            if raw:
                _fixture = parse_fixture(json.loads(raw))
            else:
                try:
                    _fixture = parse_fixture(_boot())
                except _CannotBoot as e:
                    _boot_error = str(e)
            if _fixture is not None:
                # Seed 002's code takes the server from the environment.
                os.environ["ARIES_API_URL"] = _fixture.url
        if _fixture is None:
            raise unittest.SkipTest("no live Aries server: %s" % _boot_error)
        return _fixture


# Driving the hosted sign-in and consent pages, as a browser would.

class _Page(html.parser.HTMLParser):
    """The first POST form of a page: its action, hidden fields and the
    names of its other fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: Optional[str] = None
        self.hidden: Dict[str, str] = {}
        self.names: List[str] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._done:
            return
        if tag == "form" and a.get("method", "").lower() == "post" and self.action is None:
            self.action, self._in_form = a.get("action", ""), True
        elif self._in_form and tag in ("input", "button", "select", "textarea") and a.get("name"):
            if tag == "input" and a.get("type") == "hidden":
                self.hidden[a["name"]] = a.get("value", "")
            else:
                self.names.append(a["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """A user agent with cookies that stops at every redirect, so the flow
    can leave the server for the app's redirect URI without following it."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def _open(self, url: str, form: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data)
        try:
            with self._opener.open(req, timeout=20) as r:
                return r.status, dict(r.headers.items()), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")
            return e.code, dict(e.headers.items()), body

    def authorize(self, auth_url: str, user: User, decision: str = "approve") -> Dict[str, str]:
        """Opens an authorization URL, signs in, answers the consent page
        and returns the query of the redirect back to the app."""
        status, headers, body = self._open(auth_url)
        for _ in range(8):
            if status in (302, 303):
                location = urllib.parse.urljoin(self.server_url + "/", headers["Location"])
                if not location.startswith(self.server_url + "/"):
                    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
                status, headers, body = self._open(location)
                continue
            page = _Page()
            page.feed(body)
            if status != 200 or page.action is None:
                raise AssertionError("unexpected step of the sign-in: %d\n%s" % (status, body[:2000]))
            form = dict(page.hidden)
            if "password" in page.names:
                form.update(email=user.email, password=user.password)
            elif "decision" in page.names:
                form["decision"] = decision
            else:
                raise AssertionError("a page the test cannot answer:\n%s" % body[:2000])
            status, headers, body = self._open(urllib.parse.urljoin(self.server_url + "/", page.action), form)
        raise AssertionError("the sign-in did not reach the app within 8 steps")


_browsers: Dict[Tuple[str, str], Browser] = {}


def browser_for(server_url: str, user: User) -> Browser:
    """The user's browser on that server. It keeps its session cookie, so
    after the first sign-in Aries skips the password (and the consent page
    for scopes already approved), as it does for a person: a password hash
    is deliberately slow, slower still under the race detector."""
    with _lock:
        key = (server_url, user.email)
        if key not in _browsers:
            _browsers[key] = Browser(server_url)
        return _browsers[key]


def browser_code(server_url: str, auth_url: str, user: User, state: Optional[str] = None) -> str:
    """Signs user in at auth_url (through the user's browser) and returns
    the code."""
    back = browser_for(server_url, user).authorize(auth_url, user)
    if "code" not in back:
        raise AssertionError("the redirect carries no code: %r" % back)
    if back.get("iss") != server_url:
        raise AssertionError("iss %r, want %r (RFC 9207)" % (back.get("iss"), server_url))
    if state is not None and back.get("state") != state:
        raise AssertionError("state %r, want %r" % (back.get("state"), state))
    return back["code"]


# TOTP (RFC 6238 over RFC 4226): SHA-1, 6 digits, 30-second steps.

def totp(secret: str, at: Optional[float] = None, step: int = 30, digits: int = 6) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF) % 10 ** digits
    return str(value).zfill(digits)


def wrong_totp(secret: str) -> str:
    """A well-formed code that is none of the codes near now."""
    near = {totp(secret, time.time() + d * 30) for d in range(-3, 4)}
    return next("%06d" % i for i in range(10 ** 6) if "%06d" % i not in near)


# Booting the servers when the Go test did not.

class _CannotBoot(Exception):
    pass


def _aries_binary(workdir: str) -> str:
    given = os.environ.get("ARIES_BIN")
    if given:
        return given
    go = shutil.which("go")
    if go is None or not os.path.exists(os.path.join(REPO_ROOT, "cmd", "aries")):
        raise _CannotBoot("set %s (cmd/aries/python_sdk_test.go does), or ARIES_BIN to an aries binary, "
                          "or run from a checkout of the repository with Go installed" % FIXTURE_ENV)
    out = os.path.join(workdir, "aries")
    build = subprocess.run([go, "build", "-o", out, "./cmd/aries"], cwd=REPO_ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        raise _CannotBoot("go build ./cmd/aries failed:\n" + build.stderr)
    return out


def _cli(binary: str, db: str, *args: str) -> dict:
    run = subprocess.run([binary, "--db", "sqlite:" + db, *args, "--json"], capture_output=True, text=True)
    if run.returncode != 0:
        raise _CannotBoot("aries %s: %s" % (" ".join(args), run.stderr))
    return json.loads(run.stdout)


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the test process dies, even by
    a signal that skips atexit (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass


def _serve(binary: str, db: str, *flags: str) -> str:
    proc = subprocess.Popen([binary, "--db", "sqlite:" + db, "--log-level", "error", "serve",
                             "--addr", "127.0.0.1:0", "--metrics-addr", "", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    atexit.register(stop)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Aries is listening on "):
            addr = line.split()[4]
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return "http://" + addr
    raise _CannotBoot("aries serve stopped before listening")


def _boot() -> dict:
    """Builds what cmd/aries/python_sdk_test.go builds: the same users,
    clients and flags."""
    workdir = tempfile.mkdtemp(prefix="aries-python-sdk-")
    atexit.register(shutil.rmtree, workdir, True)
    binary = _aries_binary(workdir)
    redirect = "https://yourapp.com/callback"
    password = "correct horse battery staple"

    def server(name: str, users: List[str], mfa_users: List[str], clients: Dict[str, List[str]], flags: List[str]) -> dict:
        db = os.path.join(workdir, name + ".db")
        out: dict = {"users": {}, "mfa_users": {}, "clients": {}}
        for role in users + mfa_users:
            u = _cli(binary, db, "users", "create", "--email", "%s-%s@example.com" % (name, role),
                     "--password", password, *(["--mfa"] if role in mfa_users else []))
            entry = {"id": u["id"], "email": u["email"], "password": password}
            if role in mfa_users:
                entry["totp_secret"] = u["totp_secret"]
                out["mfa_users"][role] = entry
            else:
                out["users"][role] = entry
        for role, extra in clients.items():
            c = _cli(binary, db, "clients", "create", "--name", role, "--redirect-uri", redirect, *extra)
            out["clients"][role] = {"client_id": c["client_id"], "client_secret": c.get("client_secret")}
        out["url"] = _serve(binary, db, *flags)
        return out

    main = server("main", ["trader", "sandbox", "seed"], ["flows", "seed-mfa"], {
        "confidential": ["--scope", "read trade withdraw"],
        "public": ["--public", "--scope", "read"],
        "first_party": ["--first-party", "--scope", "read trade"],
    }, ["--rate-limit", "authentication=1000/1m", "--rate-limit", "user=1000/1m", "--revocation-interval", "100ms"])
    strict = server("strict", ["limited"], [], {"confidential": ["--scope", "read trade"]},
                    ["--code-ttl", "2s", "--rate-limit", "trading=3/3s"])
    main["mfa_users"]["seed"] = main["mfa_users"].pop("seed-mfa")
    return {"url": main["url"], "redirect_uri": redirect, "users": main["users"], "mfa_users": main["mfa_users"],
            "clients": main["clients"],
            "strict": {"url": strict["url"], "code_ttl_seconds": 2, "trading_limit": "3/3s",
                       "users": strict["users"], "clients": strict["clients"]}}


# Shortcuts the tests share.

def app_client(server: Server, role: str = "confidential", **kwargs: object):  # -> AriesClient
    """An AriesClient for one of server's clients."""
    from aries_exchange import AriesClient

    c = server.clients[role]
    return AriesClient(client_id=c.client_id, client_secret=c.client_secret, base_url=server.url, **kwargs)  # type: ignore[arg-type]


def user_token(server: Server, user: User, scope: Optional[List[str]] = None, role: str = "confidential",
               redirect_uri: str = "https://yourapp.com/callback"):  # -> Token
    """Signs user in through the hosted pages with client role and returns
    the exchanged tokens."""
    from aries_exchange import generate_state

    app = app_client(server, role)
    state = generate_state()
    url = app.oauth2.get_authorization_url(redirect_uri, scope=scope or ["read"], state=state)
    return app.oauth2.exchange_code(browser_code(server.url, url, user, state), redirect_uri)


class RequestCounter(urllib.request.BaseHandler):
    """A urllib handler (for AriesClient's http_handlers) that records the
    path of every request the SDK sends, and can hold token requests back
    for a while so that concurrent callers pile up behind a refresh."""

    def __init__(self, token_delay: float = 0.0) -> None:
        self.paths: List[str] = []
        self.token_delay = token_delay
        self._lock = threading.Lock()

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        path = urllib.parse.urlsplit(req.full_url).path
        with self._lock:
            self.paths.append(path)
        if path == "/v1/oauth2/token" and self.token_delay:
            time.sleep(self.token_delay)
        return req

    https_request = http_request

    def count(self, path: str = "/v1/oauth2/token") -> int:
        with self._lock:
            return self.paths.count(path)


class FakeClock:
    """A settable clock for AriesClient(clock=...): it starts at the real
    time and moves only when a test moves it, so no test sleeps and none
    depends on how fast the machine is."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def wait_until_refused(server_url: str, access_token: str, timeout: float = 5.0) -> None:
    """Waits until the API refuses a revoked access token (the API polls
    for revocations every --revocation-interval)."""
    from aries_exchange import AriesAPIError, AriesClient

    probe = AriesClient(bearer_token=access_token, base_url=server_url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe.users.get_current_user()
        except AriesAPIError as e:
            if e.status_code == 401:
                return
            raise
        if time.monotonic() > deadline:
            raise AssertionError("the API still accepts the revoked token after %.0f s" % timeout)
        time.sleep(0.05)
