"""The sandbox trading API: ``client.users``, ``client.accounts`` and
``client.orders``. The routes and their scopes are those of
internal/api/routes.go: users and accounts need ``read``, placing, changing
and cancelling orders ``trade``, withdrawals ``withdraw``."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import TYPE_CHECKING, Any, Dict, List, Optional, cast

from .errors import AriesError, json_object
from .models import Account, Balances, Money, Order, Position, Profile, User, Withdrawal, money_string

if TYPE_CHECKING:
    from .client import AriesClient

__all__ = ["Users", "Accounts", "Orders"]


def _segment(value: str, what: str) -> str:
    if not value:
        raise ValueError("%s is required" % what)
    return urllib.parse.quote(value, safe="")


def _items(answer: object, key: str) -> List[Any]:
    obj = json_object(answer)
    items = obj.get(key) if obj is not None else None
    if not isinstance(items, list):
        raise AriesError("expected a JSON object with a %r list" % key)
    return cast(List[Any], items)


def _idempotency_key(key: Optional[str]) -> str:
    # One key per logical request: the server executes a request once per
    # key, so the SDK may send it again after a 429 or a lost answer.
    return key if key else secrets.token_urlsafe(18)


class Users:
    """``client.users``: the signed-in user (scope ``read``, or
    ``user:information`` and ``account:information``). A token the app got
    for itself acts for no user: these calls are then ``403
    user_required``."""

    def __init__(self, client: "AriesClient") -> None:
        self._c = client

    def get_current_user(self) -> User:
        """The user the client acts for (``GET /v1/users/me``)."""
        return User.from_json(self._c._call("GET", "/v1/users/me"))

    def get_profile(self) -> Profile:
        """The user's profile (``GET /v1/users/me/profile``)."""
        return Profile.from_json(self._c._call("GET", "/v1/users/me/profile"))

    def update_profile(self, *, display_name: Optional[str] = None, phone: Optional[str] = None) -> Profile:
        """Changes the fields given (``PATCH /v1/users/me``); ``""`` clears
        one. ``phone`` is E.164, such as ``"+14155550123"``."""
        patch: Dict[str, str] = {}
        if display_name is not None:
            patch["display_name"] = display_name
        if phone is not None:
            patch["phone"] = phone
        if not patch:
            raise ValueError("update_profile needs display_name or phone")
        return Profile.from_json(self._c._call("PATCH", "/v1/users/me", json_body=patch))

    def get_user_accounts(self) -> List[Account]:
        """The user's accounts (``GET /v1/users/me/accounts``); the sandbox
        opens a paper account with $100,000.00 at the first call."""
        answer = self._c._call("GET", "/v1/users/me/accounts")
        return [Account.from_json(a) for a in _items(answer, "accounts")]


class Accounts:
    """``client.accounts``: balances, positions and withdrawals of the
    user's accounts. Another user's account is ``404 not_found``."""

    def __init__(self, client: "AriesClient") -> None:
        self._c = client

    def get_balances(self, account_id: str) -> Balances:
        """Cash, positions value, equity and buying power
        (``GET /v1/accounts/{id}/balances``)."""
        path = "/v1/accounts/%s/balances" % _segment(account_id, "account_id")
        return Balances.from_json(self._c._call("GET", path))

    def get_positions(self, account_id: str) -> List[Position]:
        """The holdings by symbol (``GET /v1/accounts/{id}/positions``)."""
        path = "/v1/accounts/%s/positions" % _segment(account_id, "account_id")
        return [Position.from_json(p) for p in _items(self._c._call("GET", path), "positions")]

    def withdraw(self, account_id: str, amount: Money, *, idempotency_key: Optional[str] = None) -> Withdrawal:
        """Takes ``amount`` out of the account's cash
        (``POST /v1/accounts/{id}/withdrawals``, scope ``withdraw``), once
        per ``idempotency_key`` (one is made when not given). Cash that does
        not cover it is ``422 insufficient_funds``."""
        path = "/v1/accounts/%s/withdrawals" % _segment(account_id, "account_id")
        body = {"amount": money_string(amount)}
        answer = self._c._call("POST", path, json_body=body,
                               headers={"Idempotency-Key": _idempotency_key(idempotency_key)})
        return Withdrawal.from_json(answer)


class Orders:
    """``client.orders``: paper trading at the sandbox's simulated prices.

    A market order fills at once; a limit order fills at once when its
    limit is at least as good as the price and rests (``open``) otherwise,
    until modified or cancelled. Orders never take cash or shares below
    zero (``422 insufficient_funds`` / ``insufficient_shares``).
    """

    def __init__(self, client: "AriesClient") -> None:
        self._c = client

    def place_order(
        self,
        symbol: str,
        side: str,
        quantity: int,
        *,
        order_type: Optional[str] = None,
        limit_price: Optional[Money] = None,
        account_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Order:
        """Places an order (``POST /v1/orders``, scope ``trade``).

        ``side`` is ``"buy"`` or ``"sell"``; ``order_type`` is ``"market"``
        or ``"limit"``, by default ``"limit"`` when ``limit_price`` is given
        and ``"market"`` otherwise. ``account_id`` defaults to the user's
        paper account. The order is executed once per ``idempotency_key``
        (one is made when not given): sending the same request again with
        the same key returns the first order instead of placing another.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError("quantity must be a whole number of shares")
        body: Dict[str, Any] = {"symbol": symbol, "side": side, "quantity": quantity,
                      "type": order_type or ("limit" if limit_price is not None else "market")}
        if limit_price is not None:
            body["limit_price"] = money_string(limit_price, "limit_price")
        if account_id:
            body["account_id"] = account_id
        answer = self._c._call("POST", "/v1/orders", json_body=body,
                               headers={"Idempotency-Key": _idempotency_key(idempotency_key)})
        return Order.from_json(answer)

    def modify_order(self, order_id: str, *, quantity: Optional[int] = None,
                     limit_price: Optional[Money] = None) -> Order:
        """Changes the quantity, the limit price or both of a resting limit
        order (``PUT /v1/orders``); a limit that has become marketable fills
        at once. A filled or cancelled order is ``409 order_not_open``."""
        if not order_id:
            raise ValueError("order_id is required")
        body: Dict[str, Any] = {"order_id": order_id}
        if quantity is not None:
            body["quantity"] = quantity
        if limit_price is not None:
            body["limit_price"] = money_string(limit_price, "limit_price")
        if len(body) == 1:
            raise ValueError("modify_order needs quantity or limit_price")
        return Order.from_json(self._c._call("PUT", "/v1/orders", json_body=body))

    def cancel_order(self, order_id: str) -> Order:
        """Cancels a resting order (``DELETE /v1/orders?order_id=``). A
        filled or cancelled order is ``409 order_not_open``."""
        if not order_id:
            raise ValueError("order_id is required")
        return Order.from_json(self._c._call("DELETE", "/v1/orders", query={"order_id": order_id}))

    def get_orders(self, account_id: str, *, status: Optional[str] = None, limit: Optional[int] = None) -> List[Order]:
        """An account's orders, newest first (``GET /v2/accounts/{id}/orders``,
        scope ``read``): only those with ``status`` (``open``, ``filled``
        or ``cancelled``) when given, at most ``limit`` (1 to 500, default
        100)."""
        query: Dict[str, str] = {}
        if status:
            query["status"] = status
        if limit is not None:
            query["limit"] = str(limit)
        path = "/v2/accounts/%s/orders" % _segment(account_id, "account_id")
        return [Order.from_json(o) for o in _items(self._c._call("GET", path, query=query), "orders")]
