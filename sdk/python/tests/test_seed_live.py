"""Every Python code block of seed 002 (the SDK page of the Aries docs),
extracted from shared/seeds at test time, run in order against a real
Aries with its placeholders filled in: a client id and secret, a code from
a driven sign-in, the current TOTP code of an MFA user, a refresh token.

The seed is the page's text, code blocks without fences: a block is the
longest run of lines, starting at an unindented line, that parses as
Python and is more than a word of prose. The lines of the ``.env`` file it
shows parse too (``ARIES_CLIENT_ID=your_client_id``); that block becomes the
.env file the next block loads.

Where shared/ is absent (set ARIES_SEEDS_DIR to point elsewhere), the test
says so and skips.
"""

import ast
import contextlib
import glob
import importlib.util
import io
import os
import re
import sys
import tempfile
import types
import unittest
import urllib.parse
from unittest import mock

import aries_live
from aries_exchange import AriesClient, SignInResult, Token

SEED_GLOB = "002_*.txt"


def seed_file():
    directory = os.environ.get("ARIES_SEEDS_DIR") or os.path.join(aries_live.REPO_ROOT, "..", "shared", "seeds")
    found = sorted(glob.glob(os.path.join(directory, SEED_GLOB)))
    return found[0] if found else None, os.path.abspath(directory)


def python_blocks(text):
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        end = _longest_block(lines, i)
        if end is None:
            i += 1
        else:
            blocks.append("\n".join(lines[i:end]))
            i = end
    return blocks


def _longest_block(lines, i):
    """The end of the longest run of lines from i that is Python code, or
    None when line i starts none."""
    if not lines[i].strip() or lines[i][0] in " \t":
        return None
    for j in range(len(lines), i, -1):
        if not lines[j - 1].strip():
            continue
        try:
            tree = ast.parse("\n".join(lines[i:j]))
        except SyntaxError:
            continue
        prose = all(isinstance(n, ast.Expr) and isinstance(n.value, (ast.Name, ast.Constant)) for n in tree.body)
        return None if prose else j
    return None


def is_dotenv(block):
    """KEY=value lines: a .env file, not a program."""
    tree = ast.parse(block)
    return all(isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
               and re.fullmatch(r"[A-Z][A-Z0-9_]*", n.targets[0].id) for n in tree.body)


def fill(block, values):
    """Replaces each placeholder, which must occur in the block."""
    for placeholder, value in values.items():
        if placeholder not in block:
            raise AssertionError("the seed's block no longer contains %r:\n%s" % (placeholder, block))
        block = block.replace(placeholder, value)
    for leftover in ("your_client_id", "your_client_secret", "your_refresh_token", "your_access_token",
                     "code_from_callback", '"123456"', "(...)"):
        if leftover in block:
            raise AssertionError("placeholder %s left in:\n%s" % (leftover, block))
    return block


def split_at(block, marker):
    at = block.index(marker)
    return block[:at], block[at:]


class _DotenvStandIn(types.ModuleType):
    """python-dotenv's load_dotenv for machines without the package (the
    seed imports it; the SDK does not need it): reads ./.env into
    os.environ without overriding what is set."""

    def __init__(self):
        super().__init__("dotenv")

    @staticmethod
    def load_dotenv(dotenv_path=None, override=False):
        path = dotenv_path or os.path.join(os.getcwd(), ".env")
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, _, value = line.partition("=")
                    if override or key.strip() not in os.environ:
                        os.environ[key.strip()] = value.strip().strip("'\"")
        return True


class SeedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        path, directory = seed_file()
        if path is None:
            raise unittest.SkipTest("seed 002 is not in %s (shared/ is absent here; set ARIES_SEEDS_DIR)" % directory)
        with open(path, encoding="utf-8") as f:
            cls.blocks = python_blocks(f.read())
        cls.fx = aries_live.fixture()

    def setUp(self):
        main = self.fx.main
        self.conf = main.clients["confidential"]
        self.seed_user = main.users["seed"]
        self.mfa_user = main.mfa_users["seed"]
        env = mock.patch.dict(os.environ, {"ARIES_CLIENT_ID": self.conf.client_id,
                                           "ARIES_CLIENT_SECRET": self.conf.client_secret})
        env.start()
        self.addCleanup(env.stop)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.ns = {"__name__": "__main__", "__file__": os.path.join(self.tmp.name, "app.py")}

    def run_block(self, source):
        # The block is the app's file, app.py in a folder of its own (where
        # python-dotenv looks for .env), so tracebacks show its lines.
        with open(self.ns["__file__"], "w", encoding="utf-8") as f:
            f.write(source)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, self.ns["__file__"], "exec"), self.ns)
        return out.getvalue()

    def browser_code(self, auth_url):
        return aries_live.browser_code(self.fx.url, auth_url, self.seed_user)

    # One runner per block of the seed, in the seed's order.

    def initialize(self, block):
        self.run_block(fill(block, {'"your_client_id"': repr(self.conf.client_id),
                                    '"your_client_secret"': repr(self.conf.client_secret)}))
        client = self.ns["client"]
        self.assertIsInstance(client, AriesClient)
        self.assertEqual((client.client_id, client.base_url), (self.conf.client_id, self.fx.url))
        # "The SDK handles token management automatically": the app's own
        # token is fetched by the first call; a user's route refuses it.
        with self.assertRaises(Exception) as ctx:
            client.users.get_current_user()
        self.assertEqual(getattr(ctx.exception, "error", None), "user_required")

    def authorization_code_flow(self, block):
        head, tail = split_at(block, "# Step 2")
        out = self.run_block(head)
        auth_url = self.ns["auth_url"]
        self.assertEqual(out, "Redirect user to: %s\n" % auth_url)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(auth_url).query)
        self.assertEqual((q["scope"], q["state"]), (["read trade"], ["random_state_string"]))
        back = aries_live.browser_for(self.fx.url, self.seed_user).authorize(auth_url, self.seed_user)
        self.assertEqual(back.get("state"), "random_state_string")
        out = self.run_block(fill(tail, {'"code_from_callback"': repr(back["code"])}))
        tokens = self.ns["tokens"]
        self.assertIsInstance(tokens, Token)
        self.assertEqual(out, "Access Token: %s\nRefresh Token: %s\nExpires In: 900 seconds\n"
                         % (tokens.access_token, tokens.refresh_token))
        self.assertIn("order:execution", tokens.scopes)

    def pkce(self, block):
        head, tail = split_at(block, "# Step 2")
        for client in (self.ns["client"], AriesClient(client_id=self.fx.main.clients["public"].client_id)):
            self.ns["client"] = client
            self.run_block(head)
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.ns["auth_url"]).query)
            self.assertEqual(q["code_challenge_method"], ["S256"])
            self.assertNotIn("scope", q, "the seed asks for no scope")
            self.ns["authorization_code"] = self.browser_code(self.ns["auth_url"])
            self.run_block(tail)
            tokens = self.ns["tokens"]
            self.assertTrue(tokens.access_token and tokens.refresh_token)
            self.assertIn("user:information", tokens.scopes, "the client's enabled scopes")
            me = AriesClient(bearer_token=tokens.access_token).users.get_current_user()
            self.assertEqual(me.email, self.seed_user.email)

    def mfa(self, block):
        fp = self.fx.main.clients["first_party"]
        client = AriesClient(client_id=fp.client_id, client_secret=fp.client_secret)
        auth_response = client.oauth2.sign_in(self.mfa_user.email, self.mfa_user.password, ["read", "trade"])
        self.assertIsInstance(auth_response, SignInResult)
        self.assertTrue(auth_response.mfa_required)
        self.ns.update(client=client, auth_response=auth_response)
        self.run_block(fill(block, {'"123456"': repr(aries_live.totp(self.mfa_user.totp_secret))}))
        self.assertTrue(self.ns["mfa_result"].authorization_code)
        tokens = self.ns["tokens"]
        me = AriesClient(bearer_token=tokens.access_token).users.get_current_user()
        self.assertEqual(me.id, self.mfa_user.id)

    def refresh(self, block):
        old = self.ns["tokens"]
        out = self.run_block(block)
        new = self.ns["new_tokens"]
        self.assertNotEqual(new.refresh_token, old.refresh_token, "rotated")
        self.assertEqual(out, "New Access Token: %s\nExpires In: 900 seconds\n" % new.access_token)

    def automatic_refresh(self, block):
        tokens = aries_live.user_token(self.fx.main, self.seed_user)
        self.run_block(fill(block, {'"your_client_id"': repr(self.conf.client_id),
                                    '"your_client_secret"': repr(self.conf.client_secret),
                                    '"your_refresh_token"': repr(tokens.refresh_token)}))
        self.assertEqual(len(self.ns["accounts"]), 1)
        self.assertNotEqual(self.ns["client"].token.refresh_token, tokens.refresh_token, "refreshed and rotated")

    def bearer(self, block):
        tokens = aries_live.user_token(self.fx.main, self.seed_user)
        self.run_block(fill(block, {'"your_access_token"': repr(tokens.access_token)}))
        self.assertEqual(self.ns["user"].email, self.seed_user.email)

    def environment(self, block):
        self.run_block(block)
        self.assertEqual((self.ns["client"].client_id, self.ns["client"].client_secret),
                         (self.conf.client_id, self.conf.client_secret))

    def dotenv_file(self, block):
        self.refresh_for_dotenv = aries_live.user_token(self.fx.main, self.seed_user).refresh_token
        content = fill(block, {"your_client_id": self.conf.client_id, "your_client_secret": self.conf.client_secret,
                               "your_refresh_token": self.refresh_for_dotenv})
        with open(os.path.join(self.tmp.name, ".env"), "w", encoding="utf-8") as f:
            f.write(content + "\n")

    def dotenv(self, block):
        for key in ("ARIES_CLIENT_ID", "ARIES_CLIENT_SECRET", "ARIES_REFRESH_TOKEN"):
            os.environ.pop(key, None)
        stand_in = importlib.util.find_spec("dotenv") is None
        if stand_in:
            sys.modules["dotenv"] = _DotenvStandIn()
        cwd = os.getcwd()
        os.chdir(self.tmp.name)
        try:
            self.run_block(block)
        finally:
            os.chdir(cwd)
            if stand_in:
                del sys.modules["dotenv"]
        self.assertEqual(self.ns["client"].client_id, self.conf.client_id)
        self.assertEqual(os.environ.get("ARIES_REFRESH_TOKEN"), self.refresh_for_dotenv)

    def token_expiration(self, block):
        tokens = aries_live.user_token(self.fx.main, self.seed_user)
        client = aries_live.app_client(self.fx.main, bearer_token=tokens.access_token)
        client.oauth2.revoke(tokens.access_token)
        aries_live.wait_until_refused(self.fx.url, tokens.access_token)
        self.ns.update(client=client, refresh_token=tokens.refresh_token, user=None, tokens=None)
        self.run_block(block)
        # The 401 branch ran: refreshed, set the bearer token, retried.
        self.assertEqual(self.ns["user"].email, self.seed_user.email)
        self.assertEqual(self.ns["client"].bearer_token, self.ns["tokens"].access_token)
        self.assertNotEqual(self.ns["tokens"].access_token, tokens.access_token)

    def scope_limitations(self, block):
        head, tail = split_at(block, "# Full trading access")
        for part, scope, granted, refused in ((head, "read", "account:information", "order:execution"),
                                              (tail, "read trade withdraw", "funds:withdrawal", "admin")):
            self.run_block(part)
            auth_url = self.ns["auth_url"]
            self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(auth_url).query)["scope"], [scope])
            tokens = self.ns["client"].oauth2.exchange_code(self.browser_code(auth_url), self.fx.redirect_uri)
            self.assertIn(granted, tokens.scopes)
            self.assertNotIn(refused, tokens.scopes)

    def error_handling(self, block):
        self.assertEqual(self.run_block(block), "Authentication failed: Invalid credentials\n")

    def rate_limiting(self, block):
        strict = self.fx.strict
        tokens = aries_live.user_token(strict, strict.users["limited"], scope=["read", "trade"])
        client = AriesClient(bearer_token=tokens.access_token, base_url=strict.url)
        self.ns["client"] = client
        account = client.users.get_user_accounts()[0].id
        for _ in range(20):
            try:
                client.orders.get_orders(account)
            except Exception as e:
                if getattr(e, "status_code", None) == 429:
                    break
                raise
        out = self.run_block(fill(block, {"place_order(...)": 'place_order(symbol="AAPL", side="buy", quantity=1)'}))
        self.assertEqual(out, "Rate limit exceeded. Retry after 1 seconds\n")

    def complete_example(self, block):
        # As written, with only the app's credentials: the app acts as
        # itself and the user endpoints refuse it.
        self.assertEqual(self.run_block(block), "Access forbidden\n")

    RUNNERS = [
        ("initialize", lambda b: "# The SDK handles token management automatically" in b),
        ("authorization_code_flow", lambda b: "# Step 1: Initiate authorization" in b),
        ("pkce", lambda b: "# Generate code verifier" in b),
        ("mfa", lambda b: "verify_mfa(" in b),
        ("refresh", lambda b: "# Refresh the access token" in b),
        ("automatic_refresh", lambda b: "auto_refresh=True  # Enable" in b),
        ("bearer", lambda b: "your_access_token" in b),
        ("environment", lambda b: "ARIES_CLIENT_ID\")" in b and "load_dotenv" not in b and "def main" not in b),
        ("dotenv_file", is_dotenv),
        ("dotenv", lambda b: "load_dotenv()" in b),
        ("token_expiration", lambda b: "# Token expired, refresh it" in b),
        ("scope_limitations", lambda b: "# Minimal scopes for read-only access" in b),
        ("error_handling", lambda b: "invalid_client_id" in b),
        ("rate_limiting", lambda b: "status_code == 429" in b),
        ("complete_example", lambda b: "def main():" in b),
    ]

    def test_every_block_runs_in_order(self):
        matched = []
        for block in self.blocks:
            names = [name for name, matches in self.RUNNERS if matches(block)]
            self.assertEqual(len(names), 1, "block matched by %s:\n%s" % (names, block))
            matched.append(names[0])
        self.assertEqual(matched, [name for name, _ in self.RUNNERS],
                         "the seed's blocks, in order, are not those this test knows")
        for block, name in zip(self.blocks, matched):
            with self.subTest(block=name):
                getattr(self, name)(block)


class ExtractionTest(unittest.TestCase):
    def test_blocks_and_prose(self):
        text = "Overview\n\nSome prose here.\n\nimport os\n\nx = os.sep\n\nNext Steps\nA=1\nB=2\n"
        self.assertEqual(python_blocks(text), ["import os\n\nx = os.sep", "A=1\nB=2"])
        self.assertTrue(is_dotenv("A=1\nB=2"))
        self.assertFalse(is_dotenv("import os\n\nx = os.sep"))


if __name__ == "__main__":
    unittest.main()
