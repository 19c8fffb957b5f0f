"""Market data for the strategies tests, read with the csv module (no feed code needed)."""

from __future__ import annotations

import csv
import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.market import NS, Candle

SYMBOL = "BTC-USD"
FULL_FILE = "BTCUSDT_binance_spot_1m_20250520_20250818.csv"


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "core").is_dir() and (parent / "plugins").is_dir():
            return parent
    return here.parents[3]


REPO_ROOT = _repo_root()
SAMPLE_PATH = REPO_ROOT / "tests" / "data" / "btcusd_1m_sample.csv"
SHARED_DATA = Path(os.environ.get("GPT_TRADER_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def load_bars(path: Path, symbol: str = SYMBOL) -> tuple[BarSeries, list[Candle]]:
    """Columns and Decimal candles of a ``timestamp,open,high,low,close,volume`` file."""
    bars = BarSeries(symbol, 60)
    candles: list[Candle] = []
    with path.open(newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == ["timestamp", "open", "high", "low", "close", "volume"]
        for stamp, o, h, lo, c, v in reader:
            dt = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            ts = int(dt.timestamp()) * NS
            bars.ts.append(ts)
            bars.open.append(float(o))
            bars.high.append(float(h))
            bars.low.append(float(lo))
            bars.close.append(float(c))
            bars.volume.append(float(v))
            bars.raw.append((o, h, lo, c, v))
            candles.append(
                Candle(symbol, ts, Decimal(o), Decimal(h), Decimal(lo), Decimal(c), Decimal(v), 60)
            )
    return bars, candles


@pytest.fixture(scope="session")
def sample() -> tuple[BarSeries, list[Candle]]:
    if not SAMPLE_PATH.exists():
        pytest.skip(f"sample data not found: {SAMPLE_PATH}")
    return load_bars(SAMPLE_PATH)


@pytest.fixture(scope="session")
def full() -> tuple[BarSeries, list[Candle]]:
    path = SHARED_DATA / FULL_FILE
    if not path.exists():
        pytest.skip(f"full data set not available: {path}")
    return load_bars(path)
