"""Filters: veto entries the strategy should not take. Exits (FLAT decisions) always pass,
so a filter can never keep a position open."""

from __future__ import annotations

from typing import Literal, Self

from gpt_trader.domain.decisions import Action, Decision, FilterResult
from gpt_trader.domain.market import NS
from gpt_trader.params import Params
from gpt_trader.protocols import StateView
from pydantic import Field, model_validator

__all__ = ["HoursFilter", "HoursParams", "MinConfidence", "MinConfidenceParams"]

_HOUR_NS = 3600 * NS
_DAY_NS = 24 * _HOUR_NS
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALLOWED = FilterResult(allowed=True)


class HoursParams(Params):
    """``hours``: allow entries only in UTC hours ``[start, end)`` of the given ``days``.

    ``start > end`` wraps midnight (``start=22, end=6`` is 22:00-06:00 UTC);
    ``start=0, end=24`` is the whole day. ``days`` are UTC weekdays (of the moment judged),
    e.g. ``["mon", "tue", "wed", "thu", "fri"]``; all days by default.
    """

    start: int = Field(0, ge=0, le=23, description="first allowed UTC hour (0-23)")
    end: int = Field(24, ge=0, le=24, description="first UTC hour no longer allowed (0-24)")
    days: list[Weekday] = Field(
        default_factory=lambda: list(_WEEKDAYS),
        min_length=1,
        description="UTC weekdays entries may open on (mon..sun)",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end % 24 and not (self.start == 0 and self.end == 24):
            raise ValueError(
                f"start ({self.start}) and end ({self.end}) give an ambiguous window; "
                "use start=0, end=24 for the whole day"
            )
        return self


class HoursFilter:
    """Allow LONG/SHORT decisions only when ``state.now`` falls in UTC hours [start, end)
    on one of ``days``."""

    name = "hours"

    def __init__(self, start: int = 0, end: int = 24, days: list[Weekday] | None = None) -> None:
        p = HoursParams(start=start, end=end, days=list(_WEEKDAYS) if days is None else days)
        self.start, self.end = p.start, p.end
        self.days = frozenset(_WEEKDAYS.index(d) for d in p.days)
        self._window = f"{p.start:02d}:00-{p.end:02d}:00 UTC"
        if len(self.days) < 7:
            self._window += " on " + ",".join(d for d in _WEEKDAYS if d in p.days)

    @classmethod
    def from_params(cls, params: HoursParams) -> HoursFilter:
        return cls(params.start, params.end, params.days)

    def is_open(self, ts: int) -> bool:
        """Whether ``ts`` (ns since the epoch, UTC) is inside the window."""
        # 1970-01-01 was a Thursday (weekday 3, Monday = 0).
        if (ts // _DAY_NS + 3) % 7 not in self.days:
            return False
        hour = (ts // _HOUR_NS) % 24
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end

    def allow(self, decision: Decision, state: StateView) -> FilterResult:
        if decision.action is Action.FLAT:
            return _ALLOWED
        now = state.now
        if self.is_open(now):
            return _ALLOWED
        hour, minute = (now // _HOUR_NS) % 24, (now // (60 * NS)) % 60
        day = "" if len(self.days) == 7 else f"{_WEEKDAYS[(now // _DAY_NS + 3) % 7]} "
        return FilterResult(
            allowed=False,
            reason=f"outside trading hours {self._window} (now {day}{hour:02d}:{minute:02d} UTC)",
        )


class MinConfidenceParams(Params):
    """``min_confidence``: veto entries whose decision confidence is below ``min``."""

    min: float = Field(0.5, ge=0, le=1, description="lowest confidence that may open a position")


class MinConfidence:
    """Allow LONG/SHORT decisions only with ``decision.confidence >= min``."""

    name = "min_confidence"

    def __init__(self, minimum: float = 0.5) -> None:
        self.min = MinConfidenceParams(min=minimum).min

    @classmethod
    def from_params(cls, params: MinConfidenceParams) -> MinConfidence:
        return cls(params.min)

    def allow(self, decision: Decision, state: StateView) -> FilterResult:
        if decision.action is Action.FLAT or decision.confidence >= self.min:
            return _ALLOWED
        return FilterResult(
            allowed=False,
            reason=f"confidence {decision.confidence:.2f} below minimum {self.min:.2f}",
        )
