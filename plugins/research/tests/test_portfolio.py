"""Portfolio backtests: ``backtest --profile P --data DIR`` over the profile's whole universe.

The data is the shipped BTC sample turned into ten products (research_support.write_universe:
each product's bars rotated and scaled to its price, on its increments, timestamps shared).
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.sim.products import DEV_UNIVERSE, default_products
from gpt_trader_research.engine import BacktestSpec, run_backtest
from gpt_trader_research.portfolio import PortfolioSpec, run_portfolio
from gpt_trader_research.universe import load_universe
from research_support import SAMPLE, cli, write_universe

BARS = 1_000
FIVE = list(DEV_UNIVERSE[:5])


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_universe(SAMPLE, tmp_path_factory.mktemp("universe"), bars=BARS)


def _profile(tmp: Path, guards: str = "", symbols: list[str] = FIVE) -> Path:
    """A dev-like profile: SMA 5/20 on each product, $100 a trade, the given guards."""
    path = tmp / "portfolio.toml"
    path.write_text(
        f"""
[profile]
mode = "sim"
universe = {json.dumps(symbols)}

[broker]
use = "sim"
starting_cash = "100000"

[feed]
use = "synthetic"

[[signals]]
use = "sma_cross"
fast = 5
slow = 20

[sizer]
use = "fixed"
notional = "100"
{guards}
""",
        encoding="utf-8",
    )
    return path


def _trades(trips: list[Any], units: Any) -> list[dict[str, Any]]:
    return [t.to_json(units) for t in trips]


# ---- the ten-product run through the CLI --------------------------------------------------


def test_dev_profile_ten_products_json(universe: Path) -> None:
    proc = cli("backtest", "--profile", "dev", "--data", str(universe), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["symbols"] == list(DEV_UNIVERSE)
    assert out["bars"] == 10 * BARS
    # the vectorised replay: only bars with a signal or a working order, and the timer
    # ticks the guards need, go through the kernel (test_portfolio_paths holds it equal)
    assert out["path"] == "vectorised"
    assert 0 < out["kernel_bars"] < 10 * BARS
    assert set(out["products"]) == set(DEV_UNIVERSE)
    products = default_products(DEV_UNIVERSE)
    for symbol, part in out["products"].items():
        assert part["bars"] == BARS
        assert part["stats"]["trades"] > 0, symbol
        places = -products[symbol].price_increment.as_tuple().exponent
        for trade in part["trades"]:
            # prices on the product's increment, money in cents
            assert len(trade["entry_price"].partition(".")[2]) == places, trade
            assert len(trade["pnl"].partition(".")[2]) == 2, trade
    # the trades add up to the equity change, to the cent
    rec = out["reconciliation"]
    assert Decimal(rec["starting_cash"]) + Decimal(rec["trades_pnl"]) + Decimal(
        rec["rounding"]
    ) == Decimal(rec["final_equity"])
    assert abs(Decimal(rec["rounding"])) < Decimal("0.01") * out["stats"]["trades"]
    assert rec["final_equity"] == out["final_equity"]
    # each product's contribution is its trades' P&L; together the portfolio's change
    pnl = {c["symbol"]: Decimal(c["pnl"]) for c in out["contribution"]}
    assert pnl == {s: Decimal(p["pnl"]) for s, p in out["products"].items()}
    for s, p in out["products"].items():
        trades = sum((Decimal(t["pnl"]) for t in p["trades"]), Decimal(0))
        assert abs(pnl[s] - trades) <= Decimal("0.005") * len(p["trades"]), s
    curve = out["curve"]
    assert len(curve["time"]) == len(curve["equity"]) == len(curve["exposure"]) == BARS
    assert curve["equity"][-1] == out["final_equity"]
    assert any(Decimal(x) > 0 for x in curve["exposure"])
    assert all(d <= 0 for d in curve["drawdown"])


def test_dev_profile_ten_products_tables_and_html(universe: Path, tmp_path: Path) -> None:
    report = tmp_path / "portfolio.html"
    proc = cli(
        "backtest", "--profile", "dev", "--data", str(universe), "--report", str(report),
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "portfolio backtest: 10 products (dev)" in proc.stdout
    for symbol in DEV_UNIVERSE:
        assert symbol in proc.stdout
    assert f"report: {report}" in proc.stdout
    html = report.read_text(encoding="utf-8")
    for title in ("equity", "drawdown", "gross exposure", "P&L by product"):
        assert title in html
    for symbol in DEV_UNIVERSE:
        assert symbol in html


# ---- the same trades as one product at a time ---------------------------------------------


def test_each_product_trades_as_its_single_backtest(universe: Path, tmp_path: Path) -> None:
    profile = _profile(tmp_path, guards='[[guards]]\nuse = "max_open_orders"\nmax_orders = 20')
    files = tuple(universe / f"{s}.csv" for s in FIVE)  # several files, one per product
    result = run_portfolio(PortfolioSpec(BacktestSpec(universe, "", profile=str(profile)), files))
    assert list(result.products) == FIVE
    for symbol, part in result.products.items():
        single = run_backtest(
            BacktestSpec(universe / f"{symbol}.csv", symbol, profile=str(profile))
        )
        assert part.trips, symbol
        assert _trades(part.trips, part.units) == _trades(single.trips, single.units), symbol
        assert part.fees == single.fees
        assert part.pnl == single.final_equity - single.starting_cash
    assert result.final_equity - result.starting_cash == sum(
        (p.pnl for p in result.products.values()), Decimal(0)
    )


def test_exposure_guard_acts_across_products(universe: Path, tmp_path: Path) -> None:
    """At most $250 of positions in all (two $100 positions): a third product's entry is
    refused by the guard, which no single-product backtest ever sees."""
    guard = '[[guards]]\nuse = "exposure"\nmax_gross_pct = "0.25"'
    profile = _profile(tmp_path, guards=guard)
    files = tuple(universe / f"{s}.csv" for s in FIVE)
    result = run_portfolio(PortfolioSpec(BacktestSpec(universe, "", profile=str(profile)), files))
    refused = result.rejections()
    assert refused
    assert {r["source"] for r in refused} == {"guard:exposure"}
    assert len({r["symbol"] for r in refused}) > 1
    singles = 0
    for symbol in FIVE:
        single = run_backtest(
            BacktestSpec(universe / f"{symbol}.csv", symbol, profile=str(profile))
        )
        assert not single.rejections()
        singles += len(single.trips)
    assert sum(len(p.trips) for p in result.products.values()) < singles
    assert float(result.curve.exposure.max()) <= 250 * 1.01


# ---- the loader: Parquet, long files ------------------------------------------------------


def test_parquet_and_long_files_load_as_the_csvs(universe: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csvs = load_universe([universe], DEV_UNIVERSE)
    parquet_dir = tmp_path / "parquet"
    parquet_dir.mkdir()
    tables = []
    for symbol in DEV_UNIVERSE:
        table = pacsv.read_csv(universe / f"{symbol}.csv")  # timestamps, float prices
        pq.write_table(table, parquet_dir / f"{symbol}.parquet")
        tables.append(table.append_column("symbol", pa.array([symbol] * table.num_rows)))
    long = pa.concat_tables(tables)
    pq.write_table(long, tmp_path / "long.parquet")
    pacsv.write_csv(long, tmp_path / "long.csv")
    for source in ([parquet_dir], [tmp_path / "long.parquet"], [tmp_path / "long.csv"]):
        loaded = load_universe(source, DEV_UNIVERSE)
        assert list(loaded) == list(DEV_UNIVERSE)
        for symbol, series in loaded.items():
            want = csvs[symbol]
            assert series.ts == want.ts, (source, symbol)
            assert series.interval_s == want.interval_s
            assert series.close == want.close
            # the same exact prices (float columns give their shortest round-trip text)
            assert [Decimal(r[3]) for r in series.raw] == [Decimal(r[3]) for r in want.raw]
    # several files: per-product ones and a long one together
    some = load_universe(
        [universe / "BTC-USD.csv", parquet_dir / "ETH-USD.parquet"], ["BTC-USD", "ETH-USD"]
    )
    assert some["ETH-USD"].ts == csvs["ETH-USD"].ts


# ---- bad input: one line, exit 2, nothing written -----------------------------------------


def _copy(universe: Path, tmp: Path) -> Path:
    out = tmp / "data"
    shutil.copytree(universe, out)
    return out


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _outside(d: Path) -> str:
    shutil.copy(d / "BTC-USD.csv", d / "EUR-USD.csv")
    return "EUR-USD is not in the profile's universe"


def _granularity(d: Path) -> str:
    lines = _lines(d / "ETH-USD.csv")
    _write(d / "ETH-USD.csv", [lines[0], *lines[1::5]])
    return "different granularities (BTC-USD 60s, ETH-USD 300s"


def _overlap(d: Path) -> str:
    lines = _lines(d / "SOL-USD.csv")
    _write(d / "SOL-USD.csv", [*lines[:11], lines[10], *lines[11:]])
    return "SOL-USD.csv:12: malformed row: timestamp is not after the previous row's"


def _unsorted(d: Path) -> str:
    lines = _lines(d / "XRP-USD.csv")
    lines[5], lines[6] = lines[6], lines[5]
    _write(d / "XRP-USD.csv", lines)
    return "XRP-USD.csv:7: malformed row: timestamp is not after the previous row's"


def _no_high(d: Path) -> str:
    rows = [line.split(",") for line in _lines(d / "LTC-USD.csv")]
    _write(d / "LTC-USD.csv", [",".join(r[:2] + r[3:]) for r in rows])
    return "LTC-USD.csv:1: header must name the columns"


def _nan(d: Path) -> str:
    lines = _lines(d / "ADA-USD.csv")
    row = lines[20].split(",")
    row[4] = "NaN"
    lines[20] = ",".join(row)
    _write(d / "ADA-USD.csv", lines)
    return "ADA-USD.csv:21: malformed row: inconsistent OHLCV"


def _long(d: Path, edit: Any) -> Path:
    """Every product's rows in one CSV with a symbol column, ``edit``ed, instead of the dir."""
    rows = ["symbol,timestamp,open,high,low,close,volume"]
    for symbol in DEV_UNIVERSE:
        rows += [f"{symbol},{line}" for line in _lines(d / f"{symbol}.csv")[1:]]
        (d / f"{symbol}.csv").unlink()
    edit(rows)
    _write(d / "all.csv", rows)
    return d / "all.csv"


