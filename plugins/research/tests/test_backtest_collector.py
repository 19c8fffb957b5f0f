"""A backtest pauses the cyclic collector for its run (old objects frozen, young ones
collected less often) and leaves it as it found it, also when the run fails."""

from __future__ import annotations

import gc
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager
from gpt_trader_research.engine import BacktestSpec, run_backtest
from gpt_trader_research.specs import ComponentArg

SMA = (ComponentArg("sma_cross", {"fast": "10", "slow": "30"}),)


def test_the_collector_is_restored_after_a_run(sample: Path, pm: PluginManager) -> None:
    before = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    result = run_backtest(BacktestSpec(sample, "BTC-USD", SMA, fee_bps=Decimal(10)), pm)
    assert result.stats["trades"] > 0
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before
    with pytest.raises(UserError):
        run_backtest(BacktestSpec(sample, "ETH-USD", SMA), pm, series=result.bars)
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before
