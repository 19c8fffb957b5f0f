"""The column-wise CSV reader gives the row parser's bars, and a backtest on them (fast path)
books what the event path books on the row parser's bars: the same fills, round trips,
fees, equity curve and statistics. On the shipped sample, and on the shared file when it is
present."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager
from gpt_trader.sim.csvfeed import parse_csv
from gpt_trader_research.columns import RawRows, read_columns
from gpt_trader_research.engine import BacktestSpec, load_series, run_backtest
from gpt_trader_research.specs import ComponentArg
from research_support import FULL, SAMPLE

FILES = [
    pytest.param(SAMPLE, id="sample"),
    pytest.param(
        FULL,
        id="shared",
        marks=pytest.mark.skipif(not FULL.is_file(), reason="../shared/data is not present"),
    ),
]


def same_bars(a, b) -> None:  # type: ignore[no-untyped-def]
    assert (a.symbol, a.interval_s, len(a)) == (b.symbol, b.interval_s, len(b))
    assert a.ts == b.ts
    assert all(type(t) is int for t in a.ts[:3])
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name))), name
    assert a.raw == b.raw
    assert [a.candle(i) for i in (0, len(a) // 2, len(a) - 1)] == [
        b.candle(i) for i in (0, len(b) // 2, len(b) - 1)
    ]


@pytest.mark.parametrize("path", FILES)
def test_the_column_reader_reads_what_the_row_parser_reads(path: Path) -> None:
    columns = read_columns(path, "BTC-USD")
    assert columns is not None
    assert isinstance(columns.raw, RawRows)
    same_bars(columns, parse_csv(path, "BTC-USD"))


@pytest.mark.parametrize("path", FILES)
def test_the_fast_path_books_what_the_event_path_books(path: Path, pm: PluginManager) -> None:
    spec = BacktestSpec(
        path,
        "BTC-USD",
        (ComponentArg("sma_cross", {"fast": "10", "slow": "30"}),),
        cash=Decimal(1_000_000),
        fee_bps=Decimal(10),
    )
    fast = run_backtest(spec, pm, series=read_columns(path, "BTC-USD"))
    events = run_backtest(spec, pm, series=parse_csv(path, "BTC-USD"), vectorise=False)
    assert (fast.path, events.path) == ("vectorised", "events")
    assert fast.kernel_bars < events.kernel_bars == len(events.bars)
    fills = [(f.ts, f.side, f.price, f.size, f.fee) for f in fast.fills]
    assert fills == [(f.ts, f.side, f.price, f.size, f.fee) for f in events.fills]
    assert len(fills) > 10
    assert (fast.final_equity, fast.fees) == (events.final_equity, events.fees)
    assert [vars(t) for t in fast.trips] == [vars(t) for t in events.trips]
    assert np.array_equal(fast.curve.equity, events.curve.equity)
    assert fast.stats == events.stats
    assert fast.to_json()["trades"] == events.to_json()["trades"]


def test_slices_of_the_rows_are_rows(sample: Path) -> None:
    series = read_columns(sample, "BTC-USD")
    rows = parse_csv(sample, "BTC-USD").raw
    assert series is not None
    assert series.raw[10:20] == rows[10:20]
    assert list(series.raw[-3:]) == rows[-3:]
    assert series.raw[5] == rows[5]


@pytest.mark.parametrize(
    "row",
    [
        '"2025-05-20T00:02:00Z",1,2,0.5,1.5,4',  # quoted
        "2025-05-20T00:02:00Z, 1,2,0.5,1.5,4",  # a space the row parser accepts
        "2025-05-20 00:02:00,1,2,0.5,1.5,4",  # another timestamp form in one column
        "1747699320,1,2,0.5,1.5,4",  # epoch seconds among ISO times
    ],
)
def test_unusual_rows_read_as_the_row_parser_reads_them(tmp_path: Path, row: str) -> None:
    """The column reader reads them the same or leaves them to the row parser (None)."""
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-05-20T00:00:00Z,1,2,0.5,1.5,4\n"
        "2025-05-20T00:01:00Z,1,2,0.5,1.5,4\n" + row + "\n"
    )
    got = read_columns(path, "BTC-USD")
    try:
        want = parse_csv(path, "BTC-USD")
    except UserError as exc:
        assert got is None
        with pytest.raises(UserError, match=re.escape(str(exc).split(":")[-1].strip())):
            load_series(path, "BTC-USD")
        return
    if got is not None:
        same_bars(got, want)
    same_bars(load_series(path, "BTC-USD"), want)


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("2025-05-20T00:02:00Z,1,2,0.5,3,4", "inconsistent OHLCV"),
        ("2025-05-20T00:01:00Z,1,2,0.5,1.5,4", "not after the previous row"),
        ("2025-05-20T00:02:30Z,1,2,0.5,1.5,4", "off the 60s interval grid"),
        ("2025-05-20T00:02:00Z,1,2,0.5,1.5", "expected 6 fields"),
        ("2025-05-20T00:02:00Z,1,2,0.5,x,4", "malformed row"),
    ],
)
def test_a_bad_row_is_named_by_the_row_parser(tmp_path: Path, row: str, why: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2025-05-20T00:00:00Z,1,2,0.5,1.5,4\n"
        "2025-05-20T00:01:00Z,1,2,0.5,1.5,4\n" + row + "\n"
    )
    with pytest.raises(UserError, match=f"{path.name}:4: .*{why}"):
        load_series(path, "BTC-USD")


def test_crlf_lines_and_epoch_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "ms.csv"
    path.write_bytes(
        b"open_time,open,high,low,close,volume\r\n"
        b"1747699200000,1.50,2,0.5,1.5,4\r\n\r\n"
        b"1747699260000,1,2.000,0.5,1.5,4\r\n"
    )
    series = read_columns(path, "BTC-USD")
    assert series is not None
    same_bars(series, parse_csv(path, "BTC-USD"))
    assert series.raw[0][0] == "1.50"
