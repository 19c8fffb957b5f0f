"""The ``strategies`` entry point registers each component once, with the right kind."""

from __future__ import annotations

from collections import Counter
from importlib.metadata import entry_points
from pathlib import Path

import gpt_trader_strategies.plugin as plugin
import pytest
from gpt_trader.components import BuildContext, Kind
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry
from gpt_trader_strategies.channels import AtrChannel, Bollinger, Donchian, VwapReversion, ZScore
from gpt_trader_strategies.filters import HoursFilter, MinConfidence
from gpt_trader_strategies.market_filters import (
    MomentumFilter,
    SpreadFilter,
    TrendFilter,
    VolatilityFilter,
    VolumeFilter,
)
from gpt_trader_strategies.oscillators import AdxTrend, StochasticCross
from gpt_trader_strategies.rules import Rule
from gpt_trader_strategies.signals import EmaCross, MacdCross, RsiReversion, SmaCross
from gpt_trader_strategies.voters import ConfidenceWeighted, Majority, Unanimous, Weighted

EXPECTED: dict[Kind, dict[str, type]] = {
    Kind.SIGNAL: {
        "sma_cross": SmaCross,
        "ema_cross": EmaCross,
        "rsi": RsiReversion,
        "macd_cross": MacdCross,
        "bollinger": Bollinger,
        "donchian": Donchian,
        "atr_channel": AtrChannel,
        "vwap": VwapReversion,
        "zscore": ZScore,
        "stochastic": StochasticCross,
        "adx": AdxTrend,
        "rule": Rule,
    },
    Kind.VOTER: {
        "majority": Majority,
        "unanimous": Unanimous,
        "weighted": Weighted,
        "confidence": ConfidenceWeighted,
    },
    Kind.FILTER: {
        "hours": HoursFilter,
        "min_confidence": MinConfidence,
        "volume": VolumeFilter,
        "momentum": MomentumFilter,
        "trend": TrendFilter,
        "volatility": VolatilityFilter,
        "spread": SpreadFilter,
    },
}

# settings without a default
REQUIRED: dict[str, dict[str, str]] = {"rule": {"long": "close > 0", "flat": "close < 0"}}


@pytest.fixture
def registry() -> Registry:
    pm = PluginManager()
    pm.register_plugin(plugin, "strategies")
    return Registry(pm)


@pytest.fixture
def ctx(tmp_path: Path) -> BuildContext:
    return BuildContext(
        profile="test",
        mode="backtest",
        universe=("BTC-USD", "ETH-USD"),
        products={},
        state_dir=tmp_path,
    )


def test_each_name_registered_once_with_its_kind(registry: Registry) -> None:
    for kind, table in EXPECTED.items():
        assert registry.names(kind) == sorted(table)
    for kind in set(Kind) - set(EXPECTED):
        assert registry.names(kind) == []
    hooks = (plugin.register_signals, plugin.register_voters, plugin.register_filters)
    specs = [spec for hook in hooks for spec in hook()]
    assert max(Counter(s.name for s in specs).values()) == 1
    for spec in specs:
        assert spec.name in EXPECTED[spec.kind]
        assert spec.summary
        assert "\n" not in spec.summary
        assert spec.per_symbol is (spec.kind is Kind.SIGNAL)


def test_every_component_builds_with_defaults(registry: Registry, ctx: BuildContext) -> None:
    for kind, table in EXPECTED.items():
        for name, cls in table.items():
            c = ctx.for_symbol("ETH-USD") if kind is Kind.SIGNAL else ctx
            built = registry.build(kind, name, REQUIRED.get(name, {}), c)
            assert isinstance(built, cls)
            assert getattr(built, "name", None) == name
    signal = registry.build(Kind.SIGNAL, "sma_cross", {}, ctx.for_symbol("ETH-USD"))
    assert signal.symbol == "ETH-USD"


def test_build_passes_params(registry: Registry, ctx: BuildContext) -> None:
    c = ctx.for_symbol("BTC-USD")
    sma = registry.build(Kind.SIGNAL, "sma_cross", {"fast": 5, "slow": 20, "name": "quick"}, c)
    assert (sma.fast, sma.slow, sma.name) == (5, 20, "quick")
    rsi = registry.build(Kind.SIGNAL, "rsi", {"period": 7, "oversold": 20}, c)
    assert (rsi.period, rsi.oversold, rsi.overbought) == (7, 20.0, 70.0)
    hours = registry.build(Kind.FILTER, "hours", {"start": 8, "end": 16}, ctx)
    assert (hours.start, hours.end) == (8, 16)
    weighted = registry.build(Kind.VOTER, "weighted", {"weights": {"rsi": 2}}, ctx)
    assert weighted.weights == {"rsi": 2.0}


def test_bad_params_are_one_readable_line(registry: Registry, ctx: BuildContext) -> None:
    c = ctx.for_symbol("BTC-USD")
    with pytest.raises(UserError, match=r"must be less than slow") as info:
        registry.build(Kind.SIGNAL, "sma_cross", {"fast": 30, "slow": 10}, c)
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match=r"fast: Input should be greater than 0"):
        registry.build(Kind.SIGNAL, "sma_cross", {"fast": -3}, c)
    with pytest.raises(UserError, match=r"perod: unknown field"):
        registry.build(Kind.SIGNAL, "rsi", {"perod": 3}, c)
    with pytest.raises(UserError, match=r"unknown field"):
        registry.build(Kind.VOTER, "majority", {"x": 1}, ctx)


def test_signals_need_a_symbol(registry: Registry, ctx: BuildContext) -> None:
    with pytest.raises(ValueError, match="per-symbol"):
        registry.build(Kind.SIGNAL, "macd_cross", {}, ctx)


def test_entry_point_is_installed() -> None:
    (ep,) = [e for e in entry_points(group="gpt_trader") if e.name == "strategies"]
    assert ep.value == "gpt_trader_strategies.plugin"
    assert ep.load() is plugin