def _long_nan(d: Path) -> str:
    def edit(rows: list[str]) -> None:
        rows[30] = rows[30].rsplit(",", 2)[0] + ",nan," + rows[30].rsplit(",", 1)[1]

    _long(d, edit)
    return "all.csv:31: close is NaN"


def _long_overlap(d: Path) -> str:
    def edit(rows: list[str]) -> None:
        rows.insert(BARS + 5, rows[BARS + 4])  # ETH-USD's 4th bar twice

    _long(d, edit)
    return "ETH-USD: bars out of order or overlapping"


def _parquet_missing_close(d: Path) -> str:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(d / "BCH-USD.csv").drop_columns(["close"])
    (d / "BCH-USD.csv").unlink()
    pq.write_table(table, d / "BCH-USD.parquet")
    return "BCH-USD.parquet: no close column"


def _two_sources(d: Path) -> str:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    pq.write_table(pacsv.read_csv(d / "LINK-USD.csv"), d / "LINK-USD.parquet")
    return "bars for LINK-USD come from two files"


def _missing_product(d: Path) -> str:
    (d / "AVAX-USD.csv").unlink()
    return "no bars for AVAX-USD"


BAD = {
    "product outside the profile": _outside,
    "mismatched granularities": _granularity,
    "overlapping bars": _overlap,
    "unsorted bars": _unsorted,
    "missing OHLC column": _no_high,
    "NaN price": _nan,
    "NaN price, long file": _long_nan,
    "overlapping bars, long file": _long_overlap,
    "missing close, parquet": _parquet_missing_close,
    "two files for one product": _two_sources,
    "a product without bars": _missing_product,
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_data_one_line_exit_2_nothing_written(
    case: str, universe: Path, tmp_path: Path
) -> None:
    data = _copy(universe, tmp_path)
    expected = BAD[case](data)
    report = tmp_path / "out" / "report.html"
    proc = cli("backtest", "--profile", "dev", "--data", str(data), "--report", str(report))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert expected in err, err
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()


def test_a_derivative_in_the_universe_is_refused(universe: Path, tmp_path: Path) -> None:
    profile = _profile(tmp_path, symbols=["BTC-USD", "BTC-PERP-INTX"])
    proc = cli("backtest", "--profile", str(profile), "--data", str(universe))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "gpt-trader: error: BTC-PERP-INTX: futures and perpetuals backtest one at a time (--symbol), "
        "not in a portfolio"
    )


