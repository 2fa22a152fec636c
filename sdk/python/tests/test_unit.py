"""The SDK's own logic, without a server: URLs, PKCE, money, times, error
parsing, the token manager's rules and the token file."""

import base64
import hashlib
import os
import stat
import tempfile
import threading
import time
import unittest
import urllib.parse
from datetime import datetime, timezone
from decimal import Decimal
from unittest import mock

import aries_live  # noqa: F401  (puts this checkout of the SDK on sys.path)
from aries_exchange import (AriesAPIError, AriesClient, AriesError, FileTokenStore, Headers, Token,
                            code_challenge_s256, generate_code_verifier, generate_state)
from aries_exchange.errors import _bearer_challenge
from aries_exchange.models import Order, money_string, parse_time
from aries_exchange.tokens import TokenManager


class AuthorizationURLTest(unittest.TestCase):
    def setUp(self):
        patcher = mock.patch.dict(os.environ, {}, clear=False)
        patcher.start()
        self.addCleanup(patcher.stop)
        os.environ.pop("ARIES_API_URL", None)

    def query(self, url):
        parts = urllib.parse.urlsplit(url)
        return parts, urllib.parse.parse_qs(parts.query, keep_blank_values=True)

    def test_seed_parameters(self):
        client = AriesClient(client_id="app", client_secret="s")
        url = client.oauth2.get_authorization_url(redirect_uri="https://yourapp.com/callback",
                                                  scope=["read", "trade"], state="random_state_string")
        parts, q = self.query(url)
        self.assertEqual(parts.scheme + "://" + parts.netloc + parts.path, "https://app.aries.com/oauth2/authorize")
        self.assertEqual(q, {"response_type": ["code"], "client_id": ["app"],
                             "redirect_uri": ["https://yourapp.com/callback"], "scope": ["read trade"],
                             "state": ["random_state_string"]})
        self.assertNotIn("+", url, "spaces are percent-encoded")

    def test_pkce_without_scope(self):
        client = AriesClient(client_id="app")
        verifier = generate_code_verifier()
        url = client.oauth2.get_authorization_url("https://yourapp.com/callback",
                                                  code_challenge=code_challenge_s256(verifier))
        _, q = self.query(url)
        self.assertNotIn("scope", q)
        self.assertNotIn("state", q)
        self.assertEqual(q["code_challenge_method"], ["S256"])
        self.assertEqual(q["code_challenge"], [code_challenge_s256(verifier)])
        with self.assertRaises(ValueError):
            client.oauth2.get_authorization_url("https://yourapp.com/callback", code_challenge_method="S256")

    def test_scope_as_string_and_prompt(self):
        client = AriesClient(client_id="app", base_url="http://127.0.0.1:8080/")
        _, q = self.query(client.oauth2.get_authorization_url("http://127.0.0.1/cb", scope="read  trade",
                                                              prompt="consent"))
        self.assertEqual(q["scope"], ["read trade"])
        self.assertEqual(q["prompt"], ["consent"])

    def test_base_urls(self):
        self.assertEqual(AriesClient().base_url, "https://api.aries.com")
        self.assertEqual(AriesClient().auth_url, "https://app.aries.com")
        os.environ["ARIES_API_URL"] = "http://127.0.0.1:8080/"
        c = AriesClient()
        self.assertEqual((c.base_url, c.auth_url), ("http://127.0.0.1:8080", "http://127.0.0.1:8080"))
        c = AriesClient(base_url="https://api.example.com", auth_url="https://login.example.com")
        self.assertEqual((c.base_url, c.auth_url), ("https://api.example.com", "https://login.example.com"))
        for bad in ("api.aries.com", "ftp://x", "https://x/?q=1", "https://"):
            with self.assertRaises(ValueError, msg=bad):
                AriesClient(base_url=bad)

    def test_needs_client_id(self):
        with self.assertRaises(AriesError):
            AriesClient(bearer_token="t").oauth2.get_authorization_url("https://yourapp.com/callback")


class PKCETest(unittest.TestCase):
    def test_rfc7636_appendix_b(self):
        self.assertEqual(code_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")

    def test_seed_formula(self):
        # Seed 002 computes the challenge by hand; the helpers agree.
        verifier = generate_code_verifier()
        self.assertRegex(verifier, r"^[A-Za-z0-9_-]{43}$")
        seed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("utf-8")).digest()).decode("utf-8").rstrip("=")
        self.assertEqual(code_challenge_s256(verifier), seed)
        self.assertNotEqual(generate_code_verifier(), verifier)
        self.assertNotEqual(generate_state(), generate_state())


