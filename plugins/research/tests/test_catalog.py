"""The data catalogue: import (validated), download from the Coinbase-protocol simulator
(pages, resume, no-trade buckets), resample, list, export, and backtests reading it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager
from gpt_trader.sim.csvfeed import parse_csv
from gpt_trader_research.catalog import NS, export_csv, read_bars, read_frame, resample
from gpt_trader_research.catalog_import import import_file
from gpt_trader_research.data import download
from gpt_trader_research.engine import BacktestSpec, load_series, run_backtest
from gpt_trader_research.specs import ComponentArg
from research_support import cli

HEADER = "timestamp,open,high,low,close,volume\n"


def test_sample_round_trips(sample: Path, tmp_path: Path) -> None:
    out = import_file(sample, "BTC-USD", tmp_path)
    assert (out["rows"], out["granularity"]) == (3000, "ONE_MINUTE")
    assert import_file(sample, "BTC-USD", tmp_path)["rows"] == 3000  # idempotent
    original, again = parse_csv(sample, "BTC-USD"), read_bars(tmp_path, "BTC-USD", "1m")
    assert again.ts == original.ts
    assert again.raw == original.raw  # the source's text, to the digit
    assert again.close == original.close
    assert again.interval_s == 60
    csv = tmp_path / "out.csv"
    assert export_csv("BTC-USD", "1m", csv, tmp_path)["rows"] == 3000
    assert parse_csv(csv, "BTC-USD").raw == original.raw


def test_shared_file_round_trips(full: Path, tmp_path: Path) -> None:
    assert import_file(full, "BTC-USD", tmp_path)["rows"] == 130_708
    original, again = parse_csv(full, "BTC-USD"), read_bars(tmp_path, "BTC-USD", "ONE_MINUTE")
    assert again.ts == original.ts
    assert again.raw == original.raw
    assert [Decimal(r[3]) for r in again.raw] == [Decimal(r[3]) for r in original.raw]


def test_resample_is_exact(sample: Path, tmp_path: Path) -> None:
    import_file(sample, "BTC-USD", tmp_path)
    assert resample("BTC-USD", "1m", "5m", tmp_path)["bars"] == 600
    one, five = read_bars(tmp_path, "BTC-USD", "1m"), read_bars(tmp_path, "BTC-USD", "5m")
    assert five.interval_s == 300
    for k in (0, 1, 599):
        rows = one.raw[5 * k : 5 * k + 5]
        o, h, lo, c, v = five.raw[k]
        assert five.ts[k] == one.ts[5 * k]
        assert o == rows[0][0]
        assert c == rows[-1][3]
        assert Decimal(h) == max(Decimal(r[1]) for r in rows)
        assert Decimal(lo) == min(Decimal(r[2]) for r in rows)
        assert Decimal(v) == sum(Decimal(r[4]) for r in rows)
    hourly = resample("BTC-USD", "5m", "1h", tmp_path)
    assert hourly["bars"] == 50
    with pytest.raises(UserError, match="cannot resample"):
        resample("BTC-USD", "1h", "5m", tmp_path)


def test_backtest_reads_the_catalogue(sample: Path, pm: PluginManager, tmp_path: Path) -> None:
    import_file(sample, "BTC-USD", tmp_path)
    ref = f"catalog:{tmp_path}/BTC-USD@1m"
    signal = (ComponentArg("sma_cross", {"fast": 10, "slow": 30}),)
    from_csv = run_backtest(BacktestSpec(sample, "BTC-USD", signal), pm)
    from_catalog = run_backtest(BacktestSpec(Path(ref), "BTC-USD", signal), pm)
    assert from_catalog.final_equity == from_csv.final_equity
    assert len(from_catalog.trips) == len(from_csv.trips) > 0
    with pytest.raises(UserError, match="not ETH-USD"):
        load_series(Path(ref), "ETH-USD")
    with pytest.raises(UserError, match="no FIVE_MINUTE bars"):
        load_series(Path(f"catalog:{tmp_path}/BTC-USD@5m"), "BTC-USD")
    proc = cli("backtest", "--data", ref, "--symbol", "BTC-USD", "--signal", "sma_cross", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["bars"] == 3000


# ---- bad input: one line, exit 2, nothing written ---------------------------------------

BAD = [
    ("timestamp,open,high,low,volume\n2025-01-01T00:00Z,1,2,1,5\n", "missing column(s) close"),
    (HEADER + "2025-01-01T00:00Z,1,2,1,1.5,5\n2025-01-01T00:01Z,1,2,1,nan,5\n", "line 3: close is NaN"),
    (HEADER + "2025-01-01T00:01Z,1,2,1,1.5,5\n2025-01-01T00:00Z,1,2,1,1.5,5\n", "line 3: timestamp 2025-01-01T00:00:00Z is before"),
    (HEADER + "2025-01-01T00:00Z,1,2,1,1.5,5\n2025-01-01T00:00Z,1,2,1,1.5,5\n", "line 3: duplicate timestamp 2025-01-01T00:00:00Z (also line 2)"),
    (HEADER + "2025-01-01T00:00Z,1,2,1,1.5,5\n2025-01-01T00:01Z,1,1,2,1.5,5\n", "line 3: inconsistent OHLC"),
    (HEADER + "2025-01-01T00:00Z,1,2,1,1.5,5\n2025-01-01T00:01Z,1,2,1,x,5\n", "line 3: close 'x' is not a number"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_import(run_main, tmp_path: Path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    bars = tmp_path / "bars.csv"
    bars.write_text(text)
    catalog = tmp_path / "catalog"
    code, _, err = run_main(
        "data", "import", str(bars), "--symbol", "X-USD", "--catalog", str(catalog)
    )
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not catalog.exists()


def test_bad_rows_all_reported_and_nothing_half_written(sample: Path, tmp_path: Path) -> None:
    import_file(sample, "BTC-USD", tmp_path)
    part = tmp_path / "BTC-USD" / "ONE_MINUTE.parquet"
    before = part.read_bytes()
    lines = sample.read_text().splitlines()
    lines[4] = lines[4].replace(lines[4].split(",")[4], "NaN")
    lines[9] = lines[8]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as info:
        import_file(bad, "BTC-USD", tmp_path)
    assert "2 bad row(s), nothing imported: line 5: close is NaN; line 10: duplicate" in str(
        info.value
    )
    assert part.read_bytes() == before
    assert [p.name for p in part.parent.iterdir()] == [part.name]  # no temporary file left


def test_parquet_import(sample: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    series = parse_csv(sample, "BTC-USD")
    table = pa.table(
        {
            "Date": pa.array(series.ts, pa.int64()).cast(pa.timestamp("ns", "UTC")),
            "Open": series.open,
            "High": series.high,
            "Low": series.low,
            "Close": series.close,
            "Volume": series.volume,
        }
    )
    pq.write_table(table, tmp_path / "bars.parquet")
    assert import_file(tmp_path / "bars.parquet", "BTC-USD", tmp_path / "c")["rows"] == 3000
    again = read_bars(tmp_path / "c", "BTC-USD", "1m")
    assert again.ts == series.ts
    assert again.close == series.close
    nan = table.set_column(4, "Close", pa.array([*series.close[:-1], float("nan")]))
    pq.write_table(nan, tmp_path / "nan.parquet")
    with pytest.raises(UserError, match="row 3000: close is NaN"):
        import_file(tmp_path / "nan.parquet", "BTC-USD", tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_bad_download_input(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown granularity"):
        download("BTC-USD", "7m", "0", "60", tmp_path)
    with pytest.raises(UserError, match="--end must be after"):
        download("BTC-USD", "1m", "2025-01-02", "2025-01-01", tmp_path)
    with pytest.raises(UserError, match="--start 'yesterday'"):
        download("BTC-USD", "1m", "yesterday", "2025-01-01", tmp_path)
    with pytest.raises(UserError, match="--sim-json"):
        download("BTC-USD", "1m", "0", "60", tmp_path, sim_json=tmp_path / "nope.json")
    with pytest.raises(UserError, match=r"product '\.\./x'"):
        download("../x", "1m", "0", "60", tmp_path)


# ---- against the Coinbase-protocol simulator ----------------------------------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    server = pytest.importorskip("gpt_trader_coinbase_sim.server")
    st = server.SimulatorThread(
        tmp_path_factory.mktemp("sim"),
        seed=5,
        tick_s=0.2,
        history_minutes=800,
        heartbeat_s=1.0,
        ticker_batch_s=5.0,
    )
    st.start()
    yield st
    st.stop()


def test_download_pages_no_trade_buckets_and_resume(sim, pm: PluginManager, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = sim.state.markets["BTC-USD"]
    starts = sorted(market.bars)
    quiet = starts[310:313]  # three minutes without a trade, in the second page
    sim.call(lambda: [market.bars.pop(t) for t in quiet])
    first, mid, last = starts[0] // NS, starts[300] // NS, starts[790] // NS
    sim_json = Path(sim.info.state_dir) / "sim.json"
    # the first page only, then the whole range: the second run fetches what is missing
    out = download("BTC-USD", "ONE_MINUTE", str(first), str(mid), tmp_path, sim_json=sim_json)
    assert (out["pages"], out["pages_fetched"], out["candles"]) == (1, 1, 300)
    seen: list[tuple[int, int]] = []
    out = download(
        "BTC-USD", "1m", str(first), str(last), tmp_path, sim_json=sim_json,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert (out["pages"], out["pages_fetched"], out["pages_cached"]) == (3, 2, 1)
    assert seen == [(1, 3), (2, 3), (3, 3)]  # what the progress bar shows, page by page
    assert out["candles"] + out["no_trade"] == 490
    assert out["no_trade"] == 3
    frame = read_frame(tmp_path / "BTC-USD" / "ONE_MINUTE.parquet", 60)
    assert len(frame.rows) == 790
    before = frame.rows[quiet[0] - 60 * NS][0][3]
    for t in quiet:  # labelled, flat at the last close
        row, no_trade = frame.rows[t]
        assert no_trade
        assert row == (before, before, before, before, "0")
    bar = market.bars[starts[5]]
    assert frame.rows[starts[5]] == (
        (str(bar.open), str(bar.high), str(bar.low), str(bar.close), str(bar.volume)),
        False,
    )  # the venue's own figures, to the digit
    again = download("BTC-USD", "1m", str(first), str(last), tmp_path, sim_json=sim_json)
    assert (again["pages_fetched"], again["pages_cached"]) == (0, 3)
    ref = Path(f"catalog:{tmp_path}/BTC-USD@1m")
    result = run_backtest(
        BacktestSpec(ref, "BTC-USD", (ComponentArg("sma_cross", {"fast": 5, "slow": 20}),)), pm
    )
    assert len(result.bars) == 790
    assert result.path == "vectorised"


def test_cli_download_and_list(run_main, sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim_json = Path(sim.info.state_dir) / "sim.json"
    end = time.time_ns() // NS + 3600  # past the present: clamped to the last complete bucket
    code, out, err = run_main(
        "data", "download", "--symbol", "BTC-USD", "--granularity", "5m",
        "--start", str(end - 7200 - 3600), "--end", str(end),
        "--sim-json", str(sim_json), "--catalog", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["granularity"] == "FIVE_MINUTE"
    assert data["clamped_to_last_complete_bucket"]
    assert data["pages_fetched"] == 1
    assert data["candles"] >= 20
    code, out, err = run_main("data", "list", "--catalog", str(tmp_path), "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert (row["symbol"], row["granularity"], row["gaps"]) == ("BTC-USD", "FIVE_MINUTE", [])
    assert row["bars"] == data["candles"] + data["no_trade"]
    code, _, err = run_main(
        "data", "download", "--symbol", "NOPE-USD", "--start", "0", "--end", "600",
        "--sim-json", str(sim_json), "--catalog", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert "NOPE-USD" in err
    assert len(err.strip().splitlines()) == 1


def test_list_shows_gaps(run_main, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bars = tmp_path / "gappy.csv"
    bars.write_text(
        HEADER
        + "2025-01-01T00:00Z,1,2,1,1.5,5\n2025-01-01T00:01Z,1,2,1,1.5,5\n"
        + "2025-01-01T00:05Z,1,2,1,1.5,5\n"
    )
    catalog = tmp_path / "c"
    assert (
        run_main("data", "import", str(bars), "--symbol", "X-USD", "--catalog", str(catalog))[0]
        == 0
    )
    code, out, _ = run_main("data", "list", "--catalog", str(catalog), "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["gaps"] == [
        {"start": "2025-01-01T00:02:00Z", "end": "2025-01-01T00:05:00Z", "bars": 3}
    ]
    _, out, _ = run_main("data", "list", "--catalog", str(catalog))
    assert "1 (3 bars)" in out
