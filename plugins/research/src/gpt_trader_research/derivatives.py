"""What a backtest of a future or a perpetual reports besides P&L: funding, margin calls,
liquidations and expiry settlements.

Funding, liquidations and settlements are what the kernel received: its funding payments,
and the fills of the venue's own orders (tagged ``LIQUIDATION`` / ``SETTLEMENT``), with the
P&L each realised. Margin levels only the venue knows: :class:`MarginWatch` reads them from
the simulated exchange after every bar that ends with a position open.

Margin level (Coinbase's ``MARGIN_LEVEL_TYPE_*``), from the liquidation buffer = equity -
maintenance margin, as a percentage of the maintenance margin: BASE at 50 % or more,
WARNING from 20 %, DANGER above 0, LIQUIDATION at 0 or below. A margin pool is measured
on its cross positions, an isolated position on its own margin. A **margin call** is a move
from BASE to WARNING or worse; it lasts until the level is back at BASE or the position is
closed, and reports the worst level and the lowest buffer it reached. A price that gaps
through the liquidation price within one bar liquidates without a margin call first.

Figures are reported as a backtest reports them (:class:`~gpt_trader_research.results.Units`):
prices and sizes on the product's increments, money on the pool currency's, each one its
exact value rounded half-even, so a printed net can differ from the printed paid and
received by a cent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

from gpt_trader.domain import LIQUIDATION_TAG, SETTLEMENT_TAG, MarginType, Product, Side
from gpt_trader.domain.events import FillReceived
from gpt_trader.engine.kernel import Kernel
from gpt_trader.sim.exchange import SimExchange

from gpt_trader_research.components import Recorder
from gpt_trader_research.results import Units, iso

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class MarginLevel(IntEnum):
    BASE = 0
    WARNING = 1
    DANGER = 2
    LIQUIDATION = 3


def margin_level(buffer: Decimal, maintenance: Decimal) -> tuple[MarginLevel, Decimal]:
    """The level and the buffer in % of the maintenance margin (BASE when there is none)."""
    if maintenance <= 0:
        return MarginLevel.BASE, ZERO
    pct = buffer / maintenance * HUNDRED
    if pct >= 50:
        return MarginLevel.BASE, pct
    if pct >= 20:
        return MarginLevel.WARNING, pct
    if pct > 0:
        return MarginLevel.DANGER, pct
    return MarginLevel.LIQUIDATION, pct


@dataclass
class MarginCall:
    """One spell below BASE of a pool ("INTX", "FCM") or an isolated position (its symbol)."""

    ts: int
    subject: str
    level: MarginLevel
    lowest_buffer_pct: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "time": iso(self.ts),
            "subject": self.subject,
            "worst_level": self.level.name,
            "lowest_buffer_pct": str(self.lowest_buffer_pct.quantize(Decimal("0.01"))),
        }


class MarginWatch:
    """Margin levels after every bar: wrap the bars with :meth:`watch`.

    The replay driver asks for the next bar once the kernel has handled the last one, so
    what is read then is the state after that bar. Nothing is read while the kernel's
    position in ``symbol`` is flat, which keeps a backtest that is mostly out of the
    market as fast as a spot one.
    """

    def __init__(self, exchange: SimExchange, kernel: Kernel, symbol: str) -> None:
        self.exchange = exchange
        self.position = kernel.ledger.position(symbol)
        self.calls: list[MarginCall] = []
        self._open: dict[str, MarginCall] = {}

    def watch(self, bars: Iterator[Any]) -> Iterator[Any]:
        for bar in bars:
            yield bar
            self.observe()

    def observe(self) -> None:
        if self.position.size == 0:
            self._open.clear()
            return
        deriv = self.exchange.derivatives
        ts = self.exchange.last_ts
        # Each pool's AccountSummary.liquidation_buffer (cash + unrealised - maintenance of
        # its cross positions), from the position views: a summary also measures both
        # margin windows, which would double the cost of a backtest bar.
        cross: dict[str, tuple[Decimal, Decimal]] = {}
        seen: set[str] = set()
        for view in deriv.open_positions(ts):
            if view.margin_type is MarginType.ISOLATED:
                buffer = view.isolated_margin + view.unrealized_pnl - view.maintenance_margin
                self._see(view.symbol, ts, buffer, view.maintenance_margin)
                seen.add(view.symbol)
                continue
            upnl, mm = cross.get(view.account, (ZERO, ZERO))
            cross[view.account] = (upnl + view.unrealized_pnl, mm + view.maintenance_margin)
        for account, (upnl, mm) in cross.items():
            self._see(account, ts, deriv.cash(account) + upnl - mm, mm)
            seen.add(account)
        for gone in self._open.keys() - seen:
            del self._open[gone]

    def _see(self, subject: str, ts: int, buffer: Decimal, maintenance: Decimal) -> None:
        level, pct = margin_level(buffer, maintenance)
        call = self._open.get(subject)
        if level is MarginLevel.BASE:
            self._open.pop(subject, None)
        elif call is None:
            call = self._open[subject] = MarginCall(ts, subject, level, pct)
            self.calls.append(call)
        else:
            call.level = max(call.level, level)
            call.lowest_buffer_pct = min(call.lowest_buffer_pct, pct)


def _venue_fills(recorder: Recorder, kernel: Kernel, tag: str) -> list[FillReceived]:
    orders = kernel.orders
    return [
        e
        for e in recorder.fills
        if (order := orders.get(e.fill.client_order_id)) is not None and order.tag == tag
    ]


def _close_json(event: FillReceived, units: Units) -> dict[str, Any]:
    fill = event.fill
    return {
        "time": iso(fill.ts),
        # the position closed: a SELL closes a long
        "size": units.size(fill.size if fill.side is Side.SELL else -fill.size),
        "price": units.price(fill.price),
        "realized_pnl": units.cash(event.realized_pnl),
        "fee": units.cash(fill.fee),
    }


def derivatives_report(
    product: Product,
    kernel: Kernel,
    recorder: Recorder,
    watch: MarginWatch,
) -> dict[str, Any]:
    """The ``derivatives`` part of a backtest's JSON (see the module docstring)."""
    u = Units.of(product)
    amounts = [e.payment.amount for e in recorder.funding]
    paid = -sum((a for a in amounts if a < 0), ZERO)
    received = sum((a for a in amounts if a > 0), ZERO)
    liquidations = _venue_fills(recorder, kernel, LIQUIDATION_TAG)
    worst = max((c.level for c in watch.calls), default=MarginLevel.BASE)
    parts = kernel.parts
    return {
        "product_type": product.product_type.value,
        "currency": product.quote,
        "contract_size": str(product.contract_size),
        "leverage": None if parts.leverage is None else str(parts.leverage),
        "margin_type": None if parts.margin_type is None else parts.margin_type.value,
        "funding": {
            "payments": len(amounts),
            "paid": u.cash(paid),
            "received": u.cash(received),
            "net": u.cash(received - paid),
        },
        "margin_calls": {
            "count": len(watch.calls),
            "worst_level": worst.name,
            "calls": [c.to_json() for c in watch.calls],
        },
        "liquidations": {
            "count": len(liquidations),
            "realized_pnl": u.cash(sum((e.realized_pnl for e in liquidations), ZERO)),
            "fees": u.cash(sum((e.fill.fee for e in liquidations), ZERO)),
            "fills": [_close_json(e, u) for e in liquidations],
        },
        "settlements": [_close_json(e, u) for e in _venue_fills(recorder, kernel, SETTLEMENT_TAG)],
    }
