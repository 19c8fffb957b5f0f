"""Filters: veto entries the strategy should not take. Exits (FLAT decisions) always pass,
so a filter can never keep a position open."""

from __future__ import annotations

from typing import Self

from gpt_trader.components import Params
from gpt_trader.domain.decisions import Action, Decision, FilterResult
from gpt_trader.domain.market import NS
from gpt_trader.protocols import StateView
from pydantic import Field, model_validator

__all__ = ["HoursFilter", "HoursParams", "MinConfidence", "MinConfidenceParams"]

_HOUR_NS = 3600 * NS
_ALLOWED = FilterResult(allowed=True)


class HoursParams(Params):
    """``hours``: allow entries only in UTC hours ``[start, end)``.

    ``start > end`` wraps midnight (``start=22, end=6`` is 22:00-06:00 UTC);
    ``start=0, end=24`` is the whole day.
    """

    start: int = Field(0, ge=0, le=23, description="first allowed UTC hour (0-23)")
    end: int = Field(24, ge=0, le=24, description="first UTC hour no longer allowed (0-24)")

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end % 24 and not (self.start == 0 and self.end == 24):
            raise ValueError(
                f"start ({self.start}) and end ({self.end}) give an ambiguous window; "
                "use start=0, end=24 for the whole day"
            )
        return self


class HoursFilter:
    """Allow LONG/SHORT decisions only when ``state.now`` falls in UTC hours [start, end)."""

    name = "hours"

    def __init__(self, start: int = 0, end: int = 24) -> None:
        p = HoursParams(start=start, end=end)
        self.start, self.end = p.start, p.end
        self._window = f"{p.start:02d}:00-{p.end:02d}:00 UTC"

    @classmethod
    def from_params(cls, params: HoursParams) -> HoursFilter:
        return cls(params.start, params.end)

    def is_open(self, ts: int) -> bool:
        """Whether ``ts`` (ns since the epoch, UTC) is inside the window."""
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
        return FilterResult(
            allowed=False,
            reason=f"outside trading hours {self._window} (now {hour:02d}:{minute:02d} UTC)",
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
