"""The complete example of sdk/python/README.md runs as printed, twice: the
second run starts from the token file the first one wrote."""

import contextlib
import io
import os
import re
import tempfile
import unittest
from unittest import mock

import aries_live


def readme_block(heading):
    with open(os.path.join(aries_live.PACKAGE_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("\n### " + heading + "\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under %r" % heading
    return match.group(1)


class ReadmeTest(unittest.TestCase):
    def test_complete_example(self):
        fx = aries_live.fixture()
        conf = fx.main.clients["confidential"]
        user = fx.main.users["seed"]
        tokens = aries_live.user_token(fx.main, user)
        source = readme_block("Complete example")
        with tempfile.TemporaryDirectory() as tmp:
            token_file = os.path.join(tmp, "aries-token.json")
            env = {"ARIES_CLIENT_ID": conf.client_id, "ARIES_CLIENT_SECRET": conf.client_secret,
                   "ARIES_REFRESH_TOKEN": tokens.refresh_token, "ARIES_TOKEN_FILE": token_file}
            want = "Authenticated as: %s\nFound 1 accounts\n" % user.email
            with mock.patch.dict(os.environ, env):
                for run in ("first run", "second run, from the file"):
                    out = io.StringIO()
                    with contextlib.redirect_stdout(out):
                        exec(compile(source, "README.md", "exec"), {"__name__": "__main__"})
                    self.assertEqual(out.getvalue(), want, run)
            self.assertTrue(os.path.exists(token_file))


if __name__ == "__main__":
    unittest.main()
