"""Automatic refresh against a real Aries: proactive refresh (time moved by
an injected clock, never by sleeping), one refresh however many threads
call, every rotated refresh token handed to the callback and kept on disk,
renewal after a 401, and refresh tokens that are dead for good."""

import os
import tempfile
import threading
import unittest

import aries_live
from aries_exchange import AriesAPIError, AriesClient, AriesError, FileTokenStore


class AutoRefreshTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = aries_live.fixture()
        cls.main = cls.fx.main
        cls.user = cls.main.users["trader"]

    def client(self, refresh_token, **kwargs):
        self.counter = aries_live.RequestCounter(kwargs.pop("token_delay", 0.0))
        self.clock = aries_live.FakeClock()
        self.saved = []
        kwargs.setdefault("on_token_refresh", self.saved.append)
        return aries_live.app_client(self.main, refresh_token=refresh_token, clock=self.clock,
                                     http_handlers=[self.counter], **kwargs)

    def test_proactive_refresh_and_the_callback(self):
        tokens = aries_live.user_token(self.main, self.user)
        client = self.client(tokens.refresh_token)
        self.assertEqual(client.users.get_current_user().email, self.user.email)
        self.assertEqual(self.counter.count(), 1, "the first call gets an access token")
        first = client.token
        self.assertEqual(self.saved, [first])
        self.assertNotEqual(first.refresh_token, tokens.refresh_token, "rotated")

        client.users.get_user_accounts()
        self.clock.advance(first.expires_in - 61)  # a minute and a second before expiry
        client.users.get_current_user()
        self.assertEqual(self.counter.count(), 1, "a token that is not due is not replaced")

        self.clock.advance(2)  # within the last minute
        client.users.get_current_user()
        self.assertEqual(self.counter.count(), 2)
        second = client.token
        self.assertEqual(self.saved, [first, second])
        self.assertNotEqual(second.access_token, first.access_token)
        self.assertNotEqual(second.refresh_token, first.refresh_token)

        self.clock.advance(3600)  # long expired: refreshed before use
        self.assertEqual(client.users.get_current_user().id, self.user.id)
        self.assertEqual(self.counter.count(), 3)
        self.assertEqual(len({t.refresh_token for t in self.saved}), 3)

    def test_file_store_across_restarts(self):
        tokens = aries_live.user_token(self.main, self.user)
        with tempfile.TemporaryDirectory() as d:
            store = FileTokenStore(os.path.join(d, "aries-token.json"))
            client = self.client(tokens.refresh_token, on_token_refresh=store.save)
            client.users.get_current_user()
            self.clock.advance(900)
            client.users.get_current_user()
            saved = store.load()
            self.assertEqual(saved.refresh_token, client.token.refresh_token)
            self.assertEqual(saved.access_token, client.token.access_token)

            # The next run of the program starts from the file: its refresh
            # token is the live one.
            restarted = aries_live.app_client(self.main, refresh_token=store.load().refresh_token,
                                              on_token_refresh=store.save)
            self.assertEqual(restarted.users.get_current_user().email, self.user.email)
            self.assertEqual(store.load().refresh_token, restarted.token.refresh_token)

    def test_manual_refresh_of_the_clients_own_token(self):
        tokens = aries_live.user_token(self.main, self.user)
        client = self.client(tokens.refresh_token)
        client.users.get_current_user()
        own = client.token
        new = client.oauth2.refresh_token(own.refresh_token)
        self.assertEqual(client.token, new, "the client now holds the new tokens")
        self.assertEqual(self.saved[-1], new)
        self.clock.advance(900)
        client.users.get_current_user()  # refreshes with new.refresh_token, not the spent one
        self.assertEqual(self.counter.count(), 3)
        # A refresh token the client spent is refused before it is sent:
        # sending it would be a replay, which revokes the whole sign-in.
        for spent in (tokens.refresh_token, own.refresh_token, new.refresh_token):
            with self.assertRaisesRegex(AriesError, "already spent"):
                client.oauth2.refresh_token(spent)
        self.assertEqual(self.counter.count(), 3)
        self.clock.advance(900)
        self.assertEqual(client.users.get_current_user().email, self.user.email, "the sign-in is intact")

    def test_many_threads_one_refresh(self):
        tokens = aries_live.user_token(self.main, self.user)
        # Token requests are held back 200 ms so every thread arrives while
        # the refresh is in flight.
        client = self.client(tokens.refresh_token, token_delay=0.2)
        barrier = threading.Barrier(12)
        results, errors = [], []

        def call():
            barrier.wait()
            try:
                results.append(client.users.get_current_user().id)
            except Exception as e:  # collected and reported below
                errors.append(e)

        for phase in ("first use", "after expiry"):
            results.clear()
            before = self.counter.count()
            threads = [threading.Thread(target=call) for _ in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [], phase)
            self.assertEqual(results, [self.user.id] * 12, phase)
            self.assertEqual(self.counter.count() - before, 1, "%s: exactly one refresh for 12 threads" % phase)
            self.clock.advance(900)
        self.assertEqual(len(self.saved), 2)
        # The chain is intact: the last refresh token still works.
        self.assertTrue(aries_live.app_client(self.main).oauth2.refresh_token(client.token.refresh_token).access_token)

    def test_a_revoked_access_token_is_renewed_once(self):
        tokens = aries_live.user_token(self.main, self.user)
        client = self.client(tokens.refresh_token)
        client.users.get_current_user()
        refused = client.token.access_token
        client.oauth2.revoke(refused, token_type_hint="access_token")
        aries_live.wait_until_refused(self.main.url, refused)
        self.assertEqual(client.users.get_current_user().email, self.user.email)
        self.assertNotEqual(client.bearer_token, refused)
        self.assertEqual(self.counter.count(), 2)

    def test_a_dead_refresh_token_is_never_sent_again(self):
        tokens = aries_live.user_token(self.main, self.user)
        aries_live.app_client(self.main).oauth2.revoke(tokens.refresh_token)
        client = self.client(tokens.refresh_token)
        for _ in range(3):
            with self.assertRaises(AriesAPIError) as ctx:
                client.users.get_current_user()
            self.assertEqual((ctx.exception.status_code, ctx.exception.error), (400, "invalid_grant"))
            self.assertTrue(ctx.exception.message)
        self.assertEqual(self.counter.paths, ["/v1/oauth2/token"], "the refused token was sent once, and nothing else")
        self.assertEqual(self.saved, [])

    def test_app_credentials_only(self):
        counter = aries_live.RequestCounter()
        app = aries_live.app_client(self.main, http_handlers=[counter])
        with self.assertRaises(AriesAPIError) as ctx:
            app.users.get_current_user()
        self.assertEqual((ctx.exception.status_code, ctx.exception.error), (403, "user_required"))
        self.assertIsNone(app.token.refresh_token, "a client credentials token")
        self.assertEqual(counter.paths, ["/v1/oauth2/token", "/v1/users/me"])
        # Once given a user's token the client acts for the user.
        app.token = aries_live.user_token(self.main, self.user)
        self.assertEqual(app.users.get_current_user().email, self.user.email)

    def test_bearer_token_client(self):
        tokens = aries_live.user_token(self.main, self.user)
        client = AriesClient(bearer_token="not-a-token", base_url=self.main.url)
        with self.assertRaises(AriesAPIError) as ctx:
            client.users.get_current_user()
        self.assertEqual((ctx.exception.status_code, ctx.exception.error), (401, "invalid_token"))
        self.assertIn("Bearer", ctx.exception.headers.get("WWW-Authenticate", ""))
        client.bearer_token = tokens.access_token
        self.assertEqual(client.users.get_current_user().email, self.user.email)
        self.assertEqual(client.bearer_token, tokens.access_token)
        with self.assertRaises(AriesError):
            AriesClient(base_url=self.main.url).users.get_current_user()

    def test_auto_refresh_off(self):
        tokens = aries_live.user_token(self.main, self.user)
        client = aries_live.app_client(self.main, refresh_token=tokens.refresh_token, auto_refresh=False)
        with self.assertRaisesRegex(AriesError, "auto_refresh is off"):
            client.users.get_current_user()
        # The app refreshes by itself and sets the token (seed 002, "Handle Token Expiration").
        client.bearer_token = client.oauth2.refresh_token(tokens.refresh_token).access_token
        self.assertEqual(client.users.get_current_user().email, self.user.email)


if __name__ == "__main__":
    unittest.main()
