"""The Python SDK of the Aries trading API.

Signs users in with OAuth 2.0 (the authorization code flow with PKCE, and
the first-party sign-in with two-step verification), keeps their tokens
fresh, and calls the sandbox trading API for them::

    from aries_exchange import AriesClient, AriesAPIError

    client = AriesClient(client_id="...", client_secret="...", refresh_token="...")
    user = client.users.get_current_user()

Standard library only. See README.md beside this package.
"""

import logging

from ._version import __version__
from .client import DEFAULT_API_URL, DEFAULT_AUTH_URL, AriesClient
from .errors import AriesAPIError, AriesConnectionError, AriesError, Headers
from .models import Account, Balances, Order, Position, Profile, User, Withdrawal
from .oauth2 import SignInResult, code_challenge_s256, generate_code_verifier, generate_state
from .tokens import FileTokenStore, Token

# A library logs, the application decides where to (the logging HOWTO).
logging.getLogger("aries_exchange").addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "AriesClient",
    "DEFAULT_API_URL",
    "DEFAULT_AUTH_URL",
    "AriesError",
    "AriesAPIError",
    "AriesConnectionError",
    "Headers",
    "Token",
    "FileTokenStore",
    "SignInResult",
    "generate_code_verifier",
    "code_challenge_s256",
    "generate_state",
    "User",
    "Profile",
    "Account",
    "Balances",
    "Position",
    "Order",
    "Withdrawal",
]
