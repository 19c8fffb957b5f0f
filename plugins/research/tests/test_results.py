"""Round trips, the equity curve and the statistics, from fills and bars."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from gpt_trader.domain import Fill, Liquidity, Side
from gpt_trader.domain.bars import BarSeries
from gpt_trader_research.results import equity_curve, round_trips, statistics

NS = 1_000_000_000
D = Decimal


def bars(closes: list[str]) -> BarSeries:
    s = BarSeries("BTC-USD", 60)
    for i, c in enumerate(closes):
        s.ts.append(i * 60 * NS)
        for col in (s.open, s.high, s.low, s.close):
            col.append(float(c))
        s.volume.append(1.0)
        s.raw.append((c, c, c, c, "1"))
    return s


def fill(n: int, bar: int, side: Side, price: str, size: str, fee: str = "0") -> Fill:
    return Fill(
        f"t{n}",
        f"c{n}",
        f"o{n}",
        "BTC-USD",
        side,
        D(price),
        D(size),
        D(fee),
        Liquidity.TAKER,
        bar * 60 * NS,
    )


def test_partial_fills_make_one_round_trip() -> None:
    b = bars(["100", "101", "102", "103", "104", "105"])
    fills = [
        fill(1, 1, Side.BUY, "101", "0.5", "0.05"),
        fill(2, 2, Side.BUY, "102", "0.5", "0.05"),
        fill(3, 4, Side.SELL, "104", "0.25", "0.02"),
        fill(4, 5, Side.SELL, "105", "0.75", "0.08"),
    ]
    (trip,) = round_trips(fills, b)
    assert (trip.side, trip.entry_bar, trip.exit_bar, trip.fills) == ("long", 1, 5, 4)
    assert trip.size == D("1.0")
    assert trip.entry_price == D("101.5")
    assert trip.exit_price == D("104.75")
    assert trip.fees == D("0.20")
    assert trip.pnl == D("104.75") - D("101.5") - D("0.20")


def test_a_flip_splits_the_fill_and_its_fee() -> None:
    b = bars(["100", "100", "110", "90"])
    fills = [fill(1, 1, Side.BUY, "100", "1", "1"), fill(2, 2, Side.SELL, "110", "2", "2")]
    long, short = round_trips(fills, b)
    assert (long.side, long.pnl, long.fees) == ("long", D("10") - D("2"), D("2"))
    assert (short.side, short.size, short.is_open) == ("short", D("1"), True)
    # open: marked at the last close (90): sold 1 at 110 -> +20, minus its half of the fee
    assert short.pnl == D("20") - D("1")
    assert short.exit_bar is None


def test_curve_and_stats() -> None:
    b = bars(["100", "100", "110", "121", "110", "110"])
    fills = [fill(1, 1, Side.BUY, "100", "10", "1"), fill(2, 4, Side.SELL, "110", "10", "1")]
    start = D(1000)
    curve = equity_curve(fills, b, start)
    assert curve.equity.tolist() == [1000, 999, 1099, 1209, 1098, 1098]
    assert curve.position.tolist() == [0, 10, 10, 10, 0, 0]
    assert curve.drawdown.min() == pytest.approx(1098 / 1209 - 1)
    trips = round_trips(fills, b)
    s = statistics(curve, b, trips, start, D(1098), D(2))
    assert s["total_return"] == pytest.approx(0.098)
    assert s["trades"] == 1
    assert s["win_rate"] == 1.0
    assert s["profit_factor"] is None
    assert s["exposure"] == pytest.approx(3 / 6)
    assert s["max_drawdown"] == pytest.approx(1098 / 1209 - 1)
    assert s["sharpe"] is not None
    assert s["sortino"] is not None
    # +9.8 % in six minutes compounds past a float in a year: CAGR and Calmar are undefined
    assert s["cagr"] is None
    assert s["calmar"] is None
    assert s["fees"] == D(2)
    assert s["best_trade"] == D(98)


def test_no_trades() -> None:
    b = bars(["100"] * 10)
    curve = equity_curve([], b, D(500))
    s = statistics(curve, b, [], D(500), D(500), D(0))
    assert np.all(curve.equity == 500)
    assert s["sharpe"] is None
    assert s["calmar"] is None
    assert s["win_rate"] is None
    assert s["total_return"] == 0
    assert s["max_drawdown"] == 0
    assert s["trades"] == 0
