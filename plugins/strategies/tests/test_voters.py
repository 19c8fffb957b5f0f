"""Voters: tie rules, confidence, weights; one signal always decides alone."""

from __future__ import annotations

import pytest
from gpt_trader.domain.decisions import Action, Decision, SignalValue
from gpt_trader_strategies.voters import (
    ConfidenceWeighted,
    ConfidenceWeightedParams,
    Majority,
    Unanimous,
    Weighted,
    WeightedParams,
)
from pydantic import ValidationError

L, F, S = Action.LONG, Action.FLAT, Action.SHORT
SYMBOL, TS = "BTC-USD", 1_000


def votes(*actions: Action, strengths: tuple[float, ...] = ()) -> list[SignalValue]:
    strengths = strengths or (1.0,) * len(actions)
    return [
        SignalValue(f"s{i}", SYMBOL, TS, a, strength)
        for i, (a, strength) in enumerate(zip(actions, strengths, strict=True))
    ]


def decide(voter: object, *actions: Action, **kw: tuple[float, ...]) -> tuple[Action, float]:
    d = voter.combine(SYMBOL, TS, votes(*actions, **kw))  # type: ignore[attr-defined]
    assert isinstance(d, Decision)
    return d.action, d.confidence


VOTERS = [Majority(), Unanimous(), Weighted(), ConfidenceWeighted()]


@pytest.mark.parametrize("voter", VOTERS, ids=lambda v: v.name)
@pytest.mark.parametrize("action", [L, F, S])
def test_one_signal_decides_alone(voter: object, action: Action) -> None:
    assert decide(voter, action) == (action, 1.0)


@pytest.mark.parametrize("voter", VOTERS, ids=lambda v: v.name)
def test_no_votes_no_decision(voter: Majority) -> None:
    assert voter.combine(SYMBOL, TS, []) is None


@pytest.mark.parametrize("voter", VOTERS, ids=lambda v: v.name)
def test_decision_carries_symbol_ts_and_votes(voter: Majority) -> None:
    vs = votes(L, L, F)
    d = voter.combine(SYMBOL, TS, vs)
    assert d is not None
    assert (d.symbol, d.ts, d.votes) == (SYMBOL, TS, tuple(vs))


def test_majority_most_votes_wins() -> None:
    assert decide(Majority(), L, L, F) == (L, 2 / 3)
    assert decide(Majority(), F, F, L) == (F, 2 / 3)
    assert decide(Majority(), S, S, L, F) == (S, 0.5)  # plurality, not absolute majority


def test_majority_ties_are_flat() -> None:
    assert decide(Majority(), L, F) == (F, 0.5)
    assert decide(Majority(), L, S) == (F, 0.0)  # nobody voted FLAT
    assert decide(Majority(), L, L, S, S, F) == (F, 0.2)
    assert decide(Majority(), L, S, F) == (F, 1 / 3)


def test_unanimous() -> None:
    assert decide(Unanimous(), L, L, L) == (L, 1.0)
    assert decide(Unanimous(), S, S) == (S, 1.0)
    assert decide(Unanimous(), L, L, F) == (F, 1 / 3)
    assert decide(Unanimous(), L, S) == (F, 0.0)


def test_weighted_by_name_with_threshold() -> None:
    voter = Weighted({"s0": 3.0, "s1": 1.0, "s2": 1.0})
    # score = (3 - 1 + 0) / 5 = 0.4 > 0 -> LONG; LONG weight share 3/5
    assert decide(voter, L, S, F) == (L, 0.6)
    assert decide(Weighted({"s0": 3.0}, threshold=0.5), L, S, F) == (F, 0.2)
    assert decide(Weighted(), L, S) == (F, 0.0)  # score exactly 0 is FLAT
    assert decide(Weighted(), S, S, L) == (S, 2 / 3)
    # unlisted names take default_weight; weight 0 mutes a signal
    assert decide(Weighted({"s1": 0.0}), L, S) == (L, 1.0)
    assert decide(Weighted(default_weight=0.0), L) == (F, 0.0)


def test_confidence_weighted_uses_strength() -> None:
    voter = ConfidenceWeighted()
    assert decide(voter, L, S, strengths=(0.9, 0.3)) == (L, 0.75)
    assert decide(voter, L, S, strengths=(0.3, 0.9)) == (S, 0.75)
    assert decide(voter, L, S, strengths=(0.5, 0.5)) == (F, 0.0)
    assert decide(ConfidenceWeighted(0.5), L, S, strengths=(0.6, 0.4)) == (F, 0.0)  # 0.2 < 0.5
    assert decide(voter, L, strengths=(0.0,)) == (F, 0.0)  # no strength, no opinion
    assert decide(voter, L, S, strengths=(0.4, float("nan"))) == (L, 1.0)


def test_voter_params_validation() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        WeightedParams(weights={"sma_cross": -1.0})
    with pytest.raises(ValidationError, match="less than 1"):
        WeightedParams(threshold=1.0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        ConfidenceWeightedParams(weights={})  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Weighted({"a": -2.0})
    p = WeightedParams(weights={"sma_cross": 2}, threshold=0.25)
    voter = Weighted.from_params(p)
    assert (voter.weights, voter.threshold, voter.default_weight) == ({"sma_cross": 2.0}, 0.25, 1.0)
