"""The sandbox trading API through client.users, client.accounts and
client.orders against a real Aries, the errors it answers, and a real 429
with its Retry-After."""

import dataclasses
import time
import unittest
from decimal import Decimal

import aries_live
from aries_exchange import (Account, AriesAPIError, AriesClient, Balances, Order, Position, Profile, User,
                            Withdrawal)


def fields(cls):
    return {f.name for f in dataclasses.fields(cls)} - {"raw"}


class SandboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fx = aries_live.fixture()
        cls.main = fx.main
        cls.user = cls.main.users["sandbox"]
        cls.client = aries_live.app_client(cls.main)
        cls.client.token = aries_live.user_token(cls.main, cls.user, scope=["read", "trade", "withdraw"])

    def assertAPIError(self, ctx, status, error):
        e = ctx.exception
        self.assertEqual((e.status_code, e.error), (status, error), repr(e))
        self.assertTrue(e.message)

    def assertComplete(self, obj):
        """The SDK's type holds every field the server sent."""
        self.assertEqual(set(obj.raw) - fields(type(obj)), set(), "fields the SDK drops from %s" % type(obj).__name__)

    def test_trading_day(self):
        c = self.client
        me = c.users.get_current_user()
        self.assertIsInstance(me, User)
        self.assertEqual((me.id, me.email), (self.user.id, self.user.email))
        self.assertIsNotNone(me.created_at.tzinfo)
        self.assertComplete(me)

        updated = c.users.update_profile(display_name="Ada Lovelace", phone="+14155550123")
        profile = c.users.get_profile()
        self.assertIsInstance(profile, Profile)
        self.assertEqual((profile.display_name, profile.phone), ("Ada Lovelace", "+14155550123"))
        self.assertIsNotNone(profile.updated_at)
        self.assertEqual(updated.display_name, "Ada Lovelace")
        self.assertComplete(profile)
        with self.assertRaises(AriesAPIError) as ctx:
            c.users.update_profile(phone="555")
        self.assertAPIError(ctx, 400, "invalid_request")

        accounts = c.users.get_user_accounts()
        self.assertEqual(len(accounts), 1)
        account = accounts[0]
        self.assertIsInstance(account, Account)
        self.assertEqual((account.type, account.currency, account.status), ("paper", "USD", "active"))
        self.assertComplete(account)

        before = c.accounts.get_balances(account.id)
        self.assertIsInstance(before, Balances)
        self.assertEqual((before.cash, before.currency, before.account_id), (Decimal("100000.00"), "USD", account.id))
        self.assertComplete(before)

        # One Idempotency-Key, one order, however often it is sent.
        first = c.orders.place_order("AAPL", "buy", 10, account_id=account.id, idempotency_key="order-1")
        again = c.orders.place_order("AAPL", "buy", 10, account_id=account.id, idempotency_key="order-1")
        self.assertIsInstance(first, Order)
        self.assertEqual((first.status, first.type, first.filled_price), ("filled", "market", Decimal("134.57")))
        self.assertEqual(again.id, first.id)
        self.assertComplete(first)

        positions = c.accounts.get_positions(account.id)
        self.assertEqual([(p.symbol, p.quantity) for p in positions], [("AAPL", 10)])
        self.assertIsInstance(positions[0], Position)
        self.assertEqual(positions[0].market_value, Decimal("1345.70"))
        self.assertComplete(positions[0])

        # A limit far below the price rests; it can be changed, then cancelled once.
        resting = c.orders.place_order("MSFT", "buy", 5, limit_price="1.00")
        self.assertEqual((resting.status, resting.type, resting.limit_price), ("open", "limit", Decimal("1.00")))
        changed = c.orders.modify_order(resting.id, quantity=7, limit_price=Decimal("2.50"))
        self.assertEqual((changed.quantity, changed.limit_price, changed.status), (7, Decimal("2.50"), "open"))
        cancelled = c.orders.cancel_order(resting.id)
        self.assertEqual(cancelled.status, "cancelled")
        self.assertIsNotNone(cancelled.cancelled_at)
        with self.assertRaises(AriesAPIError) as ctx:
            c.orders.cancel_order(resting.id)
        self.assertAPIError(ctx, 409, "order_not_open")

        orders = c.orders.get_orders(account.id)
        self.assertEqual([o.id for o in orders], [resting.id, first.id], "newest first")
        filled = c.orders.get_orders(account.id, status="filled", limit=10)
        self.assertEqual([o.id for o in filled], [first.id])

        withdrawal = c.accounts.withdraw(account.id, Decimal("250.00"), idempotency_key="wd-1")
        self.assertIsInstance(withdrawal, Withdrawal)
        self.assertEqual((withdrawal.amount, withdrawal.status), (Decimal("250.00"), "completed"))
        self.assertComplete(withdrawal)
        after = c.accounts.get_balances(account.id)
        self.assertEqual(after.cash, before.cash - 10 * first.filled_price - Decimal("250.00"))

        with self.assertRaises(AriesAPIError) as ctx:
            c.accounts.withdraw(account.id, 1_000_000)
        self.assertAPIError(ctx, 422, "insufficient_funds")
        with self.assertRaises(AriesAPIError) as ctx:
            c.orders.place_order("AAPL", "sell", 1000)
        self.assertAPIError(ctx, 422, "insufficient_shares")
        with self.assertRaises(AriesAPIError) as ctx:
            c.accounts.get_balances("acc_someone_else")
        self.assertEqual(ctx.exception.status_code, 404)

    def test_scopes_and_identities_the_api_refuses(self):
        reader = aries_live.app_client(self.main)
        reader.token = aries_live.user_token(self.main, self.main.users["trader"], scope=["read"])
        with self.assertRaises(AriesAPIError) as ctx:
            reader.orders.place_order("AAPL", "buy", 1)
        self.assertAPIError(ctx, 403, "insufficient_scope")
        self.assertIn("insufficient_scope", ctx.exception.headers.get("WWW-Authenticate", ""))

        app = aries_live.app_client(self.main)  # client credentials: no user
        with self.assertRaises(AriesAPIError) as ctx:
            app.users.get_current_user()
        self.assertAPIError(ctx, 403, "user_required")

        with self.assertRaises(AriesAPIError) as ctx:
            AriesClient(bearer_token="not-a-token", base_url=self.main.url).accounts.get_positions("acc_1")
        self.assertAPIError(ctx, 401, "invalid_token")


