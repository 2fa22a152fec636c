"""client.oauth2 against a real Aries: the authorization code flow with a
secret and with PKCE, first-party sign-in with MFA, refresh, revocation,
client credentials, and the errors each of them can answer."""

import time
import unittest

import aries_live
from aries_exchange import (AriesAPIError, AriesClient, AriesError, SignInResult, Token, code_challenge_s256,
                            generate_code_verifier, generate_state)

REDIRECT = "https://yourapp.com/callback"


class LiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = aries_live.fixture()
        cls.main = cls.fx.main

    def assertAPIError(self, ctx, status, error, message_part=""):
        e = ctx.exception
        self.assertIsInstance(e, AriesAPIError)
        self.assertEqual((e.status_code, e.error), (status, error), "%r" % e)
        self.assertTrue(e.message, "the error has a message")
        self.assertIn(message_part, e.message)

    def code(self, app, user, **kwargs):
        state = generate_state()
        url = app.oauth2.get_authorization_url(REDIRECT, state=state, **kwargs)
        return aries_live.browser_code(self.main.url, url, user, state)


class AuthorizationCodeTest(LiveTest):
    def test_exchange_with_secret(self):
        app = aries_live.app_client(self.main)
        user = self.main.users["trader"]
        tokens = app.oauth2.exchange_code(code=self.code(app, user, scope=["read", "trade"]), redirect_uri=REDIRECT)
        self.assertIsInstance(tokens, Token)
        self.assertEqual((tokens.token_type, tokens.expires_in), ("Bearer", 900))
        self.assertTrue(tokens.access_token and tokens.refresh_token)
        self.assertIn("order:execution", tokens.scopes)
        self.assertIn("user:information", tokens.scopes)
        self.assertNotIn("funds:withdrawal", tokens.scopes)
        self.assertIsNone(app.token, "an exchange does not make the tokens the app's own")
        me = AriesClient(bearer_token=tokens.access_token, base_url=self.main.url).users.get_current_user()
        self.assertEqual((me.id, me.email), (user.id, user.email))

    def test_a_code_works_once(self):
        app = aries_live.app_client(self.main)
        code = self.code(app, self.main.users["trader"])
        app.oauth2.exchange_code(code, REDIRECT)
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.exchange_code(code, REDIRECT)
        self.assertAPIError(ctx, 400, "invalid_grant")

    def test_a_wrong_secret_does_not_burn_the_code(self):
        app = aries_live.app_client(self.main)
        code = self.code(app, self.main.users["trader"])
        wrong = AriesClient(client_id=app.client_id, client_secret="aries_cs_wrong", base_url=self.main.url)
        with self.assertRaises(AriesAPIError) as ctx:
            wrong.oauth2.exchange_code(code, REDIRECT)
        self.assertAPIError(ctx, 401, "invalid_client")
        self.assertTrue(app.oauth2.exchange_code(code, REDIRECT).access_token)

    def test_the_redirect_uri_must_match(self):
        app = aries_live.app_client(self.main)
        code = self.code(app, self.main.users["trader"])
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.exchange_code(code, "https://yourapp.com/other")
        self.assertAPIError(ctx, 400, "invalid_grant")

    def test_pkce_public_client(self):
        app = AriesClient(client_id=self.main.clients["public"].client_id, base_url=self.main.url)
        user = self.main.users["trader"]
        verifier = generate_code_verifier()
        challenge = code_challenge_s256(verifier)
        # No scope: the client's enabled scopes (docs/scopes.md#default-scope).
        code = self.code(app, user, code_challenge=challenge, code_challenge_method="S256")
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.exchange_code(code, REDIRECT, code_verifier=generate_code_verifier())
        self.assertAPIError(ctx, 400, "invalid_grant")

        code = self.code(app, user, code_challenge=challenge)
        tokens = app.oauth2.exchange_code(code, REDIRECT, code_verifier=verifier)
        self.assertIn("account:information", tokens.scopes)
        self.assertNotIn("order:execution", tokens.scopes, "the public client has read only")
        # A public client refreshes with its id alone, by itself.
        user_client = AriesClient(client_id=app.client_id, refresh_token=tokens.refresh_token, base_url=self.main.url)
        self.assertEqual(user_client.users.get_current_user().email, user.email)
        self.assertNotEqual(user_client.token.refresh_token, tokens.refresh_token)

    def test_pkce_public_client_needs_the_verifier(self):
        app = AriesClient(client_id=self.main.clients["public"].client_id, base_url=self.main.url)
        code = self.code(app, self.main.users["trader"], code_challenge=code_challenge_s256(generate_code_verifier()))
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.exchange_code(code, REDIRECT)
        self.assertEqual(ctx.exception.status_code, 400)
        self.assertIn(ctx.exception.error, ("invalid_request", "invalid_grant"))

    def test_pkce_confidential_client(self):
        app = aries_live.app_client(self.main)
        verifier = generate_code_verifier()
        code = self.code(app, self.main.users["trader"], scope="read", code_challenge=code_challenge_s256(verifier))
        self.assertTrue(app.oauth2.exchange_code(code, REDIRECT, code_verifier=verifier).refresh_token)

    def test_expired_code(self):
        strict = self.fx.strict
        app = aries_live.app_client(strict)
        state = generate_state()
        url = app.oauth2.get_authorization_url(REDIRECT, scope=["read"], state=state)
        code = aries_live.browser_code(strict.url, url, strict.users["limited"], state)
        time.sleep(self.fx.code_ttl_seconds + 0.5)
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.exchange_code(code, REDIRECT)
        self.assertAPIError(ctx, 400, "invalid_grant")


