"""Tests for the example breakout signal, using only gpt-trader's public API."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import gpt_trader_example_signal.plugin as plugin
import pytest
from gpt_trader.components import BuildContext, Kind
from gpt_trader.domain.decisions import Action
from gpt_trader.domain.market import NS, Candle
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry
from gpt_trader_example_signal import Breakout
from pydantic import ValidationError

SYMBOL = "BTC-USD"


def bar(i: int, high: float, low: float, close: float, symbol: str = SYMBOL) -> Candle:
    h, lo, c = Decimal(str(high)), Decimal(str(low)), Decimal(str(close))
    return Candle(symbol, i * 60 * NS, c, h, lo, c, Decimal(1))


def run(signal: Breakout, bars: Sequence[tuple[float, float, float]]) -> dict[int, Action]:
    out = {}
    for i, (high, low, close) in enumerate(bars):
        value = signal.update(bar(i, high, low, close))
        if value is not None:
            out[i] = value.action
    return out


def test_breakouts() -> None:
    bars = [
        (10, 8, 9),  # 0
        (11, 9, 10),  # 1
        (10, 9, 9.5),  # 2: channel of bars 0-1 is 8..11, close inside
        (12, 10, 11.5),  # 3: close 11.5 > 11 -> LONG
        (13, 11, 12.5),  # 4: > 12 but already LONG -> nothing
        (12, 9, 9.5),  # 5: channel of bars 3-4 is 10..13: 9.5 < 10 -> FLAT
        (10, 8, 9.5),  # 6: channel of bars 4-5 is 9..13, inside
    ]
    assert run(Breakout(SYMBOL, period=2), bars) == {3: Action.LONG, 5: Action.FLAT}


def test_needs_a_full_channel_and_ignores_other_symbols() -> None:
    signal = Breakout(SYMBOL, period=3)
    assert signal.update(bar(0, 10, 9, 9.5)) is None
    assert signal.update(bar(1, 10, 9, 20)) is None  # only 1 previous bar: no channel yet
    assert signal.update(bar(2, 30, 1, 50, symbol="ETH-USD")) is None
    assert signal.update(bar(2, 10, 9, 20)) is None  # 2 previous bars: still no channel
    value = signal.update(bar(3, 21, 19, 21))  # channel 9..20 -> LONG
    assert value is not None
    assert value.action is Action.LONG
    assert value.ts == bar(3, 0, 0, 0).close_ts


def test_matches_a_brute_force_channel() -> None:
    import random

    rng = random.Random(7)
    price, bars = 100.0, []
    for _ in range(2000):
        price += rng.uniform(-1, 1)
        bars.append((price + rng.uniform(0, 1), price - rng.uniform(0, 1), price))
    for period in (1, 5, 20):
        expected, view = {}, None
        for i in range(period, len(bars)):
            top = max(b[0] for b in bars[i - period : i])
            bottom = min(b[1] for b in bars[i - period : i])
            close = float(Decimal(str(bars[i][2])))
            action = Action.LONG if close > top else Action.FLAT if close < bottom else None
            if action is not None and action is not view:
                expected[i] = view = action
        assert run(Breakout(SYMBOL, period), bars) == expected


def test_alternates_long_and_flat_on_the_replay_feed(replay_feed: Any) -> None:
    # `replay_feed` is one of gpt-trader's pytest fixtures (gpt_trader.testing).
    signal = Breakout(SYMBOL, period=20)
    values = [v for e in replay_feed.events([SYMBOL]) if (v := signal.update(e)) is not None]
    actions = [v.action for v in values]
    assert {Action.LONG, Action.FLAT} <= set(actions)
    assert all(a is not b for a, b in pairwise(actions))
    assert all(v.symbol == SYMBOL for v in values)


def test_registers_through_the_plugin_manager(tmp_path: Path) -> None:
    pm = PluginManager()
    pm.register_plugin(plugin, "example_signal")
    registry = Registry(pm)
    assert "example.breakout" in registry.names(Kind.SIGNAL)
    ctx = BuildContext("test", "backtest", (SYMBOL,), {}, tmp_path, symbol=SYMBOL)
    signal = registry.build(Kind.SIGNAL, "example.breakout", {"period": 5}, ctx)
    assert isinstance(signal, Breakout)
    assert signal.period == 5
    with pytest.raises(ValidationError):
        Breakout(SYMBOL, period=0)
