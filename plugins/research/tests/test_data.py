"""`data import|download|export|list`: the SQLite candle cache."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager
from gpt_trader.sim.csvfeed import parse_csv
from gpt_trader_research.data import NS, download_candles, export_csv, import_file
from gpt_trader_research.engine import BacktestSpec, run_backtest
from gpt_trader_research.specs import ComponentArg


def test_import_export_round_trip(sample: Path, tmp_path: Path) -> None:
    out = import_file(sample, "BTC-USD", tmp_path)
    assert out["rows"] == 3000
    assert out["granularity"] == "ONE_MINUTE"
    assert import_file(sample, "BTC-USD", tmp_path)["rows"] == 3000  # idempotent
    with sqlite3.connect(tmp_path / "candles.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM candles").fetchone()[0] == 3000
    csv = tmp_path / "out.csv"
    assert export_csv("BTC-USD", "1m", csv, tmp_path)["rows"] == 3000
    original, again = parse_csv(sample, "BTC-USD"), parse_csv(csv, "BTC-USD")
    assert again.ts == original.ts
    assert again.raw == original.raw


def test_bad_parquet_is_one_line(run_main, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """pyarrow is a dependency: a file that is not Parquet is one line, exit 2."""
    bars = tmp_path / "bars.parquet"
    bars.write_bytes(b"PAR1")
    code, _, err = run_main("data", "import", str(bars), "--state-dir", str(tmp_path))
    assert code == 2
    assert f"cannot read {bars}" in err
    assert len(err.splitlines()) == 1
    code, _, err = run_main(
        "data", "import", str(tmp_path / "none.csv"), "--state-dir", str(tmp_path)
    )
    assert code == 2
    assert "no such file" in err


def test_cli_import_and_list(run_main, sample: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_main("data", "import", str(sample), "--state-dir", str(tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 3000
    code, out, _ = run_main("data", "list", "--state-dir", str(tmp_path), "--json")
    rows = json.loads(out)
    assert rows == [
        {
            "symbol": "BTC-USD",
            "granularity": "ONE_MINUTE",
            "bars": 3000,
            "no_trade": 0,
            "start": "2025-05-20T00:00:00Z",
            "end": "2025-05-22T02:00:00Z",
            "sources": ["import:btcusd_1m_sample.csv"],
        }
    ]


def test_bad_download_input(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown granularity"):
        download_candles("BTC-USD", "7m", "0", "60", tmp_path)
    with pytest.raises(UserError, match="--end must be after"):
        download_candles("BTC-USD", "1m", "2025-01-02", "2025-01-01", tmp_path)
    with pytest.raises(UserError, match="--start 'yesterday'"):
        download_candles("BTC-USD", "1m", "yesterday", "2025-01-01", tmp_path)
    with pytest.raises(UserError, match="--sim-json"):
        download_candles("BTC-USD", "1m", "0", "60", tmp_path, sim_json=tmp_path / "nope.json")


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


def test_download_pages_no_trade_buckets_and_cache(sim, pm: PluginManager, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market = sim.state.markets["BTC-USD"]
    starts = sorted(market.bars)
    quiet = starts[310:313]  # three minutes without a trade, in the second page
    sim.call(lambda: [market.bars.pop(t) for t in quiet])
    first, last = starts[0] // NS, starts[790] // NS  # [first, last): 790 one-minute buckets
    sim_json = Path(sim.info.state_dir) / "sim.json"
    out = download_candles(
        "BTC-USD", "ONE_MINUTE", str(first), str(last), tmp_path, sim_json=sim_json
    )
    assert (out["pages"], out["pages_fetched"], out["pages_cached"]) == (3, 3, 0)
    assert out["candles"] + out["no_trade"] == 790
    assert out["no_trade"] == 3
    with sqlite3.connect(tmp_path / "candles.db") as conn:
        rows = conn.execute(
            "SELECT ts, open, close, volume, no_trade FROM candles WHERE no_trade = 1 ORDER BY ts"
        ).fetchall()
        before = conn.execute(
            "SELECT close FROM candles WHERE ts = ?", (quiet[0] - 60 * NS,)
        ).fetchone()[0]
    assert [r[0] for r in rows] == quiet
    assert all(r[1] == r[2] == before and r[3] == "0" for r in rows)  # flat at the last close
    # the venue's own figures, to the digit
    bar = market.bars[starts[5]]
    with sqlite3.connect(tmp_path / "candles.db") as conn:
        cached = conn.execute(
            "SELECT open, high, low, close, volume FROM candles WHERE ts = ?", (starts[5],)
        ).fetchone()
    assert cached == (str(bar.open), str(bar.high), str(bar.low), str(bar.close), str(bar.volume))
    # a second download of the range sends no request
    again = download_candles("BTC-USD", "1m", str(first), str(last), tmp_path, sim_json=sim_json)
    assert (again["pages_fetched"], again["pages_cached"]) == (0, 3)
    # the cache exports to a CSV that backtest reads
    csv = tmp_path / "sim.csv"
    assert export_csv("BTC-USD", "1m", csv, tmp_path)["rows"] == 790
    result = run_backtest(
        BacktestSpec(csv, "BTC-USD", (ComponentArg("sma_cross", {"fast": 5, "slow": 20}),)), pm
    )
    assert len(result.bars) == 790
    assert result.path == "vectorised"


def test_cli_download(run_main, sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim_json = Path(sim.info.state_dir) / "sim.json"
    end = time.time_ns() // NS + 3600  # past the present: clamped to the last complete bucket
    code, out, err = run_main(
        "data", "download", "--symbol", "BTC-USD", "--granularity", "5m",
        "--start", str(end - 7200 - 3600), "--end", str(end),
        "--sim-json", str(sim_json), "--state-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["granularity"] == "FIVE_MINUTE"
    assert data["clamped_to_last_complete_bucket"]
    assert data["pages_fetched"] == 1
    assert data["candles"] >= 20
    code, _, err = run_main(
        "data", "download", "--symbol", "NOPE-USD", "--start", "0", "--end", "600",
        "--sim-json", str(sim_json), "--state-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert "NOPE-USD" in err
    assert len(err.strip().splitlines()) == 1
