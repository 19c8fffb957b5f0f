"""Coinbase derivative JSON -> domain objects: FUTURE products (CFM and INTX), CFM and INTX
positions, and the order-configuration keys derivative orders add (coinbase-api.md §3.2,
§3.10, §3.11). Pure functions; a value that cannot be read raises ``WireError``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from gpt_trader.domain import (
    DerivativeTerms,
    ExpiryType,
    MarginRates,
    MarginSchedule,
    MarginType,
    OrderRequest,
    Position,
    Product,
    ProductType,
)

from gpt_trader_coinbase.convert import (
    WireError,
    dec,
    ident,
    opt_dec,
    order_configuration,
    parse_time,
    product_limits,
    text,
    wire_amount,
)

ZERO = Decimal(0)
FCM = "FCM"
INTX = "INTX"
# CFM's intraday window is 08:00-16:00 ET on weekdays; 13:00-20:00 UTC is the part of it
# that is intraday in both winter and summer time, so plans never count on more.
CFM_SCHEDULE = MarginSchedule(intraday_start_s=13 * 3600, intraday_end_s=20 * 3600)


def venue_of(p: Mapping[str, Any]) -> str:
    """``FCM`` (US futures), ``INTX`` (international perpetuals) or ``""`` (not a future)."""
    if p.get("product_type") != "FUTURE":
        return ""
    return str(p.get("product_venue") or FCM).upper()


def _rates(raw: Any, field: str) -> tuple[Decimal, Decimal]:
    if not isinstance(raw, Mapping):
        raise WireError(f"{field}: expected an object with long/short margin rates")
    return dec(raw.get("long_margin_rate"), field), dec(raw.get("short_margin_rate"), field)


def _seconds(value: Any) -> int | None:
    """``"3600s"`` -> 3600; empty -> None."""
    raw = str(value or "").strip().removesuffix("s")
    if not raw:
        return None
    try:
        return int(Decimal(raw))
    except ArithmeticError:
        raise WireError(f"funding_interval: {value!r} is not a duration") from None


def derivative_product_from_json(p: Mapping[str, Any]) -> Product | None:
    """A FUTURE product with its margin terms, or None for anything else."""
    venue = venue_of(p)
    details = p.get("future_product_details")
    if not venue or not isinstance(details, Mapping):
        return None
    symbol = str(p.get("product_id", ""))
    perpetual = str(details.get("contract_expiry_type", "")) == "PERPETUAL"
    intraday = _rates(details.get("intraday_margin_rate"), "intraday_margin_rate")
    overnight = _rates(details.get("overnight_margin_rate"), "overnight_margin_rate")
    perp_details = details.get("perpetual_details") or {}
    max_leverage = opt_dec(perp_details.get("max_leverage"), "max_leverage")
    if max_leverage is None and min(intraday) > 0:
        # CFM lists no cap: the lowest intraday rate is what an account can get.
        max_leverage = (1 / min(intraday)).to_integral_value(rounding=ROUND_FLOOR)
    expiry = str(details.get("contract_expiry") or "")
    funding_interval = (
        _seconds(details.get("funding_interval")) if details.get("funding_rate") else None
    )
    terms = DerivativeTerms(
        pool=venue,
        intraday=MarginRates(*intraday),
        overnight=MarginRates(*overnight),
        max_leverage=max_leverage,
        # INTX documents leverage 1.0 for an order that gives none; on CFM the rate decides
        default_leverage=Decimal(1) if venue == INTX else None,
        margin_types=(MarginType.CROSS, MarginType.ISOLATED)
        if venue == INTX
        else (MarginType.CROSS,),
        expiry_ts=None if perpetual or not expiry else parse_time(expiry, "contract_expiry"),
        expiry_type=ExpiryType.PERPETUAL if perpetual else ExpiryType.EXPIRING,
        funding_interval_s=funding_interval,
        funding_rate=opt_dec(details.get("funding_rate"), "funding_rate") or ZERO,
        schedule=CFM_SCHEDULE if venue == FCM else None,
    )
    quote = str(p.get("quote_currency_id") or p.get("quote_display_symbol") or "USD")
    return Product(
        symbol=symbol,
        base=str(details.get("contract_root_unit") or p.get("base_currency_id") or symbol),
        quote=quote,
        **product_limits(p),
        product_type=ProductType.PERPETUAL if perpetual else ProductType.FUTURE,
        contract_size=dec(details.get("contract_size"), "contract_size"),
        derivative=terms,
    )


def funding_due(p: Mapping[str, Any]) -> tuple[Decimal, int | None]:
    """The current funding rate and the next funding time of a product (rate 0 / None when
    it has no funding)."""
    details = p.get("future_product_details") or {}
    rate = opt_dec(details.get("funding_rate"), "funding_rate") or ZERO
    when = details.get("funding_time")
    return rate, parse_time(when, "funding_time") if when else None


def derivative_configuration(req: OrderRequest) -> dict[str, dict[str, Any]]:
    """The spot configuration plus ``reduce_only`` inside it (the venue refuses a top-level
    ``reduceOnly``); leverage and margin type go top-level (see :func:`order_extras`)."""
    config = order_configuration(req)
    if req.reduce_only:
        for body in config.values():
            body["reduce_only"] = True
    return config


def order_extras(req: OrderRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    if req.leverage is not None:
        out["leverage"] = text(req.leverage)
    if req.margin_type is not None:
        out["margin_type"] = req.margin_type.value
    return out


def cfm_position(p: Mapping[str, Any], contract_size: Decimal) -> Position:
    """A CFM position (``number_of_contracts`` unsigned, ``side`` LONG/SHORT). The size and
    prices are required: one missing would read as flat or as a price of 0."""
    n = wire_amount(p, "number_of_contracts")
    symbol = ident(p, "product_id")
    if n == 0:  # a flat line may leave its side and prices empty
        return Position(symbol=symbol, contract_size=contract_size)
    side = ident(p, "side").upper()
    if side not in ("LONG", "SHORT"):
        raise WireError(f"side: {side!r} is neither LONG nor SHORT")
    return Position(
        symbol=symbol,
        size=-n if side == "SHORT" else n,
        avg_entry_price=wire_amount(p, "avg_entry_price"),
        mark_price=wire_amount(p, "current_price"),
        contract_size=contract_size,
    )


def money_of(raw: Any, field: str) -> Decimal:
    """A ``{value, currency}`` object or a plain string; absent is zero."""
    value = raw.get("value") if isinstance(raw, Mapping) else raw
    return dec(value, field)


def wire_money(o: Mapping[str, Any], key: str) -> Decimal:
    """A ``{value, currency}`` amount the venue always sends: absent is unreadable."""
    raw = o.get(key)
    value = raw.get("value") if isinstance(raw, Mapping) else raw
    if value is None or value == "":
        raise WireError(f"{key}: missing")
    return dec(value, key)


def intx_position(p: Mapping[str, Any], contract_size: Decimal) -> tuple[Position, Decimal]:
    """An INTX position with its risk figures, and its ``aggregated_pnl`` (funding is read
    from its moves, so it is required like the size and the prices)."""
    liq = money_of(p.get("liquidation_price"), "liquidation_price")
    entry = "entry_vwap" if p.get("entry_vwap") is not None else "vwap"
    size = wire_amount(p, "net_size")
    if size == 0:  # a flat line: its figures are not read
        return Position(symbol=ident(p, "symbol"), contract_size=contract_size), ZERO
    return (
        Position(
            symbol=ident(p, "symbol"),
            size=size,
            avg_entry_price=wire_money(p, entry),
            mark_price=wire_money(p, "mark_price"),
            liquidation_price=liq if liq > 0 else None,
            leverage=opt_dec(p.get("leverage"), "leverage"),
            initial_margin=wire_money(p, "im_notional"),
            contract_size=contract_size,
        ),
        wire_money(p, "aggregated_pnl"),
    )
