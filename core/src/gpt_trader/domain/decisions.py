"""What strategies say, what the kernel decides, and what guards answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum


class Action(IntEnum):
    """Desired exposure: the target direction, not an order."""

    SHORT = -1
    FLAT = 0
    LONG = 1


@dataclass(frozen=True, slots=True)
class SignalValue:
    """One signal's opinion at one event: desired direction and confidence in [0, 1]."""

    name: str
    symbol: str
    ts: int
    action: Action
    strength: float = 1.0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """The voter's combined view for one symbol."""

    symbol: str
    ts: int
    action: Action
    confidence: float = 1.0
    votes: tuple[SignalValue, ...] = ()
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class FilterResult:
    allowed: bool
    scale: float = 1.0
    reason: str = ""


class Severity(IntEnum):
    OK = 0
    WARN = 1
    RECOVERABLE = 2
    CRITICAL = 3


class TradingState(IntEnum):
    """Ordered by strictness: the kernel only moves up without an operator action."""

    ACTIVE = 0
    REDUCE_ONLY = 1
    HALTED = 2


@dataclass(frozen=True, slots=True)
class Reduction:
    """A runtime guard's request to cut a position by ``size`` (contracts or base units)
    with a reduce-only market order; the kernel places it when no order is working on
    the symbol and trading is not halted."""

    symbol: str
    size: Decimal


@dataclass(frozen=True, slots=True)
class GuardResult:
    """A guard's answer. ``action`` says which state a CRITICAL result moves the kernel to."""

    guard: str
    severity: Severity = Severity.OK
    message: str = ""
    value: Decimal | float | None = None
    threshold: Decimal | float | None = None
    action: TradingState = TradingState.HALTED
    context: dict[str, str] = field(default_factory=dict)
    reduce: tuple[Reduction, ...] = ()

    @property
    def ok(self) -> bool:
        return self.severity <= Severity.WARN

    @classmethod
    def passed(cls, guard: str) -> GuardResult:
        return cls(guard=guard)


@dataclass(frozen=True, slots=True)
class GuardTrip:
    """A guard result that stopped or tightened something, as the run reports it: when,
    at which stage (``pre_trade`` or ``runtime``) and for which symbol ("" for the whole
    portfolio)."""

    ts: int
    stage: str
    symbol: str
    result: GuardResult
