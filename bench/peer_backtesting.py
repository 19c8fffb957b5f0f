"""backtesting.py's side of the whole-process row: one script run, start to finish.

    uv run python bench/peer_backtesting.py FILE.csv [FEE_BPS]

Reads the candle CSV with pandas, SMA 10/30 cross (long-only, all-in, next-open fills,
FEE_BPS commission (default 10), 1,000,000 cash) under ``FractionalBacktest`` (satoshi units), and prints the
trade count and final equity as one JSON line: what ``gpt-trader backtest ... --json`` does
for the same file. bench/backtest.py times this process from the outside.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd
from backtesting import Strategy
from backtesting.lib import FractionalBacktest, crossover


def sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


class SmaCross(Strategy):
    """Long on the 10/30 cross up, flat on the cross down (``average``: how to average)."""

    average = staticmethod(sma)

    def init(self) -> None:
        self.fast = self.I(self.average, self.data.Close, 10)
        self.slow = self.I(self.average, self.data.Close, 30)

    def next(self) -> None:
        if crossover(self.fast, self.slow):
            if not self.position:
                self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()


def main() -> None:
    df = pd.read_csv(sys.argv[1], index_col="timestamp", parse_dates=True)
    fee = float(sys.argv[2]) / 10_000 if len(sys.argv) > 2 else 0.001
    df = df.rename(columns=str.capitalize)
    df.index = df.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(df, SmaCross, cash=1_000_000, commission=fee, fractional_unit=1e-8)
        stats = bt.run()
    print(
        json.dumps(
            {"trades": int(stats["# Trades"]), "final_equity": float(stats["Equity Final [$]"])}
        )
    )


if __name__ == "__main__":
    main()
