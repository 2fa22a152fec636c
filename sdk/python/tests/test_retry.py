"""429 retries, network failures and redirects, against a tiny local HTTP
server that answers what each test scripts. Only the timing and transport
behaviour of the SDK is tested here; every flow runs against the real
Aries in the *_live tests (a real 429 too, in test_api_live)."""

import http.server
import json
import socket
import threading
import time
from decimal import Decimal
import unittest

import aries_live  # noqa: F401  (puts this checkout of the SDK on sys.path)
from aries_exchange import AriesAPIError, AriesClient, AriesConnectionError, AriesError


class Scripted(http.server.ThreadingHTTPServer):
    """Answers requests with scripted (status, headers, body) in order and
    records what it received."""

    daemon_threads = True

    def __init__(self, answers):
        self.answers = list(answers)
        self.received = []
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def close(self):
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.received.append((self.command, self.path, dict(self.headers.items()), body))
        status, headers, payload = self.server.answers.pop(0) if self.server.answers else (500, {}, {})
        data = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args):
        pass


USER = {"id": "usr_1", "email": "a@example.com", "created_at": "2026-12-04T12:00:00Z"}
LIMITED = {"error": "rate_limited", "error_description": "rate limit of 3 requests exceeded; retry after 2 seconds"}
TOKEN = {"access_token": "at", "token_type": "Bearer", "expires_in": 900, "refresh_token": "rt2", "scope": "read"}
ORDER = {"id": "ord_1", "account_id": "acc_1", "symbol": "AAPL", "side": "buy", "type": "market", "quantity": 1,
         "limit_price": None, "status": "filled", "filled_price": "134.57", "created_at": "2026-12-04T12:00:00Z",
         "updated_at": "2026-12-04T12:00:00Z", "filled_at": "2026-12-04T12:00:00Z", "cancelled_at": None}


