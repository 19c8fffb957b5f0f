"""Domain objects -> Coinbase JSON, key for key as coinbase-api.md §3/§4 and the samples show.

Numbers are strings (Decimal formatted without exponent), times RFC3339, enums UPPER_SNAKE,
empty values ``""``. Pure functions: no I/O, no venue access.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader.domain import (
    LIQUIDATION_TAG,
    Balance,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Product,
    TimeInForce,
)
from gpt_trader.domain.products import ProductType

from gpt_trader_coinbase_sim.catalogue import INTX, Listing
from gpt_trader_coinbase_sim.market import Bar, LevelChange, Print, Stats24h
from gpt_trader_coinbase_sim.ordermeta import OrderMeta
from gpt_trader_coinbase_sim.wire import ZERO_TIME, dec, dec_n, rfc3339

ZERO = Decimal(0)
HUNDRED = Decimal(100)

STATUS = {
    OrderStatus.PENDING: "PENDING",
    OrderStatus.OPEN: "OPEN",
    OrderStatus.PARTIALLY_FILLED: "OPEN",  # Coinbase has no partial status: OPEN + filled_size
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELLED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "FAILED",
    OrderStatus.UNKNOWN: "UNKNOWN_ORDER_STATUS",
}
TIF = {
    TimeInForce.GTC: "GOOD_UNTIL_CANCELLED",
    TimeInForce.GTD: "GOOD_UNTIL_DATE_TIME",
    TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
    TimeInForce.FOK: "FILL_OR_KILL",
}
WS_ORDER_TYPE = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP_LIMIT: "StopLimit",
    OrderType.BRACKET: "Bracket",
}
FIAT = {"USD", "USDC", "EUR", "GBP", "USDT"}
NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "SOL": "Solana",
    "XRP": "XRP",
    "DOGE": "Dogecoin",
    "ADA": "Cardano",
    "AVAX": "Avalanche",
    "LINK": "Chainlink",
    "LTC": "Litecoin",
    "DOT": "Polkadot",
    "USD": "US Dollar",
    "USDC": "USDC",
    "EUR": "Euro",
    "GBP": "British Pound",
}
# Every simulated account has existed since this instant (what created_at reports).
EPOCH_CREATED = "2023-11-02T17:31:07.121Z"


@dataclass(frozen=True)
class Identity:
    """The one simulated user: stable ids derived from the seed."""

    user_id: str
    portfolio_uuid: str

    @classmethod
    def from_seed(cls, seed: int) -> Identity:
        ns = uuid.uuid5(uuid.NAMESPACE_URL, f"gpt-trader-sim:{seed}")
        return cls(str(uuid.uuid5(ns, "user")), str(uuid.uuid5(ns, "portfolio")))

    def account_uuid(self, currency: str) -> str:
        return str(uuid.uuid5(uuid.UUID(self.portfolio_uuid), currency))

    @property
    def intx_portfolio_uuid(self) -> str:
        """The user's INTX (perpetuals) portfolio, next to the DEFAULT one."""
        return str(uuid.uuid5(uuid.UUID(self.portfolio_uuid), "INTX"))


# -- products and market data ---------------------------------------------------------------


def _is_future(p: Product) -> bool:
    return p.product_type in (ProductType.FUTURE, ProductType.PERPETUAL)