def test_bad_flag_combinations(universe: Path) -> None:
    proc = cli("backtest", "--data", str(universe))
    assert proc.returncode == 2
    assert "give --symbol (one product) or --profile" in proc.stderr
    proc = cli(
        "backtest", "--symbol", "BTC-USD", "--signal", "sma_cross",
        "--data", str(universe / "BTC-USD.csv"), "--data", str(universe / "ETH-USD.csv"),
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--symbol backtests one file" in proc.stderr


# ---- optimize over the universe -----------------------------------------------------------


def test_optimize_portfolio_objective_is_the_portfolio_backtests(
    universe: Path, tmp_path: Path
) -> None:
    proc = cli(
        "optimize", "--profile", "dev", "--data", str(universe), "--signal", "sma_cross",
        "--space", "fast=3:8", "--space", "slow=15:30", "--trials", "3", "--batch", "3",
        "--objective", "return", "--state-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["symbol"] == "portfolio:dev"
    best = out["best"]
    params = best["params"]
    label = f"sma_cross:fast={params['sma_cross.fast']},slow={params['sma_cross.slow']}"
    again = cli(
        "backtest", "--profile", "dev", "--data", str(universe), "--signal", label, "--json"
    )
    assert again.returncode == 0, again.stderr
    portfolio = json.loads(again.stdout)
    assert best["value"] == portfolio["stats"]["total_return"]
    assert best["trades"] == portfolio["stats"]["trades"]
    assert best["final_equity"] == portfolio["final_equity"]


def test_optimize_portfolio_walk_forward(universe: Path, tmp_path: Path) -> None:
    from gpt_trader_research.optimize import OptimizeSpec, run_optimize
    from gpt_trader_research.specs import ComponentArg, parse_space

    signals = (ComponentArg("sma_cross", {}),)
    base = BacktestSpec(universe, "", signals, profile="dev")
    space = (parse_space("fast=3:8", list(signals)), parse_space("slow=15:30", list(signals)))
    spec = OptimizeSpec(base, space, trials=2, walk_forward=1, batch=2, portfolio=(universe,))
    result = run_optimize(spec, tmp_path)
    (fold,) = result.folds
    assert (fold.start, fold.stop) == (0, BARS // 2)
    assert fold.oos is not None
    assert fold.oos["trades"] > 0


def test_daily_loss_counts_every_products_losses(universe: Path, tmp_path: Path) -> None:
    """A $60 daily loss limit: no product loses that much alone, the five together do, and
    the breaker stops the portfolio's entries, as it would live."""
    profile = _profile(tmp_path, guards='[[guards]]\nuse = "daily_loss"\nlimit = "60"')
    files = tuple(universe / f"{s}.csv" for s in FIVE)
    result = run_portfolio(PortfolioSpec(BacktestSpec(universe, "", profile=str(profile)), files))
    trips = result.guard_trips()
    assert trips
    assert trips[0]["guard"] == "daily_loss"
    assert trips[0]["symbol"] == "portfolio"
    assert result.summary["trading_state"] != "ACTIVE"
    for symbol in FIVE:
        single = run_backtest(
            BacktestSpec(universe / f"{symbol}.csv", symbol, profile=str(profile))
        )
        assert not single.guard_trips(), symbol
        assert single.summary["trading_state"] == "ACTIVE"


def test_optimize_bad_data_writes_no_study(universe: Path, tmp_path: Path) -> None:
    data = _copy(universe, tmp_path)
    expected = _outside(data)
    state = tmp_path / "state"
    proc = cli(
        "optimize", "--profile", "dev", "--data", str(data), "--signal", "sma_cross",
        "--space", "fast=3:8", "--trials", "2", "--state-dir", str(state),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not state.exists()


def test_portfolio_from_the_data_catalogue_equals_the_directory(
    universe: Path, tmp_path: Path
) -> None:
    from gpt_trader_research.catalog_import import import_file

    catalog = tmp_path / "catalog"
    for symbol in DEV_UNIVERSE:
        import_file(universe / f"{symbol}.csv", symbol, catalog, None)
    from_dir = cli("backtest", "--profile", "dev", "--data", str(universe), "--json")
    from_catalog = cli(
        "backtest", "--profile", "dev", "--data", f"catalog:{catalog}/*@1m", "--json"
    )
    assert from_catalog.returncode == 0, from_catalog.stderr
    a, b = json.loads(from_dir.stdout), json.loads(from_catalog.stdout)
    assert (a["final_equity"], a["stats"]["trades"]) == (b["final_equity"], b["stats"]["trades"])


def test_portfolio_of_instruments_the_venue_does_not_list(tmp_path: Path) -> None:
    """Products described with --product (FX here) backtest as a portfolio like any other."""
    src = tmp_path / "fx"
    src.mkdir()
    sample = SAMPLE.read_text().splitlines()
    for symbol, scale in (("EUR-USD", Decimal("0.00001")), ("GBP-USD", Decimal("0.000012"))):
        rows = [sample[0]]
        for line in sample[1:]:
            ts, *ohlcv = line.split(",")
            prices = [str((Decimal(x) * scale).quantize(Decimal("0.00001"))) for x in ohlcv[:4]]
            rows.append(",".join([ts, *prices, ohlcv[4]]))
        (src / f"{symbol}.csv").write_text("\n".join(rows) + "\n")
    profile = tmp_path / "fx.toml"
    profile.write_text(
        '[profile]\nmode = "sim"\nuniverse = ["EUR-USD", "GBP-USD"]\n\n'
        '[broker]\nuse = "sim"\nstarting_cash = "100000"\n\n'
        '[[signals]]\nuse = "sma_cross"\nfast = 10\nslow = 30\n\n'
        '[sizer]\nuse = "fixed"\nnotional = "1000"\n'
    )
    proc = cli(
        "backtest", "--profile", str(profile), "--data", str(src), "--json",
        "--product", "EUR-USD:price_increment=0.00001,base_increment=1,quote=USD",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["symbols"] == ["EUR-USD", "GBP-USD"]
    # GBP-USD was not described: inferred from its data, with one warning line.
    assert "GBP-USD: no product description" in proc.stderr
    assert "EUR-USD" not in proc.stderr