class MoneyAndTimeTest(unittest.TestCase):
    def test_money_string(self):
        for value, want in [(Decimal("150.25"), "150.25"), ("150.25", "150.25"), (150, "150.00"),
                            ("7.5", "7.50"), (0.1, "0.10"), ("-3.05", "-3.05")]:
            self.assertEqual(money_string(value), want, value)
        for bad in ("1.234", "abc", "NaN", "Infinity", 0.1 + 0.2, ""):
            with self.assertRaises(ValueError, msg=bad):
                money_string(bad)
        with self.assertRaises(TypeError):
            money_string(True)

    def test_parse_time(self):
        utc = timezone.utc
        self.assertEqual(parse_time("2026-12-04T12:44:18.966952125Z"),
                         datetime(2026, 12, 4, 12, 44, 18, 966952, tzinfo=utc))
        self.assertEqual(parse_time("2026-12-04T12:44:18Z"), datetime(2026, 12, 4, 12, 44, 18, tzinfo=utc))
        self.assertEqual(parse_time("2026-12-04T14:44:18.5+02:00"), datetime(2026, 12, 4, 12, 44, 18, 500000, tzinfo=utc))
        with self.assertRaises(ValueError):
            parse_time("yesterday")

    def test_order_from_json(self):
        order = Order.from_json({
            "id": "ord_1", "account_id": "acc_1", "symbol": "AAPL", "side": "buy", "type": "limit", "quantity": 5,
            "limit_price": "1.00", "status": "open", "filled_price": None,
            "created_at": "2026-12-04T12:00:00.123456789Z", "updated_at": "2026-12-04T12:00:00Z",
            "filled_at": None, "cancelled_at": None, "future_field": 1})
        self.assertEqual(order.limit_price, Decimal("1.00"))
        self.assertIsNone(order.filled_price)
        self.assertEqual(order.raw["future_field"], 1)
        with self.assertRaises(AriesError):
            Order.from_json({"id": "ord_1", "quantity": "five"})