class RefreshTest(LiveTest):
    def test_rotation_and_replay(self):
        app = aries_live.app_client(self.main)
        first = aries_live.user_token(self.main, self.main.users["trader"])
        second = app.oauth2.refresh_token(refresh_token=first.refresh_token)
        self.assertNotEqual(second.refresh_token, first.refresh_token)
        self.assertNotEqual(second.access_token, first.access_token)
        self.assertEqual((second.expires_in, second.scope), (900, first.scope))
        # Presenting the spent token again is a replay: refused, and the
        # whole sign-in is revoked with it.
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.refresh_token(first.refresh_token)
        self.assertAPIError(ctx, 400, "invalid_grant")
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.refresh_token(second.refresh_token)
        self.assertAPIError(ctx, 400, "invalid_grant")

    def test_narrower_scope(self):
        app = aries_live.app_client(self.main)
        tokens = aries_live.user_token(self.main, self.main.users["trader"], scope=["read", "trade"])
        narrowed = app.oauth2.refresh_token(tokens.refresh_token, scope=["user:information"])
        self.assertEqual(narrowed.scopes, ["user:information"])

    def test_revoked_refresh_token(self):
        app = aries_live.app_client(self.main)
        tokens = aries_live.user_token(self.main, self.main.users["trader"])
        app.oauth2.revoke(tokens.refresh_token)
        app.oauth2.revoke("not-a-token")  # RFC 7009 section 2.2: not an error
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.refresh_token(tokens.refresh_token)
        self.assertAPIError(ctx, 400, "invalid_grant")
        # Revoking the grant ends its access tokens on the API too.
        aries_live.wait_until_refused(self.main.url, tokens.access_token)

    def test_wrong_secret(self):
        tokens = aries_live.user_token(self.main, self.main.users["trader"])
        wrong = AriesClient(client_id=self.main.clients["confidential"].client_id, client_secret="aries_cs_wrong",
                            base_url=self.main.url)
        with self.assertRaises(AriesAPIError) as ctx:
            wrong.oauth2.refresh_token(tokens.refresh_token)
        self.assertAPIError(ctx, 401, "invalid_client")
        # A failed client authentication does not spend the token.
        self.assertTrue(aries_live.app_client(self.main).oauth2.refresh_token(tokens.refresh_token).access_token)

    def test_client_credentials(self):
        app = aries_live.app_client(self.main)
        token = app.oauth2.client_credentials(scope=["read"])
        self.assertIsNone(token.refresh_token)
        self.assertIn("account:information", token.scopes)
        with self.assertRaises(AriesAPIError) as ctx:
            AriesClient(client_id=self.main.clients["public"].client_id, base_url=self.main.url).oauth2.client_credentials()
        self.assertIn(ctx.exception.status_code, (400, 401))


