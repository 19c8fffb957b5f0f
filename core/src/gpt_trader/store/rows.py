"""Rows of the store's tables as domain objects: one decoder per table, shared by the
store and by read-only readers of the same file (the TUI)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from gpt_trader.domain import (
    Fill,
    FundingPayment,
    InventoryAdjustment,
    Liquidity,
    Position,
    Product,
    ProductType,
    Side,
)


class Row(Protocol):
    """A dict or a ``sqlite3.Row``: anything indexed by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run. ``stopped_ts`` is None while it runs, and forever if the process died."""

    run_id: str
    profile: str
    mode: str
    started_ts: int
    stopped_ts: int | None
    stop_reason: str
    summary: dict[str, Any]
    resumed_from: str

    @property
    def finished(self) -> bool:
        return self.stopped_ts is not None


def run_from_row(r: Row) -> RunRow:
    return RunRow(
        run_id=r["run_id"],
        profile=r["profile"],
        mode=r["mode"],
        started_ts=r["started_ts"],
        stopped_ts=r["stopped_ts"],
        stop_reason=r["stop_reason"],
        summary=json.loads(r["summary"] or "{}"),
        resumed_from=r["resumed_from"],
    )


def fill_from_row(r: Row) -> Fill:
    return Fill(
        trade_id=r["trade_id"],
        client_order_id=r["client_order_id"],
        order_id=r["order_id"],
        symbol=r["symbol"],
        side=Side(r["side"]),
        price=Decimal(r["price"]),
        size=Decimal(r["size"]),
        fee=Decimal(r["fee"]),
        liquidity=Liquidity(r["liquidity"]),
        ts=r["ts"],
    )


def position_from_row(r: Row) -> Position:
    return Position(
        symbol=r["symbol"],
        size=Decimal(r["size"]),
        avg_entry_price=Decimal(r["avg_entry_price"]),
        realized_pnl=Decimal(r["realized_pnl"]),
        fees=Decimal(r["fees"]),
        funding=Decimal(r["funding"]),
        mark_price=Decimal(r["mark_price"]),
        contract_size=Decimal(r["contract_size"]),
        liquidation_price=_opt(r["liquidation_price"]),
        leverage=_opt(r["leverage"]),
        initial_margin=_opt(r["initial_margin"]) or Decimal(0),
    )


def _opt(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def funding_from_row(r: Row) -> FundingPayment:
    return FundingPayment(
        payment_id=r["payment_id"],
        symbol=r["symbol"],
        ts=r["ts"],
        rate=Decimal(r["rate"]),
        mark_price=Decimal(r["mark_price"]),
        size=Decimal(r["size"]),
        contract_size=Decimal(r["contract_size"]),
        amount=Decimal(r["amount"]),
        currency=r["currency"],
    )


def adjustment_from_row(r: Row) -> InventoryAdjustment:
    return InventoryAdjustment(
        ts=r["ts"],
        symbol=r["symbol"],
        kind=r["kind"],
        size=Decimal(r["size"]),
        price=Decimal(r["price"]),
        reason=r["reason"],
    )


def product_from_row(r: Row) -> Product:
    """A recorded product: its increments and limits (not its derivative terms)."""
    return Product(
        symbol=r["symbol"],
        base=r["base"],
        quote=r["quote"],
        base_increment=Decimal(r["base_increment"]),
        price_increment=Decimal(r["price_increment"]),
        base_min_size=Decimal(r["base_min_size"]),
        base_max_size=Decimal(r["base_max_size"]),
        quote_increment=Decimal(r["quote_increment"]),
        quote_min_size=Decimal(r["quote_min_size"]),
        product_type=ProductType(r["product_type"]),
        contract_size=Decimal(r["contract_size"]),
    )
