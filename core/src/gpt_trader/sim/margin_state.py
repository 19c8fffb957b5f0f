"""The derivatives ledger's records as plain JSON types (Decimals as exact strings), for
the exchange's state file (:meth:`~gpt_trader.sim.margin.DerivativesLedger.to_state`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gpt_trader.domain import FundingPayment, MarginType, Position
from gpt_trader.sim.margin_records import OrderTerms, PositionBook, Settlement
from gpt_trader.sim.state import dec, need_dec, undec


def book_to_json(b: PositionBook) -> dict[str, Any]:
    return {
        "size": str(b.position.size),
        "avg_entry_price": str(b.position.avg_entry_price),
        "realized_pnl": str(b.position.realized_pnl),
        "fees": str(b.position.fees),
        "funding": str(b.position.funding),
        "mark_price": str(b.position.mark_price),
        "margin_type": b.margin_type.value,
        "leverage": dec(b.leverage),
        "isolated_margin": str(b.isolated_margin),
        "day": b.day,
        "daily_realized": str(b.daily_realized),
    }


def book_from_json(symbol: str, d: dict[str, Any], contract_size: Decimal) -> PositionBook:
    pos = Position(
        symbol,
        size=need_dec(d["size"]),
        avg_entry_price=need_dec(d["avg_entry_price"]),
        realized_pnl=need_dec(d["realized_pnl"]),
        fees=need_dec(d["fees"]),
        funding=need_dec(d["funding"]),
        mark_price=need_dec(d["mark_price"]),
        contract_size=contract_size,
    )
    return PositionBook(
        pos,
        MarginType(d["margin_type"]),
        undec(d.get("leverage")),
        need_dec(d["isolated_margin"]),
        int(d["day"]),
        need_dec(d["daily_realized"]),
    )


def order_terms_to_json(t: OrderTerms) -> dict[str, Any]:
    return {
        "margin_type": None if t.margin_type is None else t.margin_type.value,
        "leverage": dec(t.leverage),
        "reduce_only": t.reduce_only,
        "price": str(t.price),
    }


def order_terms_from_json(t: dict[str, Any]) -> OrderTerms:
    return OrderTerms(
        None if t["margin_type"] is None else MarginType(t["margin_type"]),
        undec(t.get("leverage")),
        bool(t["reduce_only"]),
        need_dec(t["price"]),
    )


def funding_to_json(p: FundingPayment) -> dict[str, Any]:
    return {
        "payment_id": p.payment_id,
        "symbol": p.symbol,
        "ts": p.ts,
        "rate": str(p.rate),
        "mark_price": str(p.mark_price),
        "size": str(p.size),
        "contract_size": str(p.contract_size),
        "amount": str(p.amount),
        "currency": p.currency,
    }


def funding_from_json(p: dict[str, Any]) -> FundingPayment:
    return FundingPayment(
        str(p["payment_id"]),
        str(p["symbol"]),
        int(p["ts"]),
        need_dec(p["rate"]),
        need_dec(p["mark_price"]),
        need_dec(p["size"]),
        need_dec(p["contract_size"]),
        need_dec(p["amount"]),
        str(p["currency"]),
    )


def settlement_to_json(s: Settlement) -> dict[str, Any]:
    return {
        "settlement_id": s.settlement_id,
        "symbol": s.symbol,
        "ts": s.ts,
        "price": str(s.price),
        "size": str(s.size),
        "realized_pnl": str(s.realized_pnl),
        "currency": s.currency,
        "trade_id": s.trade_id,
    }


def settlement_from_json(s: dict[str, Any]) -> Settlement:
    return Settlement(
        str(s["settlement_id"]),
        str(s["symbol"]),
        int(s["ts"]),
        need_dec(s["price"]),
        need_dec(s["size"]),
        need_dec(s["realized_pnl"]),
        str(s["currency"]),
        str(s["trade_id"]),
    )
