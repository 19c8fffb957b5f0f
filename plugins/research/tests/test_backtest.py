"""`backtest`: the live kernel, guards and sizers over historical bars; reports; bad input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import Side, money
from gpt_trader.plugins import PluginManager
from gpt_trader_research.engine import BacktestSpec, build_config, load_series, run_backtest
from gpt_trader_research.specs import ComponentArg
from research_support import cli

SMA = (ComponentArg("sma_cross", {"fast": "10", "slow": "30"}),)


def spec(data: Path, **kw: object) -> BacktestSpec:
    base: dict[str, object] = {"signals": SMA, "fee_bps": Decimal(10)}
    base.update(kw)
    return BacktestSpec(data, "BTC-USD", **base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def result(sample: Path, pm: PluginManager):  # type: ignore[no-untyped-def]
    return run_backtest(spec(sample), pm)


def test_money_adds_up(result) -> None:  # type: ignore[no-untyped-def]
    fills = result.fills
    assert result.path == "vectorised"
    assert result.summary["fills"] == len(fills) > 0
    assert result.fees == sum((f.fee for f in fills), Decimal(0))
    assert isinstance(result.final_equity, Decimal)
    assert money.amount(result.final_equity, "USD") == result.summary["equity"]
    # Every round trip is closed on the sample: the P&L of the trades is the equity change,
    # to the last digit.
    assert all(not t.is_open for t in result.trips)
    assert result.starting_cash + sum(t.pnl for t in result.trips) == result.final_equity
    # The curve rebuilt from fills and closes ends at the kernel's equity.
    assert result.curve.equity[-1] == pytest.approx(float(result.final_equity), rel=1e-12)
    assert result.curve.equity[0] == pytest.approx(float(result.starting_cash))
    s = result.stats
    assert s["trades"] == len(result.trips) == 54
    assert s["fees"] == result.fees
    assert s["total_return"] == pytest.approx(float(result.final_equity / result.starting_cash - 1))
    assert -1 < s["max_drawdown"] < 0
    assert 0 < s["exposure"] < 1
    assert s["win_rate"] is not None
    assert 0 <= s["win_rate"] <= 1


def test_trades_come_from_the_fills(result) -> None:  # type: ignore[no-untyped-def]
    bars = result.bars
    fills = result.fills
    for trip, (buy, sell) in zip(
        result.trips, zip(fills[::2], fills[1::2], strict=True), strict=True
    ):
        assert (buy.side, sell.side) == (Side.BUY, Side.SELL)
        assert trip.entry_price == buy.price
        assert trip.exit_price == sell.price
        assert trip.size == buy.size == sell.size
        assert trip.fees == buy.fee + sell.fee
        assert trip.pnl == (sell.price - buy.price) * buy.size - buy.fee - sell.fee
        # next-open fills: each at the open of the bar after the decision
        assert Decimal(bars.raw[trip.entry_bar][0]) == buy.price
        assert bars.ts[trip.entry_bar] == buy.ts


def test_all_in_sizing_spends_the_cash(result) -> None:  # type: ignore[no-untyped-def]
    cash = result.starting_cash
    for trip in result.trips[:10]:
        cost = trip.size * trip.entry_price
        # all-in at the decision bar's close; the fill is at the next open (a tick away)
        assert cost * Decimal("1.001") == pytest.approx(cash, rel=Decimal("0.0002"))
        cash += trip.pnl


def test_the_event_path_gives_the_same_fills(sample: Path, pm: PluginManager, result) -> None:  # type: ignore[no-untyped-def]
    events = run_backtest(spec(sample), pm, vectorise=False)
    assert events.path == "events"
    assert events.kernel_bars == len(events.bars)
    assert [(f.ts, f.side, f.price, f.size, f.fee) for f in events.fills] == [
        (f.ts, f.side, f.price, f.size, f.fee) for f in result.fills
    ]
    assert events.final_equity == result.final_equity


def test_fill_at_close_and_slippage(sample: Path, pm: PluginManager, result) -> None:  # type: ignore[no-untyped-def]
    close = run_backtest(spec(sample, fill="close"), pm)
    bars = close.bars
    first = close.trips[0]
    decided = result.trips[0].entry_bar - 1  # the bar whose close the decision was made at
    assert first.entry_price == Decimal(bars.raw[decided][3])
    slipped = run_backtest(spec(sample, slippage_bps=Decimal(5)), pm)
    base, worse = result.trips[0], slipped.trips[0]
    assert worse.entry_bar == base.entry_bar
    assert worse.entry_price == (base.entry_price * Decimal("1.0005")).quantize(
        Decimal("0.01"), "ROUND_CEILING"
    )
    assert slipped.final_equity < result.final_equity


def test_fees_map_to_the_sim_broker(sample: Path) -> None:
    config = build_config(spec(sample, fee_bps=Decimal("7.5"), volume_participation=Decimal("0.1")))
    broker = config.broker.params
    assert (broker["maker_fee_bps"], broker["taker_fee_bps"]) == ("7.5", "7.5")
    assert broker["market_fill"] == "next_open"
    assert broker["persist"] is False
    assert broker["volume_participation"] == "0.1"
    assert config.sizer.use == "all_in"
    assert config.sizer.params["fee_bps"] == "7.5"
    default = build_config(spec(sample, fee_bps=None))
    assert default.broker.params["taker_fee_bps"] == "60"


def test_a_profile_brings_its_guards_and_sizer(
    sample: Path, pm: PluginManager, tmp_path: Path
) -> None:
    pytest.importorskip("gpt_trader_risk")
    profile = tmp_path / "guarded.toml"
    profile.write_text(
        '[profile]\nuniverse = ["ETH-USD"]\n'
        '[[signals]]\nuse = "sma_cross"\nfast = 10\nslow = 30\n'
        '[[guards]]\nuse = "max_order_size"\nmax_notional = "50000"\n'
    )
    blocked = run_backtest(spec(sample, signals=(), profile=str(profile)), pm)
    assert blocked.stats["trades"] == 0
    assert blocked.summary["orders"] == 0
    assert blocked.recorder.rejections
    assert {r.source for r in blocked.recorder.rejections} == {"guard:max_order_size"}
    trips = blocked.summary["guard_trips"]
    assert trips
    assert trips[0]["guard"] == "max_order_size"
    # The profile's own sizer applies when it names one; a runtime guard sees every bar.
    profile.write_text(
        '[profile]\nuniverse = ["ETH-USD"]\n'
        '[[signals]]\nuse = "sma_cross"\nfast = 10\nslow = 30\n'
        '[sizer]\nuse = "fixed"\nsize = "0.5"\n'
        '[[guards]]\nuse = "max_drawdown"\npct = "0.5"\n'
    )
    guarded = run_backtest(
        spec(sample, signals=(), profile=str(profile), cash=Decimal(100_000)), pm
    )
    assert guarded.kernel_bars == len(guarded.bars)
    assert {t.size for t in guarded.trips} == {Decimal("0.5")}
    assert guarded.summary["trading_state"] == "REDUCE_ONLY"
    assert guarded.summary["guard_trips"][0]["guard"] == "max_drawdown"


def test_cli_json_report_and_png(sample: Path, tmp_path: Path) -> None:
    report, png = tmp_path / "r.html", tmp_path / "r.png"
    proc = cli(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD",
        "--signal", "rsi", "--signal", "macd_cross:fast=12,slow=26,signal=9",
        "--voter", "majority", "--fee-bps", "10", "--cash", "250000",
        "--json", "--report", str(report), "--png", str(png),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("bars", "trades", "stats", "trading_state", "guard_trips", "final_equity"):
        assert key in out
    assert out["bars"] == 3000
    assert out["starting_cash"] == "250000.00"
    assert out["trading_state"] == "ACTIVE"
    assert out["guard_trips"] == []
    assert [s["use"] for s in out["config"]["signals"]] == ["rsi", "macd_cross"]
    assert out["trades"]
    assert Decimal(out["trades"][0]["pnl"])
    for key in ("sharpe", "sortino", "cagr", "calmar", "max_drawdown", "win_rate",
                "profit_factor", "exposure", "total_return"):  # fmt: skip
        assert key in out["stats"]
    html = report.read_text()
    assert out["report"] == str(report)
    assert "plotly" in html.lower()
    assert "equity" in html
    assert out["png"] is None
    assert "kaleido" in out["png_skipped"]
    assert not png.exists()
    assert proc.stderr == ""  # no progress bar and no note with --json


def test_cli_table(sample: Path) -> None:
    proc = cli(
        "backtest",
        "--data",
        str(sample),
        "--symbol",
        "BTC-USD",
        "--signal",
        "sma_cross",
        "--trades",
        "4",
        "--png",
        "x.png",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Sharpe" in proc.stdout
    assert "trades (" in proc.stdout
    assert "kaleido" in proc.stderr
    assert "skipped" in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--data", "nope.csv"], "not found"),
        (["--signal", "sma_crossx"], "unknown signal 'sma_crossx'"),
        (["--signal", "sma_cross:fast"], "bad parameter 'fast'"),
        (["--signal", "sma_cross:fast=30,slow=10"], "fast (30) must be less than slow (10)"),
        (["--signal", "sma_cross:speed=3"], "unknown field"),
        (["--fee-bps", "ten"], "--fee-bps 'ten' is not a number"),
        (["--fill", "later"], "--fill must be next_open or close"),
        (["--symbol", "btc"], "is not a product id"),
        (["--product", "FOO-USD:price_increment=1,size=2"], "unknown key 'size'"),
        (["--profile", "nosuchprofile"], "unknown profile"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_main, sample: Path, args: list[str], needle: str
) -> None:  # type: ignore[no-untyped-def]
    base = {"--data": str(sample), "--symbol": "BTC-USD", "--signal": "sma_cross"}
    it = iter(args)
    for key, value in zip(it, it, strict=True):
        base[key] = value
    argv = ["backtest"] + [x for kv in base.items() for x in kv]
    code, out, err = run_main(*argv)
    assert code == 2, (out, err)
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("gpt-trader: error:")


@pytest.mark.parametrize(
    ("option", "where", "needle"),
    [
        ("--report", "file/r.html", "is a file, not a directory"),
        ("--report", "file/deeper/r.html", "is a file, not a directory"),
        ("--report", "dir.html", "is a directory"),
        ("--png", "file/r.png", "is a file, not a directory"),
    ],
)
def test_an_output_path_that_cannot_be_a_file_says_why(  # type: ignore[no-untyped-def]
    run_main, sample: Path, tmp_path: Path, option: str, where: str, needle: str
) -> None:
    (tmp_path / "file").write_text("a regular file")
    (tmp_path / "dir.html").mkdir()
    target = tmp_path / where
    code, out, err = run_main(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD", "--signal", "sma_cross",
        option, str(target),
    )  # fmt: skip
    assert code == 2, (out, err)
    [line] = err.strip().splitlines()
    assert line.startswith(f"gpt-trader: error: {option} {target}: "), line
    assert needle in line
    assert "File exists" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.html", "file"]


def test_malformed_csv(run_main, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,open,high,low,close,volume\n2025-01-01T00:00:00Z,1,2,0.5,1.5,3\n2025-01-01T00:01:00Z,1,x,1,1,1\n"
    )
    code, _, err = run_main(
        "backtest", "--data", str(bad), "--symbol", "BTC-USD", "--signal", "sma_cross"
    )
    assert code == 2
    assert "bad.csv:3: malformed row" in err


def test_series_cache_and_load(sample: Path) -> None:
    a = load_series(sample, "BTC-USD")
    assert load_series(sample, "BTC-USD") is a
    assert len(a) == 3000