class ErrorTest(unittest.TestCase):
    def test_json_body(self):
        e = AriesAPIError.from_response(400, Headers([("X-Request-Id", "R1")]),
                                        b'{"error":"invalid_grant","error_description":"the code was already used"}')
        self.assertEqual((e.status_code, e.error, e.message), (400, "invalid_grant", "the code was already used"))
        self.assertEqual(e.request_id, "R1")
        self.assertEqual(str(e), "400 invalid_grant: the code was already used")

    def test_challenge_and_plain_bodies(self):
        h = Headers([("WWW-Authenticate", 'Bearer realm="aries", error="insufficient_scope", '
                                          'error_description="needs \\"order:execution\\", sorry", scope="trade"')])
        e = AriesAPIError.from_response(403, h, b"")
        self.assertEqual((e.error, e.message), ("insufficient_scope", 'needs "order:execution", sorry'))
        e = AriesAPIError.from_response(502, Headers(), b"<html>bad gateway</html>")
        self.assertEqual((e.error, e.message), (None, "Bad Gateway"))
        self.assertEqual(_bearer_challenge("Basic realm=x"), {})

    def test_headers(self):
        h = Headers([("Retry-After", "3"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
        self.assertEqual(h.get("retry-after"), "3")
        self.assertEqual(h["SET-COOKIE"], "a=1, b=2")
        self.assertIn("RETRY-AFTER", h)
        self.assertEqual(sorted(h), ["Retry-After", "Set-Cookie"])
        self.assertIsNone(h.get("X-Missing"))

    def test_retry_after(self):
        now = 1_800_000_000.0
        wait = lambda *items: AriesAPIError(429, "rate_limited", "", Headers(items)).retry_after(now)  # noqa: E731
        self.assertEqual(wait(("Retry-After", "7")), 7.0)
        self.assertEqual(wait(("Retry-After", "Fri, 15 Jan 2027 08:00:05 GMT")),
                         datetime(2027, 1, 15, 8, 0, 5, tzinfo=timezone.utc).timestamp() - now)
        self.assertEqual(wait(("X-RateLimit-Reset", str(int(now) + 4))), 4.0)
        self.assertEqual(wait(("X-RateLimit-Reset", str(int(now) - 4))), 0.0)
        self.assertIsNone(wait(("Retry-After", "soon")))
        self.assertIsNone(wait())


class TokenTest(unittest.TestCase):
    def test_from_response(self):
        t = Token.from_response({"access_token": "a" * 40, "token_type": "Bearer", "expires_in": 900,
                                 "refresh_token": "r" * 40, "scope": "user:information order:execution"}, 1000.0)
        self.assertEqual((t.expires_in, t.expires_at, t.scopes), (900, 1900.0, ["user:information", "order:execution"]))
        self.assertEqual(Token.from_dict(t.to_dict()), t)
        self.assertNotIn("a" * 20, repr(t))
        self.assertNotIn("r" * 20, repr(t))
        with self.assertRaises(AriesError):
            Token.from_response({"token_type": "Bearer"}, 0)

    def test_file_store(self):
        with tempfile.TemporaryDirectory() as d:
            store = FileTokenStore(os.path.join(d, "token.json"))
            self.assertIsNone(store.load())
            t = Token(access_token="at", refresh_token="rt1", expires_in=900, expires_at=1900.0, scope="read")
            store.save(t)
            store.save(Token(access_token="at2", refresh_token="rt2"))
            self.assertEqual(store.load(), Token(access_token="at2", refresh_token="rt2"))
            self.assertEqual(stat.S_IMODE(os.stat(store.path).st_mode), 0o600)
            self.assertEqual(os.listdir(d), ["token.json"], "no temporary file is left behind")


class FakeRefresh:
    """Stands in for the token endpoint in the manager's own tests: hands
    out numbered tokens and counts the calls."""

    def __init__(self, clock, delay=0.0, lifetime=900):
        self.calls = []
        self.clock = clock
        self.delay = delay
        self.lifetime = lifetime
        self.fail = None
        self.lock = threading.Lock()

    def __call__(self, refresh_token):
        with self.lock:
            self.calls.append(refresh_token)
            n = len(self.calls)
        time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return Token.from_response({"access_token": "at%d" % n, "refresh_token": "rt%d" % n,
                                    "expires_in": self.lifetime}, self.clock())


class TokenManagerTest(unittest.TestCase):
    def setUp(self):
        self.now = 1000.0
        self.refresh = FakeRefresh(lambda: self.now)
        self.saved = []

    def manager(self, token, **kwargs):
        args = dict(auto_refresh=True, refresh=self.refresh, app_token=None, on_refresh=self.saved.append,
                    clock=lambda: self.now, margin=60.0)
        args.update(kwargs)
        return TokenManager(token, **args)

    def test_proactive_refresh_window(self):
        m = self.manager(Token(access_token="", refresh_token="rt0"))
        self.assertEqual(m.access_token(), "at1")
        self.now += 900 - 61
        self.assertEqual(m.access_token(), "at1")
        self.now += 2
        self.assertEqual(m.access_token(), "at2")
        self.assertEqual(self.refresh.calls, ["rt0", "rt1"])
        self.assertEqual([t.refresh_token for t in self.saved], ["rt1", "rt2"])

    def test_short_lived_tokens_are_used_for_half_their_life(self):
        self.refresh.lifetime = 60
        m = self.manager(Token(access_token="", refresh_token="rt0"))
        m.access_token()
        self.now += 29
        self.assertEqual(m.access_token(), "at1")
        self.now += 2
        self.assertEqual(m.access_token(), "at2")

    def test_one_refresh_for_many_threads(self):
        self.refresh.delay = 0.05
        m = self.manager(Token(access_token="", refresh_token="rt0"))
        barrier = threading.Barrier(20)
        got = []

        def call():
            barrier.wait()
            got.append(m.access_token())

        threads = [threading.Thread(target=call) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(got, ["at1"] * 20)
        self.assertEqual(self.refresh.calls, ["rt0"])

    def test_dead_refresh_token_is_never_sent_again(self):
        m = self.manager(Token(access_token="", refresh_token="rt0"))
        self.refresh.fail = AriesAPIError(400, "invalid_grant", "revoked")
        for _ in range(3):
            with self.assertRaises(AriesAPIError) as caught:
                m.access_token()
            self.assertEqual(caught.exception.error, "invalid_grant")
        self.assertEqual(self.refresh.calls, ["rt0"])
        m.set(Token(access_token="", refresh_token="fresh"))  # a new sign-in revives the client
        self.refresh.fail = None
        self.assertEqual(m.access_token(), "at2")

    def test_failed_proactive_refresh_keeps_the_valid_token(self):
        m = self.manager(Token(access_token="", refresh_token="rt0"))
        m.access_token()
        self.now += 870  # due, not expired
        self.refresh.fail = AriesAPIError(429, "rate_limited", "slow down")
        self.assertEqual(m.access_token(), "at1")
        self.now += 40  # expired
        with self.assertRaises(AriesAPIError):
            m.access_token()

    def test_callback_failure_propagates_and_keeps_the_new_token(self):
        def broken(token):
            raise OSError("disk full")

        m = self.manager(Token(access_token="", refresh_token="rt0"), on_refresh=broken)
        with self.assertRaises(OSError):
            m.access_token()
        self.assertEqual(m.token.refresh_token, "rt1", "the spent token is not kept")
        self.assertEqual(m.access_token(), "at1")

    def test_manual_refreshes(self):
        m = self.manager(Token(access_token="", refresh_token="rt0"))
        m.access_token()
        with self.assertRaisesRegex(AriesError, "already spent"):
            m.refresh_manually("rt0", lambda: self.fail("a spent refresh token was sent"))
        # Another user's refresh token does not wait for the client's own
        # refresh: that one is held in flight until the other has returned.
        entered, release = threading.Event(), threading.Event()

        def held(refresh_token):
            entered.set()
            release.wait(10)
            return Token(access_token="at-auto", refresh_token="rt-auto")

        m = self.manager(Token(access_token="", refresh_token="rt0"), refresh=held)
        auto = threading.Thread(target=m.access_token)
        auto.start()
        self.assertTrue(entered.wait(10))
        start = time.monotonic()
        other = m.refresh_manually("someone-else", lambda: Token(access_token="x", refresh_token="y"))
        waited = time.monotonic() - start
        release.set()
        auto.join()
        self.assertLess(waited, 5, "the other user's refresh waited for the client's own")
        self.assertEqual(other.access_token, "x")
        self.assertEqual(m.token.refresh_token, "rt-auto", "the other user's tokens are not the client's")

    def test_refresh_without_rotation_keeps_the_refresh_token(self):
        # A client whose refresh tokens are not rotated: answers carry no
        # refresh_token, and the one the client holds stays the one to use.
        def kept(refresh_token):
            self.refresh.calls.append(refresh_token)
            return Token.from_response({"access_token": "at%d" % len(self.refresh.calls),
                                        "expires_in": 900}, self.now)

        m = self.manager(Token(access_token="", refresh_token="rt0"), refresh=kept)
        self.assertEqual(m.access_token(), "at1")
        self.now += 900
        self.assertEqual(m.access_token(), "at2")
        self.assertEqual(self.refresh.calls, ["rt0", "rt0"])
        self.assertEqual([t.refresh_token for t in self.saved], ["rt0", "rt0"])
        own = m.refresh_manually("rt0", lambda: kept("rt0"))
        self.assertEqual((own.access_token, own.refresh_token), ("at3", "rt0"))
        other = m.refresh_manually("rt-other", lambda: Token(access_token="x"))
        self.assertEqual(other.refresh_token, "rt-other")
        self.assertEqual(m.token.refresh_token, "rt0")

    def test_bearer_only_and_no_token(self):
        m = self.manager(Token(access_token="given"))
        self.assertEqual(m.access_token(), "given")
        self.assertFalse(m.invalidate("given"), "a bearer token cannot be renewed")
        with self.assertRaises(AriesError):
            self.manager(None).access_token()
        with self.assertRaisesRegex(AriesError, "auto_refresh is off"):
            self.manager(Token(access_token="", refresh_token="rt0"), auto_refresh=False).access_token()

    def test_app_token_until_a_user_token_is_set(self):
        apps = []

        def app():
            apps.append(1)
            return Token.from_response({"access_token": "app%d" % len(apps), "expires_in": 900}, self.now)

        m = self.manager(None, app_token=app)
        self.assertEqual(m.access_token(), "app1")
        self.assertEqual(self.saved, [], "the app's tokens are not the store's")
        self.now += 900
        self.assertEqual(m.access_token(), "app2")
        m.set(Token(access_token="", refresh_token="rt0"))
        self.assertEqual(m.access_token(), "at1")
        self.now += 900
        self.assertEqual(m.access_token(), "at2")
        self.assertEqual(len(apps), 2, "a user's session never turns into the app's")


if __name__ == "__main__":
    unittest.main()
