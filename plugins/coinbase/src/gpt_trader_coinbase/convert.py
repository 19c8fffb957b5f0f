"""Coinbase JSON <-> GPT-Trader domain objects. Pure functions, Decimal everywhere.

Wire conventions (coinbase-api.md §3.1): amounts are strings, ``""`` means empty, times are
RFC3339 (up to nanoseconds) or UNIX seconds as strings. Unknown keys are ignored; a value
that cannot be read raises :class:`WireError` naming the field (never guessed): a wrong type,
a missing identity, side or status, an enum value no version of the API sends, an amount
past :data:`MAX_MAGNITUDE`. The readers of orders, fills and balances raise nothing else
(:func:`reader`), so a caller catches one exception for every malformed payload.
"""

from __future__ import annotations

import calendar
import functools
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ParamSpec, TypeVar

from gpt_trader.domain import (
    LIQUIDATION_TAG,
    Balance,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Product,
    RejectReason,
    Side,
    TimeInForce,
)

from gpt_trader_coinbase.reasons import first_reason

ZERO = Decimal(0)
NS = 1_000_000_000


class WireError(ValueError):
    """A reply the adapter cannot read."""


# No price, size or balance the adapter trades comes near this; a larger one is a bad payload.
MAX_MAGNITUDE = Decimal("1e15")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def reader(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """A payload reader that raises :class:`WireError` and nothing else, whatever the shape
    of what it was given (a list for an object, a number for a string, ...)."""

    @functools.wraps(fn)
    def read(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except WireError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            raise WireError(f"{fn.__name__}: {type(exc).__name__}: {exc}"[:200]) from None

    return read


def ident(o: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    """An id field: a non-empty string when ``required``, else a string or nothing."""
    value = o.get(key)
    if value is None or value == "":
        if required:
            raise WireError(f"{key}: missing")
        return ""
    if not isinstance(value, str):
        raise WireError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def objects(o: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """A list of objects the venue always sends, empty or not: one missing or spoiled is
    unreadable, never an empty list (no positions read as flat, no accounts as zero)."""
    value = o.get(key)
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise WireError(f"{where}: {key} is not a list of objects")
    return value


def need(o: Mapping[str, Any], key: str) -> Any:
    """A field that must be present (an empty amount is no amount)."""
    value = o.get(key)
    if value is None or value == "":
        raise WireError(f"{key}: missing")
    return value


def wire_amount(o: Mapping[str, Any], key: str) -> Decimal:
    """An amount that must be there, as the wire sends amounts: a decimal string."""
    return amount(need(o, key), key)


def amount(value: Any, field: str) -> Decimal:
    """An amount of an order, a fill or a balance: a decimal string, ``""``/None is zero
    (a number where the wire sends a string is a payload gone wrong)."""
    if value is not None and not isinstance(value, str):
        raise WireError(f"{field}: expected a decimal string, got {type(value).__name__}")
    return dec(value, field)


def opt_amount(value: Any, field: str) -> Decimal | None:
    return None if value is None or value == "" else amount(value, field)


# -- values ---------------------------------------------------------------------------------


def dec(value: Any, field: str = "value") -> Decimal:
    """A wire amount; ``""``/None is zero. Floats are refused (money never passes a float)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, (bool, float)):
        raise WireError(f"{field}: expected a decimal string, got {type(value).__name__}")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise WireError(f"{field}: {value!r} is not a number") from None
    if not out.is_finite():
        raise WireError(f"{field}: {value!r} is not finite")
    if abs(out) >= MAX_MAGNITUDE:
        raise WireError(f"{field}: {str(value)[:40]!r} is out of range")
    return out


def opt_dec(value: Any, field: str = "value") -> Decimal | None:
    if value is None or value == "":
        return None
    return dec(value, field)


def text(value: Decimal) -> str:
    """A Decimal for the wire: plain digits, never an exponent."""
    return format(value, "f")


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


def parse_time(value: Any, field: str = "time") -> int:
    """RFC3339 (or UNIX seconds) -> int nanoseconds UTC; ``""`` and the zero time give 0."""
    if value is None or value == "":
        return 0
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise WireError(f"{field}: expected a time string, got {type(value).__name__}")
    s = str(value).strip()
    if s.isdigit():
        if len(s) > 12:  # UNIX seconds past the year 33658
            raise WireError(f"{field}: {s[:40]!r} is out of range")
        return int(s) * NS
    m = _RFC3339.match(s)
    if not m:
        raise WireError(f"{field}: {value!r} is not an RFC3339 time")
    y, mo, d, h, mi, sec, frac, zone = m.groups()
    if y == "0001":
        return 0
    secs = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(sec), 0, 0, 0))
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    nanos = int((frac or "0").ljust(9, "0"))
    return secs * NS + nanos


def format_time(ts: int) -> str:
    """int ns UTC -> RFC3339 with microseconds (what REST filters take)."""
    secs, frac = divmod(ts, NS)
    y, mo, d, h, mi, s = _gmtime(secs)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{frac // 1000:06d}Z"


def _gmtime(secs: int) -> tuple[int, int, int, int, int, int]:
    t = time.gmtime(secs)
    return t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec


# -- products -------------------------------------------------------------------------------


def product_from_json(p: Mapping[str, Any]) -> Product | None:
    """A spot product, or None for anything else (futures, view-only listings)."""
    if ident(p, "product_type", required=False) not in ("SPOT", ""):
        return None
    symbol = ident(p, "product_id")
    base = ident(p, "base_currency_id", required=False) or ident(
        p, "base_display_symbol", required=False
    )
    quote = ident(p, "quote_currency_id", required=False) or ident(
        p, "quote_display_symbol", required=False
    )
    if not base or not quote:
        b, _, q = symbol.partition("-")
        base, quote = base or b, quote or q
    if not base or not quote:
        return None
    limits = product_limits(p)
    if limits["base_increment"] < 0 or limits["price_increment"] < 0:
        raise WireError(f"{symbol}: a negative increment")
    if limits["base_increment"] == 0 or limits["price_increment"] == 0:
        return None
    return Product(symbol=symbol, base=base, quote=quote, **limits)


def product_aliases(p: Mapping[str, Any]) -> list[str]:
    """The other symbols a listing serves (``BTC-USDC`` for ``BTC-USD``)."""
    value = p.get("alias_to") or []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise WireError("alias_to: expected a list of symbols")
    return value


def product_limits(p: Mapping[str, Any]) -> dict[str, Decimal]:
    """A listing's increments and size limits, as Product fields (spot and futures alike)."""
    price_inc = opt_dec(p.get("price_increment"), "price_increment") or dec(
        p.get("quote_increment"), "quote_increment"
    )
    base_inc = dec(p.get("base_increment"), "base_increment")
    return {
        "base_increment": base_inc,
        "price_increment": price_inc,
        "base_min_size": opt_dec(p.get("base_min_size")) or base_inc,
        "base_max_size": opt_dec(p.get("base_max_size")) or Decimal("1e12"),
        "quote_increment": opt_dec(p.get("quote_increment")) or price_inc,
        "quote_min_size": opt_dec(p.get("quote_min_size")) or ZERO,
    }


def tradable(p: Mapping[str, Any]) -> bool:
    return not any(
        flag(p, key) for key in ("is_disabled", "trading_disabled", "view_only", "cancel_only")
    )


def flag(o: Mapping[str, Any], key: str) -> bool:
    """A true/false field; absent is false. Anything else is unreadable (a spoiled ``false``
    once read as true and hid a tradable product)."""
    value = o.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise WireError(f"{key}: expected true or false, got {type(value).__name__}")
    return value


def alias_product(source: Product, symbol: str) -> Product:
    """``BTC-USDC`` served by the ``BTC-USD`` book: same increments, its own quote."""
    base, _, quote = symbol.partition("-")
    return Product(
        symbol=symbol,
        base=base,
        quote=quote,
        base_increment=source.base_increment,
        price_increment=source.price_increment,
        base_min_size=source.base_min_size,
        base_max_size=source.base_max_size,
        quote_increment=source.quote_increment,
        quote_min_size=source.quote_min_size,
        product_type=source.product_type,
    )


# -- orders ---------------------------------------------------------------------------------

STOP_UP = "STOP_DIRECTION_STOP_UP"
STOP_DOWN = "STOP_DIRECTION_STOP_DOWN"


class Unsupported(ValueError):
    """A request the venue has no order configuration for (or one it would refuse: ``reason``
    says why); refused before sending."""

    def __init__(self, message: str, reason: RejectReason = RejectReason.UNSUPPORTED_ORDER) -> None:
        super().__init__(message)
        self.reason = reason


def order_configuration(req: OrderRequest) -> dict[str, dict[str, Any]]:
    """The one-key ``order_configuration`` for a request (coinbase-api.md §3.5).

    Market orders are sized in base for both sides. A stop-limit's direction follows its
    side: a BUY stop triggers on the way up, a SELL stop on the way down.
    """
    size = text(req.size)
    tif = req.time_in_force
    if req.post_only and (
        req.order_type is not OrderType.LIMIT or tif not in (TimeInForce.GTC, TimeInForce.GTD)
    ):
        raise Unsupported("post_only needs a GTC or GTD limit order")
    if req.order_type is OrderType.MARKET:
        if tif is not TimeInForce.IOC:
            raise Unsupported(f"market orders are IOC on Coinbase spot, not {tif}")
        return {"market_market_ioc": {"base_size": size}}
    if req.limit_price is None:
        raise Unsupported(f"{req.order_type} needs a limit price")
    price = text(req.limit_price)
    if req.order_type is OrderType.LIMIT:
        if tif is TimeInForce.GTC:
            return {
                "limit_limit_gtc": {
                    "base_size": size,
                    "limit_price": price,
                    "post_only": req.post_only,
                }
            }
        if tif is TimeInForce.GTD:
            return {
                "limit_limit_gtd": {
                    "base_size": size,
                    "limit_price": price,
                    "end_time": _end_time(req),
                    "post_only": req.post_only,
                }
            }
        if tif is TimeInForce.IOC:
            return {"sor_limit_ioc": {"base_size": size, "limit_price": price}}
        return {"limit_limit_fok": {"base_size": size, "limit_price": price}}
    if req.stop_price is None:
        raise Unsupported(f"{req.order_type} needs a stop price")
    stop = text(req.stop_price)
    if req.order_type is OrderType.STOP_LIMIT:
        body = {
            "base_size": size,
            "limit_price": price,
            "stop_price": stop,
            "stop_direction": STOP_UP if req.side is Side.BUY else STOP_DOWN,
        }
        if tif is TimeInForce.GTC:
            return {"stop_limit_stop_limit_gtc": body}
        if tif is TimeInForce.GTD:
            return {"stop_limit_stop_limit_gtd": {**body, "end_time": _end_time(req)}}
        raise Unsupported(f"stop-limit orders are GTC or GTD, not {tif}")
    if req.order_type is OrderType.BRACKET:
        body = {"base_size": size, "limit_price": price, "stop_trigger_price": stop}
        if tif is TimeInForce.GTC:
            return {"trigger_bracket_gtc": body}
        if tif is TimeInForce.GTD:
            return {"trigger_bracket_gtd": {**body, "end_time": _end_time(req)}}
        raise Unsupported(f"bracket orders are GTC or GTD, not {tif}")
    raise Unsupported(f"unsupported order type {req.order_type}")


def _end_time(req: OrderRequest) -> str:
    if not req.end_ts:
        raise Unsupported("a GTD order needs end_ts")
    return format_time(req.end_ts)


_CONFIG_KIND: dict[str, tuple[OrderType, TimeInForce]] = {
    "market_market_ioc": (OrderType.MARKET, TimeInForce.IOC),
    "market_market_fok": (OrderType.MARKET, TimeInForce.FOK),
    "sor_limit_ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "limit_limit_gtc": (OrderType.LIMIT, TimeInForce.GTC),
    "limit_limit_gtd": (OrderType.LIMIT, TimeInForce.GTD),
    "limit_limit_fok": (OrderType.LIMIT, TimeInForce.FOK),
    "stop_limit_stop_limit_gtc": (OrderType.STOP_LIMIT, TimeInForce.GTC),
    "stop_limit_stop_limit_gtd": (OrderType.STOP_LIMIT, TimeInForce.GTD),
    "trigger_bracket_gtc": (OrderType.BRACKET, TimeInForce.GTC),
    "trigger_bracket_gtd": (OrderType.BRACKET, TimeInForce.GTD),
}
_TIF = {
    "GOOD_UNTIL_CANCELLED": TimeInForce.GTC,
    "GOOD_UNTIL_DATE_TIME": TimeInForce.GTD,
    "IMMEDIATE_OR_CANCEL": TimeInForce.IOC,
    "FILL_OR_KILL": TimeInForce.FOK,
}
_TYPE = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "STOPLIMIT": OrderType.STOP_LIMIT,
    "STOP": OrderType.STOP_LIMIT,
    "BRACKET": OrderType.BRACKET,
}
# Coinbase status -> (domain status, still working at the venue?)
WORKING_STATUSES = ("OPEN", "PENDING", "QUEUED", "EDIT_QUEUED", "CANCEL_QUEUED")
CANCELLABLE_STATUSES = ("OPEN", "PENDING", "QUEUED", "EDIT_QUEUED")


def order_status(status: str, filled: Decimal) -> OrderStatus:
    s = status.upper()
    if s in WORKING_STATUSES:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    if s == "FILLED":
        return OrderStatus.FILLED
    if s == "CANCELLED":
        return OrderStatus.CANCELLED
    if s == "EXPIRED":
        return OrderStatus.EXPIRED
    if s == "FAILED":
        return OrderStatus.REJECTED
    if s in ("", "UNKNOWN_ORDER_STATUS"):
        return OrderStatus.UNKNOWN
    raise WireError(f"status: {status[:40]!r} is not an order status")


def order_type_of(value: str) -> OrderType:
    key = value.upper().replace("_", "").replace(" ", "")
    return _TYPE.get(key, OrderType.LIMIT)


@reader
def order_from_rest(o: Mapping[str, Any]) -> Order:
    """A REST order (``GET /orders/historical/...``)."""
    config = o.get("order_configuration") or {}
    kind, params = next(iter(config.items()), ("", {}))
    params = params if isinstance(params, Mapping) else {}
    otype, tif = _CONFIG_KIND.get(
        kind, (order_type_of(str(o.get("order_type", ""))), TimeInForce.GTC)
    )
    tif = _TIF.get(str(o.get("time_in_force", "")), tif)
    filled = amount(o.get("filled_size"), "filled_size")
    if filled < 0:
        raise WireError("filled_size cannot be negative")
    order_id = ident(o, "order_id")
    size = opt_amount(params.get("base_size"), "base_size")
    if size is None:
        size = filled  # quote-sized orders: the base amount is what filled
    status = order_status(str(need(o, "status")), filled)
    created = parse_time(o.get("created_time"), "created_time")
    updated = parse_time(o.get("last_fill_time"), "last_fill_time") or created
    reason = ""
    if status is OrderStatus.REJECTED:
        reason = first_reason([str(o.get("reject_message", "")), str(o.get("reject_reason", ""))])
    elif status is OrderStatus.CANCELLED:
        reason = str(o.get("cancel_message") or "")
    return Order(
        client_order_id=ident(o, "client_order_id", required=False),
        symbol=ident(o, "product_id", required=False),
        side=Side(need(o, "side")),
        size=size,
        order_type=otype,
        time_in_force=tif,
        status=status,
        order_id=order_id,
        limit_price=opt_amount(params.get("limit_price"), "limit_price"),
        stop_price=opt_amount(
            params.get("stop_price") or params.get("stop_trigger_price"), "stop_price"
        ),
        post_only=bool(params.get("post_only", False)),
        reduce_only=params.get("reduce_only") in (True, "true", "True"),
        end_ts=parse_time(params.get("end_time")) or None,
        filled_size=filled,
        avg_fill_price=amount(o.get("average_filled_price"), "average_filled_price"),
        fees=amount(o.get("total_fees"), "total_fees"),
        created_ts=created,
        updated_ts=updated,
        reject_reason=reason,
        tag=LIQUIDATION_TAG if o.get("is_liquidation") in (True, "true") else "",
    )


@reader
def order_from_ws(o: Mapping[str, Any], ts: int) -> Order:
    """A user-channel order: cumulative fields only (no per-fill ids, no fill prices)."""
    filled = wire_amount(o, "cumulative_quantity")
    leaves = wire_amount(o, "leaves_quantity")
    if filled < 0 or leaves < 0:
        raise WireError("cumulative_quantity and leaves_quantity cannot be negative")
    status = order_status(str(need(o, "status")), filled)
    otype = order_type_of(str(o.get("order_type", "")))
    limit = opt_amount(o.get("limit_price"), "limit_price")
    stop = opt_amount(o.get("stop_price"), "stop_price")
    reason = ""
    if status is OrderStatus.REJECTED:
        reason = first_reason([str(o.get("reject_reason", ""))])
    elif status is OrderStatus.CANCELLED:
        reason = str(o.get("cancel_reason") or "")
    return Order(
        client_order_id=ident(o, "client_order_id", required=False),
        symbol=ident(o, "product_id"),
        side=Side(need(o, "order_side")),
        size=filled + leaves if not status.is_terminal or leaves else filled,
        order_type=otype,
        time_in_force=_TIF.get(str(o.get("time_in_force", "")), TimeInForce.GTC),
        status=status,
        order_id=ident(o, "order_id"),
        limit_price=limit if limit else None,
        stop_price=stop if stop else None,
        post_only=str(o.get("post_only", "false")).lower() == "true",
        end_ts=parse_time(o.get("end_time")) or None,
        filled_size=filled,
        avg_fill_price=amount(o.get("avg_price"), "avg_price"),
        fees=amount(o.get("total_fees"), "total_fees"),
        created_ts=parse_time(o.get("creation_time"), "creation_time"),
        updated_ts=ts,
        reject_reason=reason,
    )


def create_reply_problem(reply: Mapping[str, Any]) -> str:
    """Why a ``POST /orders`` reply cannot be read ("" when it can): ``success`` must be a
    boolean, a success must name its order, a failure's ``error_response`` is an object."""
    success = reply.get("success")
    if not isinstance(success, bool):
        return f"success: expected a boolean, got {type(success).__name__}"
    if success:
        sr = reply.get("success_response")
        oid = sr.get("order_id") if isinstance(sr, dict) else None
        oid = oid or reply.get("order_id")
        return "" if isinstance(oid, str) and oid else "success without an order_id string"
    err = reply.get("error_response")
    if err is not None and not isinstance(err, dict):
        return f"error_response: expected an object, got {type(err).__name__}"
    return ""


def rejection_reason(reply: Mapping[str, Any]) -> tuple[RejectReason, str]:
    """The typed reason of a ``success:false`` create reply (all three reason keys, §3.6,
    the most specific first) and the venue's own words for the log."""
    err = reply.get("error_response") or {}
    parts: list[str] = []
    for key in ("new_order_failure_reason", "preview_failure_reason", "error"):
        value = str(err.get(key) or reply.get("failure_reason") or "")
        if value and not value.startswith("UNKNOWN_") and value not in parts:
            parts.append(value)
    reason = first_reason(parts)
    message = str(err.get("message") or err.get("error_details") or "")
    if message and message not in parts:
        parts.append(message)
    return reason, ": ".join(parts) or "UNKNOWN_FAILURE_REASON"


def preview_rejection(reply: Mapping[str, Any]) -> tuple[RejectReason, str] | None:
    """The typed reason a preview reply refuses the order for (its ``errs``), or None when
    it would be accepted; with the venue's words for the log."""
    errs = [str(e) for e in reply.get("errs") or [] if e]
    if not errs:
        return None
    return first_reason(errs), ", ".join(errs)


# -- fills and accounts ---------------------------------------------------------------------


@reader
def fill_from_rest(f: Mapping[str, Any], client_order_id: str) -> Fill:
    price = wire_amount(f, "price")
    size = wire_amount(f, "size")
    if price <= 0 or size <= 0:
        raise WireError(f"fill {f.get('trade_id')!r}: price and size must be positive")
    in_quote = f.get("size_in_quote", False)
    if in_quote not in (True, False, "true", "false", "True", "False"):
        raise WireError(f"size_in_quote: {str(in_quote)[:40]!r} is not a boolean")
    if in_quote in (True, "true", "True"):
        size = size / price  # a quote-sized fill reports its size in quote
    liq = f.get("liquidity_indicator") or "UNKNOWN_LIQUIDITY_INDICATOR"
    if liq not in LIQUIDITY:
        raise WireError(f"liquidity_indicator: {str(liq)[:40]!r} is not one")
    # A fill is booked once, by trade id: every figure of it must be the venue's own.
    return Fill(
        trade_id=ident(f, "trade_id"),
        client_order_id=client_order_id,
        order_id=ident(f, "order_id"),
        symbol=ident(f, "product_id"),
        side=Side(need(f, "side")),
        price=price,
        size=size,
        fee=wire_amount(f, "commission"),
        liquidity=Liquidity.MAKER if liq == "MAKER" else Liquidity.TAKER,
        ts=parse_time(need(f, "trade_time"), "trade_time"),
    )


LIQUIDITY = ("MAKER", "TAKER", "UNKNOWN_LIQUIDITY_INDICATOR")


@reader
def balance_from_account(a: Mapping[str, Any]) -> Balance:
    available = _balance_part(a, "available_balance")
    hold = _balance_part(a, "hold")
    return Balance(ident(a, "currency"), available + hold, available)


def _balance_part(a: Mapping[str, Any], key: str) -> Decimal:
    """An account always states both parts: one left out is unknown, never zero (a zero
    read would shrink the bot's inventory to nothing)."""
    part = a.get(key)
    if not isinstance(part, Mapping):
        raise WireError(f"{key}: expected an object, got {type(part).__name__}")
    return amount(need(part, "value"), f"{key}.value")
