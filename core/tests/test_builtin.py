"""Core's built-in components: the consensus voter."""

from __future__ import annotations

from gpt_trader.builtin import Consensus
from gpt_trader.domain import Action, SignalValue

TS = 1_735_689_600_000_000_000


def test_consensus_decides_only_when_every_signal_agrees() -> None:
    voter = Consensus()

    def vote(*actions: Action) -> Action | None:
        votes = [SignalValue(f"s{i}", "BTC-USD", TS, a) for i, a in enumerate(actions)]
        decision = voter.combine("BTC-USD", TS, votes)
        return None if decision is None else decision.action

    assert vote() is None
    assert vote(Action.LONG) is Action.LONG
    assert vote(Action.FLAT, Action.FLAT) is Action.FLAT
    assert vote(Action.LONG, Action.FLAT) is None
