"""Stop-loss and take-profit exits agree with backtesting.py's ``buy(sl=..., tp=...)``.

The SMA 10/30 rule of ``test_agreement.py`` with ``[exits]``: our kernel places a bracket
from the entry's fill (the next bar's open; no slippage), backtesting.py gets the same two
levels, computed by our :class:`ExitPlan` from that same open (it fills at it too), as
``sl``/``tp`` of the buy. Both run the bracket from the bar the entry fills in, fill the stop
first on a bar that touches both, the stop at its level or the open through it, the target
at its level or the open through it. The trade lists (entry and exit bars and prices) must
be identical, and each trade's exit reason must match where backtesting.py's exit price
says which leg closed it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.engine.exits import ExitPlan
from gpt_trader.plugins import PluginManager
from gpt_trader_research.engine import load_series, run_backtest
from research_support import assert_same_trades, backtesting_py, sma_cross_strategy, sma_spec

backtesting = pytest.importorskip("backtesting")
SATOSHI = 1e-8


def _theirs(series: Any, product: Any, plan: ExitPlan, fee_bps: Decimal, cash: Decimal) -> Any:
    opens = [Decimal(row[0]) for row in series.raw]

    def bracket(i: int) -> dict[str, float]:
        if i + 1 >= len(opens):
            return {}  # decided on the last bar: never filled
        # the levels our kernel sets from the fill, which is the next open; FractionalBacktest
        # trades satoshis, so its prices are scaled as its data is
        stop, target = plan.levels(product, True, opens[i + 1])
        levels = {"sl": stop, "tp": target}  # a lone leg leaves the other out
        return {k: float(v) * SATOSHI for k, v in levels.items() if v is not None}

    return backtesting_py(series, sma_cross_strategy(series, bracket), fee_bps, cash)


def _agree(data: Path, pm: PluginManager, stop: str | None, take: str | None) -> dict[str, Any]:
    cash, fee_bps = Decimal(1_000_000), Decimal(10)
    sl, tp = (None if v is None else Decimal(v) for v in (stop, take))
    spec = sma_spec(data, cash, fee_bps, stop_loss_pct=sl, take_profit_pct=tp)
    series = load_series(data, "BTC-USD")
    ours = run_backtest(spec, pm, series=series)
    plan = ExitPlan.from_pcts(sl, tp)
    assert plan is not None
    trades = _theirs(series, ours.product, plan, fee_bps, cash)["_trades"]
    closed = [t for t in ours.trips if not t.is_open]
    assert_same_trades(closed, trades)
    reasons: dict[str, int] = {}
    for trip, sl, tp, price in zip(
        closed, trades["SL"], trades["TP"], trades["ExitPrice"], strict=True
    ):
        reasons[trip.exit_reason or ""] = reasons.get(trip.exit_reason or "", 0) + 1
        if price <= sl:
            assert trip.exit_reason == "stop_loss", trip
        elif price >= tp:
            assert trip.exit_reason == "take_profit", trip
        else:
            assert trip.exit_reason == "signal", trip
    return reasons


def test_sample_stop_and_target_agree_with_backtesting_py(sample: Path, pm: PluginManager) -> None:
    # 1-minute bars: 0.2 % / 0.4 % levels are hit often enough to exercise both legs
    reasons = _agree(sample, pm, "0.2", "0.4")
    assert reasons == {"signal": 22, "take_profit": 18, "stop_loss": 14}


def test_full_file_stop_and_target_agree_with_backtesting_py(full: Path, pm: PluginManager) -> None:
    # 130,678 bars; 2 % / 4 % is never reached by a 10/30 trade on 1-minute bars, 0.3 / 0.6 is
    reasons = _agree(full, pm, "0.3", "0.6")
    assert reasons == {"signal": 2293, "stop_loss": 139, "take_profit": 133}


@pytest.mark.parametrize(
    ("stop", "take", "expected"),
    [
        ("0.2", None, {"signal": 40, "stop_loss": 14}),
        (None, "0.4", {"signal": 35, "take_profit": 19}),
    ],
    ids=["lone stop", "lone target"],
)
def test_sample_lone_leg_agrees_with_backtesting_py(
    sample: Path, pm: PluginManager, stop: str | None, take: str | None, expected: dict[str, int]
) -> None:
    # A lone stop is a stop-limit with 1 % of room: no 1-minute bar of the sample opens
    # that far through it, so it fills as backtesting.py's sl does.
    assert _agree(sample, pm, stop, take) == expected