class FirstPartyTest(LiveTest):
    def app(self, role="first_party"):
        return aries_live.app_client(self.main, role)

    def test_user_without_mfa(self):
        app = self.app()
        user = self.main.users["trader"]
        result = app.oauth2.sign_in(user.email, user.password, ["read"])
        self.assertIsInstance(result, SignInResult)
        self.assertFalse(result.mfa_required)
        self.assertIsNone(result.session_token)
        tokens = app.oauth2.exchange_code(result.authorization_code)  # no redirect_uri was named
        app.token = tokens
        self.assertEqual(app.users.get_current_user().email, user.email)

    def test_user_with_mfa(self):
        app = self.app()
        user = self.main.mfa_users["flows"]
        verifier = generate_code_verifier()
        result = app.oauth2.sign_in(user.email, user.password, scope=["read", "trade"], redirect_uri=REDIRECT,
                                    code_challenge=code_challenge_s256(verifier))
        self.assertTrue(result.mfa_required)
        self.assertTrue(result.session_token)
        self.assertIsNone(result.authorization_code)
        self.assertEqual(result.expires_in, 300)

        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.verify_mfa(aries_live.wrong_totp(user.totp_secret), result.session_token)
        self.assertAPIError(ctx, 400, "invalid_mfa_code")

        code = aries_live.totp(user.totp_secret)
        verified = app.oauth2.verify_mfa(code=code, session_token=result.session_token)
        self.assertTrue(verified.authorization_code)
        self.assertFalse(verified.mfa_required)
        tokens = app.oauth2.exchange_code(verified.authorization_code, REDIRECT, code_verifier=verifier)
        self.assertIn("order:execution", tokens.scopes)
        me = AriesClient(bearer_token=tokens.access_token, base_url=self.main.url).users.get_current_user()
        self.assertEqual(me.id, user.id)

        # The session token worked once; the TOTP code too, even in a new session.
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.verify_mfa(code, result.session_token)
        self.assertAPIError(ctx, 400, "invalid_grant")
        again = app.oauth2.sign_in(user.email, user.password, "read")
        with self.assertRaises(AriesAPIError) as ctx:
            app.oauth2.verify_mfa(code, again.session_token)
        self.assertAPIError(ctx, 400, "invalid_mfa_code")

    def test_wrong_password_and_unknown_email(self):
        app = self.app()
        user = self.main.users["trader"]
        errors = []
        for email, password in ((user.email, "wrong password"), ("nobody@example.com", user.password)):
            with self.assertRaises(AriesAPIError) as ctx:
                app.oauth2.sign_in(email, password, ["read"])
            self.assertAPIError(ctx, 401, "access_denied")
            errors.append(ctx.exception.message)
        self.assertEqual(errors[0], errors[1], "the answer does not tell whether the email exists")

    def test_only_first_party_clients(self):
        user = self.main.users["trader"]
        with self.assertRaises(AriesAPIError) as ctx:
            self.app("confidential").oauth2.sign_in(user.email, user.password, ["read"])
        self.assertAPIError(ctx, 400, "unauthorized_client")
        with self.assertRaises(AriesError):
            AriesClient(base_url=self.main.url).oauth2.sign_in(user.email, user.password)


if __name__ == "__main__":
    unittest.main()
