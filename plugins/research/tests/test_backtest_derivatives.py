"""`backtest` of futures and perpetuals: the margin pool is the cash, funding is paid every
hour, a drawdown at high leverage brings margin calls and a liquidation, an expiring future
is settled; all of it in the JSON, the rich summary and the HTML report."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.plugins import PluginManager
from gpt_trader_research.derivatives import MarginLevel, margin_level
from gpt_trader_research.engine import BacktestSpec, build_config, run_backtest
from gpt_trader_research.specs import ComponentArg
from research_support import DATA, cli

# 2025-05-23 06:00-14:00 UTC of the shared BTC/USDT 1m file: BTC falls ~3 % from 11:45 on.
DRAWDOWN = DATA / "btcusd_1m_20250523_drawdown.csv"
PERP = "BTC-PERP-INTX"
FUTURE = "BIT-21MAY25-CDE"  # expires 2025-05-21T15:00Z, inside the shipped sample
RSI = (ComponentArg("rsi", {"period": "14"}),)
SMA = (ComponentArg("sma_cross", {"fast": "60", "slow": "240"}),)


@pytest.fixture(scope="module")
def perp(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """The perp backtest from the CLI, 20x from a profile: its JSON and its HTML report."""
    tmp = tmp_path_factory.mktemp("perp")
    profile = tmp / "perp.toml"
    profile.write_text(
        '[profile]\nuniverse = ["BTC-PERP-INTX"]\n'
        '[[signals]]\nuse = "rsi"\nperiod = 14\n'
        '[run]\nleverage = "20"\nmargin_type = "CROSS"\n'
    )
    report = tmp / "perp.html"
    proc = cli(
        "backtest", "--data", str(DRAWDOWN), "--symbol", PERP, "--profile", str(profile),
        "--cash", "10000", "--fee-bps", "5", "--json", "--report", str(report),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), report.read_text()


def test_a_perp_backtest_trades_on_the_pool_at_the_profile_leverage(
    perp: tuple[dict[str, Any], str],
) -> None:
    out, _ = perp
    assert out["starting_cash"] == "10000.00"
    broker = out["config"]["broker"]
    assert (broker["starting_cash"], broker["perps_cash"]) == ("0", "10000")
    assert out["config"]["sizer"]["leverage"] == "20"
    assert out["path"] == "events"  # every bar: funding and margin do not wait for signals
    d = out["derivatives"]
    assert (d["product_type"], d["currency"], d["leverage"], d["margin_type"]) == (
        "PERPETUAL",
        "USDC",
        "20",
        "CROSS",
    )
    # All in at 20x: the first entry's notional is ~19.8 times the cash (5 % margin + fee).
    first = out["trades"][0]
    notional = Decimal(first["entry_price"]) * Decimal(first["size"])
    assert Decimal(190_000) < notional < Decimal(200_000)


def test_funding_margin_calls_and_the_liquidation_are_reported(
    perp: tuple[dict[str, Any], str],
) -> None:
    out, html = perp
    d = out["derivatives"]
    funding = d["funding"]
    assert funding["payments"] > 0
    assert Decimal(funding["paid"]) > 0  # longs pay a positive rate
    assert Decimal(funding["net"]) == Decimal(funding["received"]) - Decimal(funding["paid"])
    calls = d["margin_calls"]
    assert calls["count"] == len(calls["calls"]) >= 1
    assert calls["worst_level"] in ("WARNING", "DANGER")
    assert calls["calls"][0]["subject"] == "INTX"
    liq = d["liquidations"]
    assert liq["count"] == 1
    (fill,) = liq["fills"]
    assert Decimal(liq["realized_pnl"]) == Decimal(fill["realized_pnl"]) < 0
    assert Decimal(liq["fees"]) > 0
    # the margin call came before the liquidation it warned of
    assert calls["calls"][0]["time"] < fill["time"]
    assert d["settlements"] == []
    # The books add up: every trade's P&L (fees in) and funding, each rounded to the cent,
    # plus the rounding the report states, make the equity change.
    assert all(not t["open"] for t in out["trades"])
    r = out["reconciliation"]
    assert Decimal(r["trades_pnl"]) == sum(Decimal(t["pnl"]) for t in out["trades"])
    assert r["funding"] == funding["net"]
    assert Decimal(r["starting_cash"]) + Decimal(r["trades_pnl"]) + Decimal(r["funding"]) + Decimal(
        r["rounding"]
    ) == Decimal(out["final_equity"])
    assert abs(Decimal(r["rounding"])) <= (len(out["trades"]) + 3) * Decimal("0.005")
    assert "liquidation" in html
    assert f"{calls['count']} margin calls, 1 liquidations" in html


def test_the_rich_summary_shows_the_derivative_rows(run_main: Any) -> None:
    code, out, err = run_main(
        "backtest", "--data", str(DRAWDOWN), "--symbol", PERP, "--signal", "rsi:period=14",
        "--leverage", "20", "--cash", "10000", "--fee-bps", "5", "--trades", "0",
    )  # fmt: skip
    assert code == 0, err
    for text in ("leverage", "20, CROSS margin", "funding", "payments: paid", "USDC",
                 "margin calls", "worst level", "liquidations", "1: realised -", "settlements"):  # fmt: skip
        assert text in out


def test_the_equity_curve_includes_funding(pm: PluginManager) -> None:
    spec = BacktestSpec(
        DRAWDOWN, PERP, RSI, cash=Decimal(10_000), fee_bps=Decimal(5), leverage=Decimal(10)
    )
    result = run_backtest(spec, pm)
    assert result.recorder.funding
    assert result.curve.equity[-1] == pytest.approx(float(result.final_equity), rel=1e-12)
    assert result.curve.equity[0] == pytest.approx(float(result.starting_cash), rel=1e-12)


def test_an_expiring_future_is_settled_in_the_backtest(sample: Path, pm: PluginManager) -> None:
    spec = BacktestSpec(
        sample, FUTURE, SMA, cash=Decimal(10_000), fee_bps=Decimal(5), leverage=Decimal(4)
    )
    config = build_config(spec)
    assert config.broker.params["futures_cash"] == "10000"
    assert config.run.quote_currency == "USD"
    result = run_backtest(spec, pm)
    d = result.derivatives
    assert d is not None
    (settled,) = d["settlements"]
    assert settled["time"] == "2025-05-21T15:00:00Z"
    assert Decimal(settled["size"]) > 0  # a long was open at the expiry
    assert Decimal(settled["fee"]) == 0
    assert d["funding"]["payments"] == 0  # a monthly future pays no funding
    # The kernel's position is flat after the expiry; later entries are refused.
    (pos,) = result.summary["positions"]
    assert (pos["symbol"], pos["size"]) == (FUTURE, "0")
    assert {r.reason for r in result.recorder.rejections} == {"PRODUCT_NOT_TRADING"}
    assert result.trips[-1].exit_price == Decimal(settled["price"])  # the last trade
    # Contracts are 0.01 BTC: P&L, equity and the curve are per contract size.
    assert result.starting_cash + sum(t.pnl for t in result.trips) == result.final_equity
    assert result.curve.equity[-1] == pytest.approx(float(result.final_equity), rel=1e-12)


def test_a_spot_backtest_has_no_derivative_part(sample: Path) -> None:
    config = build_config(BacktestSpec(sample, "BTC-USD", SMA, leverage=Decimal(5)))
    assert "perps_cash" not in config.broker.params
    assert "leverage" not in config.sizer.params
    assert config.broker.params["starting_cash"] == "100000"


@pytest.mark.parametrize(
    ("buffer", "level"),
    [
        ("60", MarginLevel.BASE),
        ("50", MarginLevel.BASE),
        ("49.99", MarginLevel.WARNING),
        ("20", MarginLevel.WARNING),
        ("5", MarginLevel.DANGER),
        ("0", MarginLevel.LIQUIDATION),
        ("-3", MarginLevel.LIQUIDATION),
    ],
)
def test_margin_levels(buffer: str, level: MarginLevel) -> None:
    assert margin_level(Decimal(buffer), Decimal(100)) == (level, Decimal(buffer))
    assert margin_level(Decimal(-1), Decimal(0))[0] is MarginLevel.BASE  # no position


def test_a_long_perp_backtest_on_the_full_file(full: Path, pm: PluginManager) -> None:
    spec = BacktestSpec(
        full, PERP, RSI, cash=Decimal(10_000), fee_bps=Decimal(5), leverage=Decimal(20)
    )
    result = run_backtest(spec, pm)
    d = result.derivatives
    assert d is not None
    # three months, hourly: liquidations bleed the account to cents by late June, when its
    # entries (fees rounded up to the cent) no longer reach the minimum size
    assert d["funding"]["payments"] > 700
    assert d["liquidations"]["count"] >= 1
    assert d["margin_calls"]["count"] >= d["liquidations"]["count"]
    assert result.curve.equity[-1] == pytest.approx(float(result.final_equity), rel=1e-9)