class RetryTest(unittest.TestCase):
    def serve(self, *answers):
        server = Scripted(answers)
        self.addCleanup(server.close)
        return server

    def client(self, server, **kwargs):
        self.slept = []
        kwargs.setdefault("bearer_token", "at")
        return AriesClient(base_url=server.url, sleep=self.slept.append, clock=lambda: 1_800_000_000.0, **kwargs)

    def test_retry_after_is_honoured(self):
        s = self.serve((429, {"Retry-After": "2"}, LIMITED), (429, {"Retry-After": "1"}, LIMITED), (200, {}, USER))
        user = self.client(s, max_retries=3).users.get_current_user()
        self.assertEqual(user.email, "a@example.com")
        self.assertEqual(self.slept, [2.0, 1.0])
        self.assertEqual(len(s.received), 3)

    def test_rate_limit_reset_when_there_is_no_retry_after(self):
        s = self.serve((429, {"X-RateLimit-Reset": "1800000003"}, LIMITED), (200, {}, USER))
        self.client(s, max_retries=1).users.get_current_user()
        self.assertEqual(self.slept, [3.0])

    def test_backoff_when_the_answer_names_no_time(self):
        s = self.serve((429, {}, LIMITED), (429, {}, LIMITED), (200, {}, USER))
        self.client(s, max_retries=2).users.get_current_user()
        self.assertEqual(self.slept, [1.0, 2.0])

    def test_off_by_default(self):
        s = self.serve((429, {"Retry-After": "1", "X-RateLimit-Limit": "3"}, LIMITED))
        with self.assertRaises(AriesAPIError) as caught:
            self.client(s).users.get_current_user()
        e = caught.exception
        self.assertEqual((e.status_code, e.error, e.message), (429, "rate_limited", LIMITED["error_description"]))
        self.assertEqual((e.headers.get("Retry-After"), e.headers["x-ratelimit-limit"]), ("1", "3"))
        self.assertEqual((self.slept, len(s.received)), ([], 1))

    def test_bounded_attempts(self):
        s = self.serve(*[(429, {"Retry-After": "1"}, LIMITED)] * 5)
        with self.assertRaises(AriesAPIError) as caught:
            self.client(s, max_retries=2).users.get_current_user()
        self.assertEqual(caught.exception.status_code, 429)
        self.assertEqual((self.slept, len(s.received)), ([1.0, 1.0], 3))

    def test_bounded_wait(self):
        s = self.serve((429, {"Retry-After": "20"}, LIMITED), (429, {"Retry-After": "20"}, LIMITED))
        with self.assertRaises(AriesAPIError):
            self.client(s, max_retries=5, max_retry_wait=30).users.get_current_user()
        self.assertEqual(self.slept, [20.0], "a second wait of 20 s would pass the 30 s budget")

    def test_orders_are_retried_with_the_same_idempotency_key(self):
        s = self.serve((429, {"Retry-After": "1"}, LIMITED), (201, {}, ORDER))
        order = self.client(s, max_retries=1).orders.place_order("AAPL", "buy", 1)
        self.assertEqual(order.filled_price, Decimal("134.57"))
        keys = [h.get("Idempotency-Key") for _, _, h, _ in s.received]
        self.assertEqual(len(keys), 2)
        self.assertTrue(keys[0] and keys[0] == keys[1], keys)

    def test_non_idempotent_requests_are_not_retried(self):
        s = self.serve((429, {"Retry-After": "1"}, LIMITED))
        with self.assertRaises(AriesAPIError):
            self.client(s, max_retries=3).users.update_profile(display_name="Ada")
        self.assertEqual((self.slept, len(s.received)), ([], 1))

    def test_token_requests_are_never_retried(self):
        # An automatic refresh: a refresh token is sent once, whatever the answer.
        s = self.serve((429, {"Retry-After": "1"}, LIMITED))
        c = self.client(s, bearer_token=None, client_id="app", client_secret="s", refresh_token="rt1", max_retries=3)
        with self.assertRaises(AriesAPIError) as caught:
            c.users.get_current_user()
        self.assertEqual(caught.exception.status_code, 429)
        self.assertEqual([(m, p) for m, p, _, _ in s.received], [("POST", "/v1/oauth2/token")])
        self.assertEqual(self.slept, [])
        # And an explicit exchange or refresh.
        s = self.serve((429, {"Retry-After": "1"}, LIMITED), (429, {"Retry-After": "1"}, LIMITED))
        c = self.client(s, client_id="app", client_secret="s", max_retries=3)
        for call in (lambda: c.oauth2.exchange_code("code", "https://yourapp.com/callback"),
                     lambda: c.oauth2.refresh_token("rt1")):
            with self.assertRaises(AriesAPIError):
                call()
        self.assertEqual((len(s.received), self.slept), (2, []))

    def test_the_token_request_body(self):
        s = self.serve((200, {}, TOKEN), (200, {}, USER))
        c = self.client(s, bearer_token=None, client_id="app id", client_secret="s&cret", refresh_token="rt1")
        c.users.get_current_user()
        method, path, headers, body = s.received[0]
        self.assertEqual((method, path, headers["Content-Type"]), ("POST", "/v1/oauth2/token",
                                                                   "application/x-www-form-urlencoded"))
        self.assertEqual(body, b"grant_type=refresh_token&refresh_token=rt1&client_id=app+id&client_secret=s%26cret")
        self.assertEqual(s.received[1][2]["Authorization"], "Bearer at")


class TransportTest(unittest.TestCase):
    def test_connection_refused(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()  # nothing listens there now
        c = AriesClient(bearer_token="at", base_url="http://127.0.0.1:%d" % port)
        with self.assertRaises(AriesConnectionError) as caught:
            c.users.get_current_user()
        self.assertIsInstance(caught.exception.__cause__, OSError)

    def test_timeout(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        self.addCleanup(listener.close)
        c = AriesClient(bearer_token="at", base_url="http://127.0.0.1:%d" % listener.getsockname()[1], timeout=0.3)
        start = time.monotonic()
        with self.assertRaises(AriesConnectionError):
            c.users.get_current_user()
        self.assertLess(time.monotonic() - start, 5)

    def test_redirects_are_not_followed(self):
        s = Scripted([(302, {"Location": "/elsewhere"}, {})])
        self.addCleanup(s.close)
        c = AriesClient(bearer_token="secret-token", base_url=s.url)
        with self.assertRaises(AriesAPIError) as caught:
            c.users.get_current_user()
        self.assertEqual(caught.exception.status_code, 302)
        self.assertEqual([p for _, p, _, _ in s.received], ["/v1/users/me"], "the token went nowhere else")

    def test_a_success_that_is_not_json(self):
        s = Scripted([])
        self.addCleanup(s.close)
        s.answers.append((200, {}, "not an object"))
        with self.assertRaises(AriesError) as caught:
            AriesClient(bearer_token="at", base_url=s.url).users.get_current_user()
        self.assertNotIsInstance(caught.exception, AriesAPIError)


if __name__ == "__main__":
    unittest.main()
