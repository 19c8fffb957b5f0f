"""Components the research plugin registers: the all-in sizer and the in-memory recorder.

``all_in`` puts the whole cash (less room for the taker fee and the venue's rounding)
into each entry, like backtesting.py's default order size; on a future or a perpetual the cash is the
margin, so the position is as large as the leverage allows. ``research.recorder`` is the
sink a backtest or a replay reads its decisions, orders, fills and funding back from; it
keeps them in memory only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gpt_trader.components import BuildContext
from gpt_trader.domain import Action, Decision
from gpt_trader.domain.events import (
    ComponentFailed,
    DecisionMade,
    Event,
    FillReceived,
    FundingReceived,
    GuardTripped,
    OrderIntent,
    OrderRejected,
    OrderUpdated,
    TradingStateChanged,
)
from gpt_trader.domain.money import currency_increment
from gpt_trader.params import NoParams, Params
from gpt_trader.protocols import StateView
from pydantic import Field

ZERO = Decimal(0)
BPS = Decimal(10_000)


class AllInParams(Params):
    """``all_in``: spend ``fraction`` of the cash on each entry.

    ``fee_bps`` is the taker fee the sizer leaves room for (the sim broker holds the
    notional plus this fee, each rounded to the cash increment, at submit); ``buffer_bps``
    leaves extra room, e.g. for a next-open fill above the decision price. ``leverage``
    (futures and perpetuals only) is the one the orders carry, i.e. the profile's
    ``[run] leverage``.
    """

    fraction: Decimal = Field(default=Decimal(1), gt=0, le=1)
    fee_bps: Decimal = Field(default=Decimal(60), ge=0)
    buffer_bps: Decimal = Field(default=Decimal(0), ge=0)
    leverage: Decimal = Field(default=Decimal(1), ge=1)


class AllIn:
    """Size = (cash * fraction - two cash increments) / (price * (1 + fee) * (1 + buffer)).

    Two increments (cents for USD): the venue rounds the fee up and settles the value and
    realised P&L rounded, so its cash can sit half a cent under the kernel's exact books.

    On a future or a perpetual the cash buys margin, not the notional: the venue holds
    ``rate`` of the notional, the larger of the product's (overnight) initial margin rate
    and 1 / leverage, plus the fee on the notional, so ``1 + fee`` becomes ``rate + fee``
    and the price is per contract (times the contract size).

    The price is the last price the kernel saw (a bar's close). The kernel rounds the size
    down to the base increment. Nothing is sized without cash or a price.
    """

    name = "all_in"

    def __init__(self, params: AllInParams) -> None:
        self.fraction = params.fraction
        self.fee = params.fee_bps / BPS
        self.buffer = 1 + params.buffer_bps / BPS
        self.leverage = params.leverage

    def size(self, decision: Decision, state: StateView) -> Decimal:
        price = state.last_price(decision.symbol)
        if price is None or price <= 0:
            return ZERO
        product = state.products.get(decision.symbol)
        reserve = 2 * currency_increment(product.quote) if product is not None else ZERO
        spend = state.cash * self.fraction - reserve
        if spend <= 0:
            return ZERO
        terms = product.derivative if product is not None else None
        if product is None or terms is None:
            return spend / (price * (1 + self.fee) * self.buffer)
        sign = 1 if decision.action is Action.LONG else -1
        rate = max(terms.initial_rate(sign, overnight=True), 1 / self.leverage)
        return spend / (price * product.contract_size * (rate + self.fee) * self.buffer)


def make_all_in(params: AllInParams, ctx: BuildContext) -> AllIn:
    return AllIn(params)


class Recorder:
    """A sink that keeps what a backtest reports: decisions, intents, rejections, fills,
    funding payments, order updates, guard trips, state changes and component failures,
    in order.

    ``kernel`` may be set after assembly; each kept event is then paired with the number of
    market events the kernel had processed when it happened (its position in the market
    stream), which is what a replay lines decisions up by.
    """

    def __init__(self) -> None:
        self.kernel: Any = None
        self.decisions: list[tuple[int, DecisionMade]] = []
        self.intents: list[OrderIntent] = []
        self.rejections: list[OrderRejected] = []
        self.fills: list[FillReceived] = []
        self.funding: list[FundingReceived] = []
        self.updates: list[OrderUpdated] = []
        self.trips: list[GuardTripped] = []
        self.state_changes: list[TradingStateChanged] = []
        self.failures: list[ComponentFailed] = []
        self._buckets: dict[type, list[Any]] = {
            FillReceived: self.fills,
            FundingReceived: self.funding,
            OrderIntent: self.intents,
            OrderUpdated: self.updates,
            OrderRejected: self.rejections,
            GuardTripped: self.trips,
            TradingStateChanged: self.state_changes,
            ComponentFailed: self.failures,
        }

    def handle(self, event: Event) -> None:
        # One dict lookup per event: the sink sees every event of a backtest's hot path.
        kind = event.__class__
        if kind is DecisionMade:
            at = self.kernel.events_processed if self.kernel is not None else -1
            self.decisions.append((at, event))  # type: ignore[arg-type]
            return
        bucket = self._buckets.get(kind)
        if bucket is not None:
            bucket.append(event)


def make_recorder(params: NoParams, ctx: BuildContext) -> Recorder:
    return Recorder()
