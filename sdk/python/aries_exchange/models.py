"""The resources of the sandbox trading API, as the server writes them
(the Go SDK's sdk/protocol/sandbox.go is the reference).

Money is a :class:`decimal.Decimal` (a decimal string with two places on
the wire, never a float), quantities whole shares, times timezone-aware UTC
datetimes. Each object keeps the JSON it was read from in ``raw``, so a
field a newer server adds is not lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Optional, Union

from .errors import AriesError, json_object

__all__ = ["User", "Profile", "Account", "Balances", "Position", "Order", "Withdrawal", "Money"]

Money = Union[Decimal, int, str, float]

_CENT = Decimal("0.01")


def money_string(value: Money, what: str = "amount") -> str:
    """An amount as the API takes it: a decimal string with two places.

    ``Decimal("150.25")``, ``"150.25"``, ``150`` and ``150.25`` are
    accepted; an amount with more than two decimal places is refused
    rather than rounded.
    """
    if isinstance(value, bool):
        raise TypeError("%s must be a number, not a bool" % what)
    try:
        d = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError("%s must be a decimal amount such as \"150.25\", not %r" % (what, value)) from None
    if not d.is_finite() or d != d.quantize(_CENT):
        raise ValueError("%s must be a finite amount with at most two decimal places, not %r" % (what, value))
    return "{:.2f}".format(d)


def _money(data: Mapping[str, Any], key: str) -> Decimal:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise AriesError("%s: expected a decimal amount, got %r" % (key, value))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise AriesError("%s: expected a decimal amount, got %r" % (key, value)) from None


def _money_or_none(data: Mapping[str, Any], key: str) -> Optional[Decimal]:
    return None if data.get(key) is None else _money(data, key)


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$")


def parse_time(value: str) -> datetime:
    """An RFC 3339 time as Go writes it (up to nine fractional digits,
    which datetime.fromisoformat of Python 3.10 refuses)."""
    m = _RFC3339.match(value)
    if m is None:
        raise ValueError("not an RFC 3339 time: %r" % value)
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        tz = timezone(-offset if m.group(9) == "-" else offset)
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(timezone.utc)


def _time(data: Mapping[str, Any], key: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise AriesError("%s: expected a time, got %r" % (key, value))
    try:
        return parse_time(value)
    except ValueError as e:
        raise AriesError("%s: %s" % (key, e)) from None


def _time_or_none(data: Mapping[str, Any], key: str) -> Optional[datetime]:
    return None if data.get(key) is None else _time(data, key)


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AriesError("%s: expected a string, got %r" % (key, value))
    return value


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AriesError("%s: expected a whole number, got %r" % (key, value))
    return value


def _object(data: Any, what: str) -> Mapping[str, Any]:
    obj = json_object(data)
    if obj is None:
        raise AriesError("expected %s as a JSON object, got %r" % (what, type(data).__name__))
    return obj


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class User:
    """``GET /v1/users/me``: the user the token acts for."""

    id: str
    email: str
    created_at: datetime
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Any) -> "User":
        d = _object(data, "a user")
        return cls(id=_str(d, "id"), email=_str(d, "email"), created_at=_time(d, "created_at"), raw=d)


@dataclass(frozen=True)
class Profile:
    """``GET /v1/users/me/profile``, and the answer of ``PATCH /v1/users/me``."""

    id: str
    email: str
    display_name: str
    phone: str  # E.164, such as "+14155550123", or ""
    created_at: datetime
    updated_at: Optional[datetime]  # None until first changed
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Any) -> "Profile":
        d = _object(data, "a profile")
        return cls(id=_str(d, "id"), email=_str(d, "email"), display_name=_str(d, "display_name"),
                   phone=_str(d, "phone"), created_at=_time(d, "created_at"),
                   updated_at=_time_or_none(d, "updated_at"), raw=d)


@dataclass(frozen=True)
class Account:
    """A user's paper-trading account."""

    id: str
    type: str  # "paper"
    currency: str
    status: str  # "active"
    created_at: datetime
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Any) -> "Account":
        d = _object(data, "an account")
        return cls(id=_str(d, "id"), type=_str(d, "type"), currency=_str(d, "currency"),
                   status=_str(d, "status"), created_at=_time(d, "created_at"), raw=d)


@dataclass(frozen=True)
class Balances:
    """``GET /v1/accounts/{id}/balances``; positions are valued at the
    sandbox's simulated prices."""

    account_id: str
    currency: str
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    buying_power: Decimal
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Any) -> "Balances":
        d = _object(data, "balances")
        return cls(account_id=_str(d, "account_id"), currency=_str(d, "currency"), cash=_money(d, "cash"),
                   positions_value=_money(d, "positions_value"), equity=_money(d, "equity"),
                   buying_power=_money(d, "buying_power"), raw=d)


@dataclass(frozen=True)
class Position:
    """The shares of one symbol an account holds."""

    symbol: str
    quantity: int
    cost_basis: Decimal
    price: Decimal
    market_value: Decimal
    unrealized_pl: Decimal
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Any) -> "Position":
        d = _object(data, "a position")
        return cls(symbol=_str(d, "symbol"), quantity=_int(d, "quantity"), cost_basis=_money(d, "cost_basis"),
                   price=_money(d, "price"), market_value=_money(d, "market_value"),
                   unrealized_pl=_money(d, "unrealized_pl"), raw=d)


@dataclass(frozen=True)
class Order:
    """An order of the paper ledger; it fills whole or not at all.

    ``status`` is ``open`` (a limit order resting), ``filled`` or
    ``cancelled``; ``type`` is ``market`` or ``limit``; ``side`` is ``buy``
    or ``sell``.
    """

    id: str
    account_id: str
    symbol: str
    side: str
    type: str
    quantity: int
    limit_price: Optional[Decimal]  # None for market orders
    status: str
    filled_price: Optional[Decimal]  # None until filled
    created_at: datetime
    updated_at: datetime
    filled_at: Optional[datetime]
    cancelled_at: Optional[datetime]
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Any) -> "Order":
        d = _object(data, "an order")
        return cls(id=_str(d, "id"), account_id=_str(d, "account_id"), symbol=_str(d, "symbol"),
                   side=_str(d, "side"), type=_str(d, "type"), quantity=_int(d, "quantity"),
                   limit_price=_money_or_none(d, "limit_price"), status=_str(d, "status"),
                   filled_price=_money_or_none(d, "filled_price"), created_at=_time(d, "created_at"),
                   updated_at=_time(d, "updated_at"), filled_at=_time_or_none(d, "filled_at"),
                   cancelled_at=_time_or_none(d, "cancelled_at"), raw=d)


@dataclass(frozen=True)
class Withdrawal:
    """Cash taken out of an account; paper money moves at once."""

    id: str
    account_id: str
    amount: Decimal
    status: str  # "completed"
    created_at: datetime
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Any) -> "Withdrawal":
        d = _object(data, "a withdrawal")
        return cls(id=_str(d, "id"), account_id=_str(d, "account_id"), amount=_money(d, "amount"),
                   status=_str(d, "status"), created_at=_time(d, "created_at"), raw=d)
