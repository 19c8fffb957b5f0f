"""Voters: how the latest values of several signals become one decision for a symbol.

Every voter gets each signal's latest :class:`SignalValue` for the symbol and returns a
:class:`Decision` carrying all the votes, or ``None`` when there are no votes at all.
``confidence`` is always the share (by count, weight or strength) of the votes that agree
with the decided action, in [0, 1]. With a single vote (and a positive weight/strength),
every voter returns that vote's action.
"""

from __future__ import annotations

from collections.abc import Sequence

from gpt_trader.domain.decisions import Action, Decision, SignalValue
from gpt_trader.params import Params
from pydantic import Field, NonNegativeFloat

__all__ = [
    "ConfidenceWeighted",
    "ConfidenceWeightedParams",
    "Majority",
    "Unanimous",
    "Weighted",
    "WeightedParams",
]


class Majority:
    """The action with the most votes wins; a tie for the most votes gives FLAT.

    ``confidence`` = votes for the decided action / all votes (so a LONG-vs-SHORT tie with
    no FLAT vote is FLAT with confidence 0).
    """

    name = "majority"

    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        if not votes:
            return None
        if len(votes) == 1:  # one signal (the common profile): its vote, decided at once
            return Decision(symbol, ts, votes[0].action, 1.0, votes=tuple(votes))
        counts = {Action.LONG: 0, Action.FLAT: 0, Action.SHORT: 0}
        for vote in votes:
            counts[vote.action] += 1
        top = max(counts.values())
        leaders = [action for action, count in counts.items() if count == top]
        action = leaders[0] if len(leaders) == 1 else Action.FLAT
        return Decision(symbol, ts, action, counts[action] / len(votes), votes=tuple(votes))


class Unanimous:
    """An action only when every vote agrees; otherwise FLAT.

    ``confidence`` is 1 when unanimous, else the share of FLAT votes.
    """

    name = "unanimous"

    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        if not votes:
            return None
        first = votes[0].action
        if all(vote.action is first for vote in votes):
            return Decision(symbol, ts, first, 1.0, votes=tuple(votes))
        flat = sum(1 for vote in votes if vote.action is Action.FLAT)
        return Decision(symbol, ts, Action.FLAT, flat / len(votes), votes=tuple(votes))


def _score_decision(
    symbol: str,
    ts: int,
    votes: Sequence[SignalValue],
    weights: Sequence[float],
    threshold: float,
) -> Decision:
    """``score = sum(w * action) / sum(w)`` in [-1, 1]: LONG above ``threshold``, SHORT below
    ``-threshold``, else FLAT; confidence = weight share of the votes for the decided action."""
    total = sum(weights)
    if total <= 0.0:
        return Decision(symbol, ts, Action.FLAT, 0.0, votes=tuple(votes))
    score = sum(w * int(v.action) for w, v in zip(weights, votes, strict=True)) / total
    if score > threshold:
        action = Action.LONG
    elif score < -threshold:
        action = Action.SHORT
    else:
        action = Action.FLAT
    agree = sum(w for w, v in zip(weights, votes, strict=True) if v.action is action)
    return Decision(symbol, ts, action, agree / total, votes=tuple(votes))


class WeightedParams(Params):
    """``weighted``: per-signal ``weights`` by signal name, and the decision ``threshold``."""

    weights: dict[str, NonNegativeFloat] = Field(
        default_factory=dict, description="weight (>= 0) per signal name"
    )
    default_weight: float = Field(1.0, ge=0, description="weight of signals not in `weights`")
    threshold: float = Field(
        0.0, ge=0, lt=1, description="act when |weighted score| exceeds this (score in [-1, 1])"
    )


class Weighted:
    """Weighted vote: ``score = sum(weight * action) / sum(weight)``, actions as -1/0/+1.

    LONG when ``score > threshold``, SHORT when ``score < -threshold``, FLAT otherwise
    (also when every present vote has weight 0).
    """

    name = "weighted"

    def __init__(
        self,
        weights: dict[str, float] | None = None,
        *,
        default_weight: float = 1.0,
        threshold: float = 0.0,
    ) -> None:
        p = WeightedParams(
            weights=weights or {}, default_weight=default_weight, threshold=threshold
        )
        self.weights = dict(p.weights)
        self.default_weight = p.default_weight
        self.threshold = p.threshold

    @classmethod
    def from_params(cls, params: WeightedParams) -> Weighted:
        return cls(
            dict(params.weights), default_weight=params.default_weight, threshold=params.threshold
        )

    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        if not votes:
            return None
        get, default = self.weights.get, self.default_weight
        weights = [get(vote.name, default) for vote in votes]
        return _score_decision(symbol, ts, votes, weights, self.threshold)


class ConfidenceWeightedParams(Params):
    """``confidence``: the decision ``threshold`` on the strength-weighted score."""

    threshold: float = Field(
        0.0, ge=0, lt=1, description="act when |strength-weighted score| exceeds this"
    )


class ConfidenceWeighted:
    """Like :class:`Weighted`, with each vote weighted by its own ``strength``."""

    name = "confidence"

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = ConfidenceWeightedParams(threshold=threshold).threshold

    @classmethod
    def from_params(cls, params: ConfidenceWeightedParams) -> ConfidenceWeighted:
        return cls(params.threshold)

    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        if not votes:
            return None
        # a negative or NaN strength counts as 0
        weights = [v.strength if v.strength > 0.0 else 0.0 for v in votes]
        return _score_decision(symbol, ts, votes, weights, self.threshold)