class RateLimitTest(unittest.TestCase):
    """The strict server allows 3 trading requests per 3 seconds per user."""

    @classmethod
    def setUpClass(cls):
        fx = aries_live.fixture()
        cls.strict = fx.strict
        cls.tokens = aries_live.user_token(cls.strict, cls.strict.users["limited"], scope=["read", "trade"])

    def exhaust(self, client, account_id):
        for _ in range(20):
            try:
                client.orders.get_orders(account_id)
            except AriesAPIError as e:
                if e.status_code == 429:
                    return e
                raise
        self.fail("20 trading requests were not rate-limited")

    def test_429_and_retry(self):
        plain = AriesClient(bearer_token=self.tokens.access_token, base_url=self.strict.url)
        account = plain.users.get_user_accounts()[0].id
        e = self.exhaust(plain, account)
        self.assertEqual((e.status_code, e.error), (429, "rate_limited"))
        self.assertIn("retry after", e.message)
        retry_after = e.headers.get("Retry-After")
        self.assertEqual(retry_after, "1")
        self.assertTrue(e.headers.get("X-RateLimit-Reset", "").isdigit())
        self.assertEqual(e.headers.get("X-RateLimit-Remaining"), "0")
        self.assertGreater(e.retry_after(time.time()), 0)

        slept = []

        def sleep(seconds):
            slept.append(seconds)
            time.sleep(seconds)

        retrying = AriesClient(bearer_token=self.tokens.access_token, base_url=self.strict.url, max_retries=3,
                               max_retry_wait=10, sleep=sleep)
        self.exhaust(plain, account)
        start = time.monotonic()
        self.assertIsInstance(retrying.orders.get_orders(account), list)
        self.assertGreaterEqual(len(slept), 1, "the call was rate-limited and retried")
        self.assertEqual(slept[0], 1.0, "it waited as Retry-After said")
        self.assertLess(time.monotonic() - start, 8)


if __name__ == "__main__":
    unittest.main()
