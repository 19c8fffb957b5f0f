"""Domain events: everything the kernel does, as the sinks (store, metrics, TUI) see it.

Each event has a stable ``type`` string, the key it is stored under in the event log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from gpt_trader.domain.decisions import Decision, GuardResult, SignalValue, TradingState
from gpt_trader.domain.market import BookUpdate, Candle, Ticker, Trade
from gpt_trader.domain.orders import Fill, Order, OrderRequest
from gpt_trader.domain.portfolio import FundingPayment, InventoryAdjustment


@dataclass(frozen=True, slots=True)
class Event:
    type: ClassVar[str] = "event"
    ts: int


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    type: ClassVar[str] = "run.started"
    run_id: str
    profile: str
    mode: str
    resumed_from: str = ""


@dataclass(frozen=True, slots=True)
class RunStopped(Event):
    type: ClassVar[str] = "run.stopped"
    run_id: str
    reason: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MarketData(Event):
    """A market event, recorded so that a session can be replayed decision for decision."""

    type: ClassVar[str] = "market"
    event: Candle | Ticker | Trade | BookUpdate


@dataclass(frozen=True, slots=True)
class SignalEmitted(Event):
    type: ClassVar[str] = "signal"
    signal: SignalValue


@dataclass(frozen=True, slots=True)
class DecisionMade(Event):
    type: ClassVar[str] = "decision"
    decision: Decision
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class OrderIntent(Event):
    """Recorded before the broker is called: the exactly-once anchor."""

    type: ClassVar[str] = "order.intent"
    request: OrderRequest


@dataclass(frozen=True, slots=True)
class OrderUpdated(Event):
    type: ClassVar[str] = "order.updated"
    order: Order


@dataclass(frozen=True, slots=True)
class OrderRejected(Event):
    """A request stopped before or at the venue (guard, validation, venue rejection)."""

    type: ClassVar[str] = "order.rejected"
    request: OrderRequest
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class FillReceived(Event):
    type: ClassVar[str] = "fill"
    fill: Fill
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class FundingReceived(Event):
    """A perpetual's funding payment (``amount`` < 0: paid), exactly once by payment id."""

    type: ClassVar[str] = "funding"
    payment: FundingPayment


@dataclass(frozen=True, slots=True)
class EquityMarked(Event):
    """The kernel's cash and equity as of ``ts``, on ``currency``'s increment.

    A running bot records it at start and then, while either moves, at most every
    ``[run] equity_every_s`` of its clock, so a dashboard reading the store shows the
    equity of a bot that has not finished (a finished run's is in its summary).
    """

    type: ClassVar[str] = "equity.marked"
    cash: Decimal
    equity: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class InventoryAdjusted(Event):
    """The bot's spot inventory changed other than by its fills: holdings adopted by the
    profile, or shrunk to what the account still holds. ``inventory`` is the bot's size
    after it; ``account`` what the account held (None when not known)."""

    type: ClassVar[str] = "inventory.adjusted"
    adjustment: InventoryAdjustment
    inventory: Decimal
    account: Decimal | None = None


@dataclass(frozen=True, slots=True)
class GuardTripped(Event):
    type: ClassVar[str] = "guard.trip"
    result: GuardResult
    stage: str
    state_after: TradingState


@dataclass(frozen=True, slots=True)
class TradingStateChanged(Event):
    type: ClassVar[str] = "trading_state"
    old: TradingState
    new: TradingState
    reason: str
    operator: bool = False


@dataclass(frozen=True, slots=True)
class EntriesPaused(Event):
    """New positions held back (an operator pause, a resync of stale data) or let go again."""

    type: ClassVar[str] = "entries_paused"
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionStatus(Event):
    """A venue connection went down or came back (``status``: ``connected`` or
    ``disconnected``); the ops plugin's metrics and alerts read it by its type."""

    type: ClassVar[str] = "connection.status"
    component: str
    status: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ComponentFailed(Event):
    type: ClassVar[str] = "component.failed"
    component: str
    error: str


@dataclass(frozen=True, slots=True)
class Reconciled(Event):
    """A difference between the store and the venue, and what was done about it."""

    type: ClassVar[str] = "reconciled"
    client_order_id: str
    store_status: str
    venue_status: str
    action: str


@dataclass(frozen=True, slots=True)
class CancelUnconfirmed(Event):
    """The kernel gave up on a cancel the venue neither confirmed nor reported the order
    over for, after ``attempts`` sends since ``since_ts``: the order is flagged for
    reconciliation and no new entry goes on ``symbol``. ``resolved``: the venue has since
    reported the order over, and the flag is cleared."""

    type: ClassVar[str] = "cancel.unconfirmed"
    client_order_id: str
    symbol: str
    attempts: int
    since_ts: int
    resolved: bool = False


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for a domain value: Decimals as strings, enums by name."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    convert = _CONVERTERS.get(cls)
    if convert is None:
        convert = _CONVERTERS[cls] = _converter(cls)
    return convert(value)


# The store encodes every event the kernel emits, so how a type converts is decided once
# per type (isinstance chains and dataclasses.is_dataclass per value cost more than the
# JSON encoding itself).
_PLAIN = frozenset({str, int, float, bool, type(None)})
_CONVERTERS: dict[type, Callable[[Any], Any]] = {}


def _converter(cls: type) -> Callable[[Any], Any]:
    if issubclass(cls, Decimal):
        return _decimal
    if issubclass(cls, Enum):
        return _enum_converter(cls)
    if dataclasses.is_dataclass(cls) and not issubclass(cls, type):
        return _dataclass_converter(cls)
    if issubclass(cls, dict):
        return _dict
    if issubclass(cls, list | tuple):
        return _list
    return _same


def _same(value: Any) -> Any:
    return value


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _dict(value: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): to_jsonable(v) for k, v in value.items()}


def _list(value: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [to_jsonable(v) for v in value]


def _enum_json(member: Enum) -> Any:
    return member.name if isinstance(member.value, int) else member.value


def _enum_converter(cls: type[Enum]) -> Callable[[Enum], Any]:
    # A member's ``.value`` goes through a descriptor; a table of the members is a dict hit.
    table: dict[Enum, Any] = {member: _enum_json(member) for member in cls}

    def convert(member: Enum) -> Any:
        found = table.get(member, _MISSING)
        return _enum_json(member) if found is _MISSING else found  # a Flag's combination

    return convert


_MISSING = object()


def _dataclass_converter(cls: type) -> Callable[[Any], dict[str, Any]]:
    names = _field_names(cls)
    kind = getattr(cls, "type", None)
    is_event = issubclass(cls, Event)

    def convert(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            field_value = getattr(value, name)
            out[name] = field_value if type(field_value) in _PLAIN else to_jsonable(field_value)
        if not is_event:
            out.setdefault("kind", cls.__name__)
        elif isinstance(kind, str):
            out["type"] = kind
        return out

    return convert


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, looked up once per class (the store encodes every event)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names