def product_json(
    p: Product,
    stats: Stats24h,
    mid: Decimal | None,
    *,
    alias: str = "",
    alias_to: list[str] | None = None,
    spec: Listing | None = None,
    future_details: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A product; ``alias`` names the book an alias trades in (``BTC-USDC`` -> "BTC-USD"),
    ``alias_to`` the aliases a book serves. For a derivative with its ``spec``, the
    ``future_details`` and trading ``session`` (see shapes_derivatives) replace the generic
    placeholders."""
    future = _is_future(p)
    change_pct = stats.pct_change
    out: dict[str, Any] = {
        "product_id": p.symbol,
        "price": dec(stats.last),
        "price_percentage_change_24h": dec(change_pct),
        "volume_24h": dec(stats.volume),
        "volume_percentage_change_24h": "0",
        "base_increment": dec(p.base_increment),
        "quote_increment": dec(p.quote_increment),
        "quote_min_size": dec(p.quote_min_size),
        "quote_max_size": "150000000",
        "base_min_size": dec(p.base_min_size),
        "base_max_size": dec(p.base_max_size),
        "base_name": "" if future else NAMES.get(p.base, p.base),
        "quote_name": NAMES.get(p.quote, p.quote),
        "watched": False,
        "is_disabled": False,
        "new": False,
        "status": "" if future else "online",
        "cancel_only": False,
        "limit_only": False,
        "post_only": False,
        "trading_disabled": False,
        "auction_mode": False,
        "product_type": "FUTURE" if future else "SPOT",
        "quote_currency_id": p.quote,
        "base_currency_id": "" if future else p.base,
        "fcm_trading_session_details": None,
        "mid_market_price": dec_n(mid) if future and mid is not None else "",
        "alias": alias,
        "alias_to": list(alias_to or []),
        "base_display_symbol": "" if future else p.base,
        "quote_display_symbol": p.quote,
        "view_only": False,
        "price_increment": dec(p.price_increment),
        "display_name": p.symbol,
        "product_venue": "FCM" if future else "CBE",
        "approximate_quote_24h_volume": dec((stats.volume * stats.last).quantize(Decimal("0.01"))),
    }
    if future:
        out["fcm_trading_session_details"] = _session_details()
        out["future_product_details"] = _future_details(p, stats)
    if spec is not None:
        out["fcm_trading_session_details"] = session
        out["future_product_details"] = future_details
        out["product_venue"] = "INTX" if spec.account == INTX else "FCM"
        out["display_name"] = spec.display_name
    return out


def _session_details() -> dict[str, Any]:
    return {
        "is_session_open": True,
        "open_time": "2024-05-01T22:00:00Z",
        "close_time": "2030-12-20T22:00:00Z",
        "session_state": "FCM_TRADING_SESSION_STATE_OPEN",
        "after_hours_order_entry_disabled": False,
        "closed_reason": "FCM_TRADING_SESSION_CLOSED_REASON_UNDEFINED",
        "maintenance": {"start_time": "2030-12-21T14:00:00Z", "end_time": "2030-12-21T17:00:00Z"},
    }


def _future_details(p: Product, stats: Stats24h) -> dict[str, Any]:
    perp = p.product_type is ProductType.PERPETUAL
    return {
        "venue": "cde",
        "contract_code": p.base,
        "contract_expiry": "2030-12-20T16:00:00Z",
        "contract_size": dec(p.contract_size),
        "contract_root_unit": p.base,
        "group_description": f"{p.base} Futures",
        "contract_expiry_timezone": "Europe/London",
        "group_short_description": f"{p.base} Futures",
        "risk_managed_by": "MANAGED_BY_FCM",
        "contract_expiry_type": "EXPIRING",
        "perpetual_details": {
            "open_interest": "0",
            "funding_rate": "",
            "funding_time": None,
            "max_leverage": "",
            "base_asset_uuid": "",
            "underlying_type": "",
        },
        "contract_display_name": p.symbol,
        "funding_interval": "3600s",
        "open_interest": "0",
        "funding_rate": "0.000013" if perp else "",
        "funding_time": "2030-12-20T16:00:00Z",
        "display_name": p.symbol,
        "intraday_margin_rate": {"long_margin_rate": "0.1", "short_margin_rate": "0.1"},
        "overnight_margin_rate": {"long_margin_rate": "0.25", "short_margin_rate": "0.3"},
        "settlement_price": dec(stats.last),
        "futures_asset_type": "FUTURES_ASSET_TYPE_CRYPTO",
        "index_price": dec(stats.last),
    }


def candle_json(bar: Bar) -> dict[str, str]:
    return {
        "start": str(bar.start_ns // 1_000_000_000),
        "low": dec(bar.low),
        "high": dec(bar.high),
        "open": dec(bar.open),
        "close": dec(bar.close),
        "volume": dec(bar.volume),
    }


def trade_json(pr: Print) -> dict[str, str]:
    return {
        "trade_id": pr.trade_id,
        "product_id": pr.symbol,
        "price": dec(pr.price),
        "size": dec(pr.size),
        "time": rfc3339(pr.ts),
        "side": pr.side,
        "exchange": "",
    }


def levels_json(levels: list[tuple[Decimal, Decimal]]) -> list[dict[str, str]]:
    return [{"price": dec(px), "size": dec(sz)} for px, sz in levels]


def pricebook_json(
    symbol: str, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], ts: int
) -> dict[str, Any]:
    return {
        "product_id": symbol,
        "bids": levels_json(bids),
        "asks": levels_json(asks),
        "time": rfc3339(ts),
    }


def book_extras(
    bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], last: Decimal
) -> dict[str, str]:
    if not bids or not asks:
        return {"last": dec(last), "mid_market": "", "spread_bps": "", "spread_absolute": ""}
    bid, ask = bids[0][0], asks[0][0]
    mid = (bid + ask) / 2
    spread = ask - bid
    bps = (spread / mid * 10_000).quantize(Decimal("0.0000001")) if mid else ZERO
    return {
        "last": dec(last),
        "mid_market": dec_n(mid),
        "spread_bps": dec_n(bps),
        "spread_absolute": dec_n(spread),
    }


# -- orders and fills -----------------------------------------------------------------------


def completion_pct(order: Order, meta: OrderMeta | None, value: Decimal) -> Decimal:
    if meta is not None and meta.size_in_quote and meta.quote_size:
        if order.status is OrderStatus.FILLED:
            return HUNDRED.quantize(Decimal("0.01"))  # the quote, fees included, is spent
        done = value / meta.quote_size * HUNDRED
    elif order.size:
        done = order.filled_size / order.size * HUNDRED
    else:
        done = ZERO
    return min(done, HUNDRED).quantize(Decimal("0.01"))


def trigger_status(order: Order) -> str:
    if order.order_type not in (OrderType.STOP_LIMIT, OrderType.BRACKET):
        return "INVALID_ORDER_TYPE"
    if order.filled_size > 0 or order.status.is_terminal:
        return "STOP_TRIGGERED"
    return "STOP_PENDING"


def order_json(
    order: Order,
    meta: OrderMeta | None,
    ident: Identity,
    *,
    product_type: str = "SPOT",
    value: Decimal = ZERO,
    hold: Decimal = ZERO,
) -> dict[str, Any]:
    """An order; ``value`` is what its fills moved before fees (the venue's settled
    figure), ``hold`` what it holds now."""
    after_fees = value + order.fees if order.side == "BUY" else value - order.fees
    status = STATUS[order.status]
    return {
        "order_id": order.order_id,
        "product_id": order.symbol,
        "user_id": ident.user_id,
        "order_configuration": meta.configuration() if meta else {},
        "side": str(order.side),
        "client_order_id": order.client_order_id,
        "status": status,
        "time_in_force": TIF.get(order.time_in_force, "UNKNOWN_TIME_IN_FORCE"),
        "created_time": rfc3339(order.created_ts),
        "completion_percentage": dec(completion_pct(order, meta, value)),
        "filled_size": dec_n(order.filled_size),
        "average_filled_price": dec_n(order.avg_fill_price),
        "fee": "",
        "number_of_fills": str(len(order.trade_ids)),
        "filled_value": dec_n(value),
        "pending_cancel": bool(meta and meta.cancel_requested and not order.status.is_terminal),
        "size_in_quote": bool(meta and meta.size_in_quote),
        "total_fees": dec_n(order.fees),
        "size_inclusive_of_fees": False,
        "total_value_after_fees": dec_n(after_fees),
        "trigger_status": trigger_status(order),
        "order_type": "LIQUIDATION" if order.tag == LIQUIDATION_TAG else str(order.order_type),
        "reject_reason": (
            "REJECT_REASON_INSUFFICIENT_FUNDS"
            if order.status is OrderStatus.REJECTED and "fund" in order.reject_reason.lower()
            else "REJECT_REASON_UNSPECIFIED"
        ),
        "settled": order.status.is_terminal,
        "product_type": product_type,
        "reject_message": order.reject_reason if order.status is OrderStatus.REJECTED else "",
        "cancel_message": meta.cancel_message if meta else "",
        "order_placement_source": "RETAIL_ADVANCED",
        "outstanding_hold_amount": dec_n(hold),
        "is_liquidation": order.tag == LIQUIDATION_TAG,
        "last_fill_time": rfc3339(order.updated_ts) if order.trade_ids else "",
        "edit_history": list(meta.edit_history) if meta else [],
        "leverage": meta.leverage if meta else "",
        "margin_type": meta.margin_type if meta else "UNKNOWN_MARGIN_TYPE",
        "retail_portfolio_id": ident.portfolio_uuid,
        "originating_order_id": "",
        "attached_order_id": "",
    }


def entry_id(fill: Fill) -> str:
    return hashlib.sha256(f"{fill.trade_id}:{fill.order_id}".encode()).hexdigest()


def fill_json(fill: Fill, ident: Identity, *, size_in_quote: bool = False) -> dict[str, Any]:
    return {
        "entry_id": entry_id(fill),
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "trade_time": rfc3339(fill.ts),
        "trade_type": "FILL",
        "price": dec_n(fill.price),
        "size": dec_n(fill.size),
        "commission": dec_n(fill.fee),
        "product_id": fill.symbol,
        "sequence_timestamp": rfc3339(fill.ts),
        "liquidity_indicator": str(fill.liquidity),
        "size_in_quote": size_in_quote,
        "user_id": ident.user_id,
        "side": str(fill.side),
        "retail_portfolio_id": ident.portfolio_uuid,
    }


# -- accounts ---------------------------------------------------------------------------------


def account_json(bal: Balance, ident: Identity, updated_ts: int) -> dict[str, Any]:
    fiat = bal.currency in FIAT
    return {
        "uuid": ident.account_uuid(bal.currency),
        "name": f"Cash ({bal.currency})" if fiat else f"{bal.currency} Wallet",
        "currency": bal.currency,
        "available_balance": {"value": dec(bal.available), "currency": bal.currency},
        "default": True,
        "active": True,
        "created_at": EPOCH_CREATED,
        "updated_at": rfc3339(updated_ts),
        "deleted_at": None,
        "type": "ACCOUNT_TYPE_FIAT" if fiat else "ACCOUNT_TYPE_CRYPTO",
        "ready": True,
        "hold": {"value": dec(bal.hold), "currency": bal.currency},
        "retail_portfolio_id": ident.portfolio_uuid,
        "platform": "ACCOUNT_PLATFORM_CONSUMER",
    }


# -- WebSocket events -------------------------------------------------------------------------


def ws_user_order(
    order: Order,
    meta: OrderMeta | None,
    ident: Identity,
    *,
    product_type: str,
    value: Decimal,
    hold: Decimal,
) -> dict[str, Any]:
    """A user-channel order: cumulative fields only (no per-fill trade ids, no fill price);
    ``value`` and ``hold`` as for :func:`order_json`."""
    after_fees = value + order.fees if order.side == "BUY" else value - order.fees
    if not order.trade_ids and not order.status.is_terminal and order.side == "BUY":
        after_fees = hold
    status = STATUS[order.status]
    if meta and meta.cancel_requested and not order.status.is_terminal:
        status = "CANCEL_QUEUED"
    leaves = ZERO if order.status.is_terminal else order.remaining
    return {
        "avg_price": dec_n(order.avg_fill_price),
        "cancel_reason": meta.cancel_message if meta else "",
        "client_order_id": order.client_order_id,
        "completion_percentage": dec_n(completion_pct(order, meta, value)),
        "contract_expiry_type": (
            "EXPIRING" if product_type == "FUTURE" else "UNKNOWN_CONTRACT_EXPIRY_TYPE"
        ),
        "cumulative_quantity": dec_n(order.filled_size),
        "filled_value": dec_n(value),
        "leaves_quantity": dec_n(leaves),
        "limit_price": dec_n(order.limit_price) if order.limit_price is not None else "0",
        "number_of_fills": str(len(order.trade_ids)),
        "order_id": order.order_id,
        "order_side": str(order.side),
        "order_type": WS_ORDER_TYPE.get(order.order_type, "Limit"),
        "outstanding_hold_amount": dec_n(hold),
        "post_only": "true" if order.post_only else "false",
        "product_id": order.symbol,
        "product_type": product_type,
        "reject_reason": order.reject_reason if order.status is OrderStatus.REJECTED else "",
        "retail_portfolio_id": ident.portfolio_uuid,
        "risk_managed_by": (
            "MANAGED_BY_FCM" if product_type == "FUTURE" else "UNKNOWN_RISK_MANAGEMENT_TYPE"
        ),
        "status": status,
        "stop_price": dec_n(order.stop_price) if order.stop_price is not None else "0",
        "time_in_force": TIF.get(order.time_in_force, "UNKNOWN_TIME_IN_FORCE"),
        "total_fees": dec_n(order.fees),
        "total_value_after_fees": dec_n(after_fees),
        "trigger_status": trigger_status(order),
        "creation_time": rfc3339(order.created_ts),
        "end_time": rfc3339(order.end_ts) if order.end_ts else ZERO_TIME,
        "start_time": ZERO_TIME,
    }


def ws_ticker(
    symbol: str,
    stats: Stats24h,
    bid: tuple[Decimal, Decimal] | None,
    ask: tuple[Decimal, Decimal] | None,
    *,
    batch: bool = False,
) -> dict[str, str]:
    out = {
        "type": "ticker",
        "product_id": symbol,
        "price": dec(stats.last),
        "volume_24_h": dec(stats.volume),
        "low_24_h": dec(stats.low),
        "high_24_h": dec(stats.high),
        "low_52_w": dec(stats.low_52w),
        "high_52_w": dec(stats.high_52w),
        "price_percent_chg_24_h": dec(stats.pct_change),
    }
    if not batch:
        out["best_bid"] = dec(bid[0]) if bid else ""
        out["best_bid_quantity"] = dec(bid[1]) if bid else ""
        out["best_ask"] = dec(ask[0]) if ask else ""
        out["best_ask_quantity"] = dec(ask[1]) if ask else ""
    return out


def ws_l2_updates(changes: list[LevelChange], ts: int) -> list[dict[str, str]]:
    t = rfc3339(ts)
    return [
        {
            "side": "bid" if c.side == "bid" else "offer",
            "event_time": t,
            "price_level": dec(c.price),
            "new_quantity": dec(c.size),
        }
        for c in changes
    ]


def ws_trade(pr: Print) -> dict[str, str]:
    return {
        "trade_id": pr.trade_id,
        "product_id": pr.symbol,
        "price": dec(pr.price),
        "size": dec(pr.size),
        "side": pr.side,
        "time": rfc3339(pr.ts),
    }


def ws_candle(bar: Bar, symbol: str) -> dict[str, str]:
    return {
        "start": str(bar.start_ns // 1_000_000_000),
        "high": dec(bar.high),
        "low": dec(bar.low),
        "open": dec(bar.open),
        "close": dec(bar.close),
        "volume": dec(bar.volume),
        "product_id": symbol,
    }


def ws_status_product(p: Product) -> dict[str, str]:
    return {
        "product_type": "FUTURE" if _is_future(p) else "SPOT",
        "id": p.symbol,
        "base_currency": p.base,
        "quote_currency": p.quote,
        "base_increment": dec(p.base_increment),
        "quote_increment": dec(p.quote_increment),
        "display_name": f"{p.base}/{p.quote}",
        "status": "online",
        "status_message": "",
        "min_market_funds": dec(p.quote_min_size),
    }
