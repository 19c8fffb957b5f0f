"""Helpers shared by the research tests (imported by name: the tests folder is on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
DATA = Path(__file__).resolve().parent / "data"


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``gpt-trader ARGS`` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "gpt_trader", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def backtesting_py(series: Any, strategy: Any, fee_bps: Decimal, cash: Decimal) -> Any:
    """Run backtesting.py's ``strategy`` on ``series``: market orders at the next open
    (``trade_on_close=False``), fractional sizes in satoshis, ``fee_bps`` per fill."""
    import warnings

    import numpy as np
    import pandas as pd
    from backtesting.lib import FractionalBacktest

    index = pd.to_datetime(np.asarray(series.ts, dtype=np.int64), utc=True).tz_localize(None)
    df = pd.DataFrame(
        {"Open": series.open, "High": series.high, "Low": series.low, "Close": series.close,
         "Volume": series.volume},
        index=index,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(
            df,
            strategy,
            cash=float(cash),
            commission=float(fee_bps) / 10_000,
            trade_on_close=False,
            exclusive_orders=False,
            fractional_unit=1e-8,
        )
        return bt.run()


def assert_same_trades(closed: list[Any], trades: Any) -> None:
    """Our closed round trips and backtesting.py's ``_trades``: identical entry and exit
    bars, and prices equal to float precision."""
    import numpy as np

    mine = [(t.entry_bar, t.exit_bar) for t in closed]
    theirs = list(zip(trades["EntryBar"].tolist(), trades["ExitBar"].tolist(), strict=True))
    assert mine == theirs, next(
        (i, a, b) for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b
    )
    np.testing.assert_allclose(
        [float(t.entry_price) for t in closed], trades["EntryPrice"].to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(
        [float(t.exit_price or 0) for t in closed], trades["ExitPrice"].to_numpy(), rtol=1e-12
    )


def sma_cross_strategy(
    series: Any, buy_args: Callable[[int], dict[str, float]] | None = None
) -> Any:
    """backtesting.py's SMA 10/30 cross on the arrays our signal computes: buy when flat on
    an up-cross at bar ``i`` (with ``buy_args(i)``, e.g. ``sl``/``tp``), close on a
    down-cross."""
    import numpy as np
    from backtesting import Strategy
    from backtesting.lib import crossover
    from gpt_trader_strategies.indicators import sma_array

    close = np.asarray(series.close, dtype=np.float64)
    fast, slow = sma_array(close, 10), sma_array(close, 30)

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(lambda: fast, name="sma10")
            self.slow = self.I(lambda: slow, name="sma30")

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                if not self.position:
                    self.buy(**(buy_args(len(self.data) - 1) if buy_args else {}))
            elif crossover(self.slow, self.fast):
                self.position.close()

    return SmaCross


def sma_spec(data: Path, cash: Decimal, fee_bps: Decimal, **more: Any) -> Any:
    """The SMA 10/30 backtest both agreement tests run: no slippage, ``more`` on top."""
    from gpt_trader_research.engine import BacktestSpec
    from gpt_trader_research.specs import ComponentArg

    signal = ComponentArg("sma_cross", {"fast": 10, "slow": 30})
    return BacktestSpec(
        data, "BTC-USD", (signal,), cash=cash, fee_bps=fee_bps, slippage_bps=Decimal(0), **more
    )


def write_universe(
    src: Path, out_dir: Path, symbols: list[str] | None = None, bars: int | None = None
) -> Path:
    """One CSV per product of the dev universe in ``out_dir``, from the BTC bars of ``src``:
    product k's bars are the source's rotated by k * 157 bars (so the products move apart)
    and scaled to the product's start price, on its price increment; the timestamps stay
    the source's, so every product's bars line up. ``bars`` keeps the first that many."""
    from gpt_trader.domain import money
    from gpt_trader.sim.products import DEV_UNIVERSE, default_products, market_profile

    symbols = list(symbols or DEV_UNIVERSE)
    lines = src.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], [r.split(",") for r in lines[1 : (bars + 1) if bars else None]]
    base = Decimal(rows[0][4])
    out_dir.mkdir(parents=True, exist_ok=True)
    for k, (symbol, product) in enumerate(default_products(symbols).items()):
        scale = market_profile(symbol).start_price / base
        shift = (k * 157) % len(rows)
        rotated = rows[shift:] + rows[:shift]
        text = [header]
        for stamp, row in zip((r[0] for r in rows), rotated, strict=True):
            ohlc = [money.at(Decimal(x) * scale, product.price_increment) for x in row[1:5]]
            volume = money.at(Decimal(row[5]) / scale, Decimal("0.00000001"))
            text.append(",".join([stamp, *ohlc, volume]))
        (out_dir / f"{symbol}.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    return out_dir
