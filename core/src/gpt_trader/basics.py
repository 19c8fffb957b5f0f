"""Core's own components: a consensus voter, fixed and notional sizers, a log sink.

:mod:`gpt_trader.builtin` registers them; this module loads when a profile builds one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from gpt_trader.domain import Decision, OrderStatus, SignalValue
from gpt_trader.domain.events import (
    ComponentFailed,
    DecisionMade,
    Event,
    FillReceived,
    GuardTripped,
    InventoryAdjusted,
    OrderRejected,
    OrderUpdated,
    Reconciled,
    SignalEmitted,
    TradingStateChanged,
)
from gpt_trader.params import Params
from gpt_trader.protocols import StateView


class Consensus:
    """An action only when every signal votes for it; otherwise no decision, so positions
    are held as they are (no signals: never a decision)."""

    name = "consensus"

    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        actions = {vote.action for vote in votes}
        if len(actions) != 1:
            return None
        return Decision(symbol, ts, actions.pop(), votes=tuple(votes))


class FixedSizeParams(Params):
    """Base size per entry: ``sizes`` per symbol, else ``size``, else ``notional`` / price."""

    size: Decimal | None = Field(default=None, gt=0)
    sizes: dict[str, Annotated[Decimal, Field(gt=0)]] = Field(default_factory=dict)
    notional: Decimal | None = Field(default=None, gt=0)


class FixedSize:
    def __init__(self, params: FixedSizeParams) -> None:
        self.params = params

    def size(self, decision: Decision, state: StateView) -> Decimal:
        p = self.params
        if decision.symbol in p.sizes:
            return p.sizes[decision.symbol]
        if p.size is not None:
            return p.size
        if p.notional is not None:
            price = state.last_price(decision.symbol)
            if price:
                return p.notional / price
        return Decimal(0)


class NotionalParams(Params):
    notional: Decimal = Field(gt=0)


class NotionalSize:
    def __init__(self, params: NotionalParams) -> None:
        self.notional = params.notional

    def size(self, decision: Decision, state: StateView) -> Decimal:
        price = state.last_price(decision.symbol)
        return self.notional / price if price else Decimal(0)


# Statuses whose line says why (the reason an order keeps would mislead on a later fill).
_EXPLAINED = frozenset(
    {OrderStatus.UNKNOWN, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
)


class LogParams(Params):
    signals: bool = False


class LogSink:
    """Human-readable lines for what matters: orders, fills, trips, state changes."""

    def __init__(self, params: LogParams) -> None:
        self.log = logging.getLogger("gpt_trader.events")
        self.signals = params.signals
        # The kernel re-announces an order whenever the venue reports it (the ack after
        # the user channel, a lookup of an UNKNOWN one); a line is for a new status only.
        self._order_status: dict[str, OrderStatus] = {}

    def handle(self, event: Event) -> None:
        log = self.log
        if isinstance(event, FillReceived):
            f = event.fill
            log.info(
                "fill %s %s %s @ %s fee %s (%s)",
                f.symbol,
                f.side,
                f.size,
                f.price,
                f.fee,
                f.trade_id,
            )
        elif isinstance(event, OrderUpdated):
            o = event.order
            if self._order_status.get(o.client_order_id) is o.status:
                return
            self._order_status[o.client_order_id] = o.status
            why = f": {o.reject_reason}" if o.reject_reason and o.status in _EXPLAINED else ""
            log.info(
                "order %s %s %s %s %s%s", o.client_order_id, o.symbol, o.side, o.size, o.status, why
            )
        elif isinstance(event, OrderRejected):
            log.warning(
                "rejected %s: %s (%s)", event.request.client_order_id, event.reason, event.source
            )
        elif isinstance(event, GuardTripped):
            r = event.result
            log.warning("guard %s %s: %s", r.guard, r.severity.name, r.message)
        elif isinstance(event, TradingStateChanged):
            log.warning("trading state %s -> %s: %s", event.old.name, event.new.name, event.reason)
        elif isinstance(event, InventoryAdjusted):
            a = event.adjustment
            account = "" if event.account is None else f"; the account holds {event.account}"
            log.warning(
                "inventory %s %s by %s at %s (%s): bot inventory now %s%s",
                a.symbol,
                a.kind,
                a.size,
                a.price,
                a.reason,
                event.inventory,
                account,
            )
        elif isinstance(event, ComponentFailed):
            log.error("component %s failed: %s", event.component, event.error)
        elif isinstance(event, Reconciled):
            log.info(
                "reconciled %s: store %s, venue %s -> %s",
                event.client_order_id,
                event.store_status,
                event.venue_status,
                event.action,
            )
        elif isinstance(event, DecisionMade):
            log.debug(
                "decision %s %s: %s %s",
                event.decision.symbol,
                event.decision.action.name,
                event.outcome,
                event.detail,
            )
        elif isinstance(event, SignalEmitted) and self.signals:
            v = event.signal
            log.debug("signal %s %s %s", v.name, v.symbol, v.action.name)
