"""CsvCandleFeed: exact Decimals, BarSeries, one-line errors, and the full shared file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain.market import NS
from gpt_trader.errors import UserError
from gpt_trader.protocols import ReplayableFeed, SeriesFeed
from gpt_trader.sim.csvfeed import CsvCandleFeed, parse_csv

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "tests" / "data" / "btcusd_1m_sample.csv"
FULL = REPO.parent / "shared" / "data" / "BTCUSDT_binance_spot_1m_20250520_20250818.csv"
FIRST_TS = 1_747_699_200 * NS  # 2025-05-20T00:00:00Z


def rows(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines()[1:]]


def test_sample_parses_to_the_exact_decimals_of_the_text() -> None:
    feed = CsvCandleFeed(SAMPLE, "BTC-USD")
    candles = list(feed.events(["BTC-USD"]))
    text = rows(SAMPLE)
    assert len(candles) == len(text) == 3000
    first = candles[0]
    assert first.symbol == "BTC-USD"
    assert first.ts == FIRST_TS
    assert first.interval_s == 60
    assert (first.open, first.high, first.low, first.close, first.volume) == tuple(
        Decimal(x) for x in text[0][1:]
    )
    assert str(first.high) == text[0][2]  # "105597.1", not re-rounded
    for candle, row in zip(candles, text, strict=True):
        assert str(candle.close) == row[4]
        assert str(candle.volume) == row[5]
    assert candles[-1].ts == FIRST_TS + 2999 * 60 * NS


def test_bar_series_has_every_row_with_floats_and_raw_text() -> None:
    feed = CsvCandleFeed(SAMPLE, "BTC-USD")
    assert isinstance(feed, SeriesFeed)
    assert isinstance(feed, ReplayableFeed)
    [series] = feed.bar_series(["BTC-USD"])
    text = rows(SAMPLE)
    assert len(series) == 3000
    assert series.symbol == "BTC-USD"
    assert series.interval_s == 60
    assert series.raw[0] == tuple(text[0][1:])
    assert series.open[0] == 105573.73
    assert series.volume[-1] == float(text[-1][5])
    assert series.ts[1] - series.ts[0] == 60 * NS
    assert series.candle(10) == list(feed.events(["BTC-USD"]))[10]


async def test_stream_gives_the_same_candles() -> None:
    feed = CsvCandleFeed(SAMPLE, "BTC-USD")
    streamed = [c async for c in feed.stream(["BTC-USD"])]
    assert streamed == list(feed.events(["BTC-USD"]))


def write(tmp_path: Path, body: str, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


HEADER = "timestamp,open,high,low,close,volume\n"


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (
            HEADER + "2025-01-01T00:00:00Z,1,2,0.5,1.5,3\n2025-01-01T00:01:00Z,1,2,0.5\n",
            3,
            "fields",
        ),
        (HEADER + "2025-01-01T00:00:00Z,1,2,0.5,abc,3\n", 2, "abc"),
        (HEADER + "yesterday,1,2,0.5,1.5,3\n", 2, "yesterday"),
        (HEADER + "2025-01-01T00:00:00Z,1,2,1.5,1.2,3\n", 2, "inconsistent"),
        (HEADER + "2025-01-01T00:00:00Z,1,2,0.5,1.5,-3\n", 2, "inconsistent"),
        (
            HEADER + "2025-01-01T00:01:00Z,1,2,0.5,1.5,3\n2025-01-01T00:00:00Z,1,2,0.5,1.5,3\n",
            3,
            "not after",
        ),
        (
            HEADER
            + "2025-01-01T00:00:00Z,1,2,0.5,1.5,3\n2025-01-01T00:01:00Z,1,2,0.5,1.5,3\n"
            + "2025-01-01T00:02:30Z,1,2,0.5,1.5,3\n",
            4,
            "grid",
        ),
    ],
)
def test_a_malformed_row_is_one_line_naming_file_and_line(
    tmp_path: Path, body: str, line: int, words: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(UserError) as err:
        parse_csv(path, "BTC-USD")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: ")
    assert words in message


def test_file_level_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found") as err:
        CsvCandleFeed(tmp_path / "missing.csv", "BTC-USD")
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="not a file"):
        CsvCandleFeed(tmp_path, "BTC-USD")
    with pytest.raises(UserError, match="header"):
        parse_csv(write(tmp_path, "a,b,c\n1,2,3\n"), "BTC-USD")
    with pytest.raises(UserError, match="empty"):
        parse_csv(write(tmp_path, ""), "BTC-USD")
    with pytest.raises(UserError, match="no rows"):
        parse_csv(write(tmp_path, HEADER), "BTC-USD")
    with pytest.raises(UserError, match="interval"):
        parse_csv(write(tmp_path, HEADER + "2025-01-01T00:00:00Z,1,2,0.5,1.5,3\n"), "BTC-USD")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError, match="UTF-8"):
        parse_csv(binary, "BTC-USD")


def test_other_timestamp_forms_columns_order_and_given_interval(tmp_path: Path) -> None:
    body = (
        "Volume,Close,Low,High,Open,Time\n"
        "3,1.5,0.5,2,1,2025-01-01T00:00:00+00:00\n"
        "4,1.6,0.5,2,1,2025-01-01T00:05:00\n"
    )
    series = parse_csv(write(tmp_path, body), "X-USD")
    assert series.ts == [1_735_689_600 * NS, 1_735_689_900 * NS]
    assert series.interval_s == 300
    assert series.raw[1] == ("1", "2", "0.5", "1.6", "4")
    epoch = HEADER + "1735689600000,1,2,0.5,1.5,3\n1735689660000,1,2,0.5,1.5,3\n"
    assert parse_csv(write(tmp_path, epoch, "e.csv"), "X-USD").ts[1] == 1_735_689_660 * NS
    gappy = HEADER + "2025-01-01T00:00:00Z,1,2,0.5,1.5,3\n2025-01-01T00:03:00Z,1,2,0.5,1.5,3\n"
    assert parse_csv(write(tmp_path, gappy, "g.csv"), "X-USD", interval_s=60).interval_s == 60


def test_asking_for_another_symbol_is_a_user_error() -> None:
    feed = CsvCandleFeed(SAMPLE, "BTC-USD")
    with pytest.raises(UserError, match="BTC-USD only"):
        feed.bar_series(["ETH-USD"])


def test_the_full_shared_file_loads() -> None:
    """Its load time is measured in bench/data_load.py, never asserted here."""
    if not FULL.is_file():
        pytest.skip(f"shared data not present: {FULL}")
    [series] = CsvCandleFeed(FULL, "BTC-USD").bar_series(["BTC-USD"])
    assert len(series) == 130_708
    assert series.interval_s == 60
    assert series.ts[0] == FIRST_TS
    assert series.ts[-1] == FIRST_TS + 130_707 * 60 * NS  # no gaps: 60 s steps throughout
    assert max(series.high) == 124_474.0
