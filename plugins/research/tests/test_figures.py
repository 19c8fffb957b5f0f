"""What a backtest prints: money on its increments (half-even, through gpt_trader.domain.money),
P&L that reconciles with the equity change, and the time and symbol of every guard trip and
rejection; in ``--json``, the rich summary and the HTML report."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import money
from research_support import cli

CENT = Decimal("0.01")
SATOSHI = Decimal("0.00000001")
WIDE = {"COLUMNS": "200"}  # rich tables at full width: no figure cut short with an ellipsis
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def on_grid(text: str, increment: Decimal) -> bool:
    """``text`` is a figure with at most the increment's decimals, on its grid."""
    value = Decimal(text)
    return (
        -value.as_tuple().exponent <= -increment.as_tuple().exponent
        and money.quantize(value, increment) == value
    )


def backtest_json(*args: str) -> dict[str, Any]:
    proc = cli("backtest", "--symbol", "BTC-USD", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sma(sample: Path) -> dict[str, Any]:
    # A small account: every trade's exact P&L runs to ten decimals.
    return backtest_json(
        "--data", str(sample), "--signal", "sma_cross", "--fee-bps", "10", "--cash", "1000.5"
    )


def test_every_money_figure_is_on_its_increment(sma: dict[str, Any]) -> None:
    out = sma
    assert out["trades"]
    cash = [out["starting_cash"], out["final_equity"], out["fees"]]
    cash += [out["stats"][k] for k in ("best_trade", "worst_trade", "fees")]
    for t in out["trades"]:
        cash += [t["fees"], t["pnl"]]
        assert on_grid(t["entry_price"], CENT), t
        assert t["exit_price"] is None or on_grid(t["exit_price"], CENT), t
        assert on_grid(t["size"], SATOSHI), t
    bad = [x for x in cash if not on_grid(x, CENT)]
    assert bad == []
    # Ratios are not money: plain numbers.
    assert isinstance(out["stats"]["total_return"], float)
    assert isinstance(out["trades"][0]["return_pct"], float)


def test_the_trades_add_up_to_the_equity_change(sma: dict[str, Any]) -> None:
    """Each trade's P&L is its exact value rounded half-even to the cent; the sum of those
    printed figures misses the printed equity change by the rounding, which the report
    states: at most half a cent per rounded figure (the trades, funding, both ends)."""
    out = sma
    r = out["reconciliation"]
    trades = sum((Decimal(t["pnl"]) for t in out["trades"]), Decimal(0))
    assert Decimal(r["trades_pnl"]) == trades
    assert (r["starting_cash"], r["final_equity"]) == (out["starting_cash"], out["final_equity"])
    change = Decimal(out["final_equity"]) - Decimal(out["starting_cash"])
    assert trades + Decimal(r["funding"]) + Decimal(r["rounding"]) == change
    assert abs(Decimal(r["rounding"])) <= (len(out["trades"]) + 3) * CENT / 2
    assert all(on_grid(x, CENT) for x in r.values()), r


def test_the_rich_summary_and_the_html_report_print_quantised_money(
    sample: Path, tmp_path: Path
) -> None:
    report = tmp_path / "r.html"
    proc = cli(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD", "--signal", "sma_cross",
        "--fee-bps", "10", "--cash", "1000.5", "--trades", "100", "--report", str(report),
        env=WIDE,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    row = re.search(r"final equity\s+(\S+)", out)
    assert row is not None
    assert on_grid(row.group(1).replace(",", ""), CENT), row.group(0)
    assert re.search(r"trades\s+\S+ \+ funding \S+ \+ rounding \S+ = \S+", out)
    # No figure in the trades table has more decimals than a size (8) or a price (2).
    longest = max(len(m) for m in re.findall(r"\d+\.(\d+)", out))
    assert longest <= 8
    html = report.read_text()
    fills = re.findall(r"(?:BUY|SELL) ([\d.]+) @ ([\d.]+) fee ([\d.]+)", html)
    assert fills
    for size, price, fee in fills:
        assert (on_grid(size, SATOSHI), on_grid(price, CENT), on_grid(fee, CENT)) == (
            True,
            True,
            True,
        )
    title = re.search(r"fees ([\d.,-]+)", html)
    assert title is not None
    assert on_grid(title.group(1).replace(",", ""), CENT)


# ---- guard trips and rejections: when, and on what ----------------------------------------


def _profile(tmp_path: Path, guards: str, sizer: str = "") -> Path:
    path = tmp_path / "guarded.toml"
    path.write_text(
        '[profile]\nuniverse = ["BTC-USD"]\n'
        '[[signals]]\nuse = "sma_cross"\nfast = 10\nslow = 30\n' + sizer + guards
    )
    return path


def test_guard_trips_and_rejections_carry_time_and_symbol(sample: Path, tmp_path: Path) -> None:
    pytest.importorskip("gpt_trader_risk")
    blocked = _profile(tmp_path, '[[guards]]\nuse = "max_order_size"\nmax_notional = "50000"\n')
    out = backtest_json("--data", str(sample), "--profile", str(blocked))
    rejections, trips = out["rejections"], out["guard_trips"]
    assert rejections
    assert len(trips) == len(rejections)
    for r in rejections:
        assert ISO.match(r["time"]), r
        assert (r["symbol"], r["source"]) == ("BTC-USD", "guard:max_order_size")
        assert r["side"] == "BUY"
        assert on_grid(r["size"], SATOSHI)
        assert "order notional" in r["reason"]
    for t in trips:
        assert ISO.match(t["time"]), t
        assert (t["symbol"], t["stage"], t["guard"]) == (
            "BTC-USD",
            "pre_trade",
            "max_order_size",
        )
    # the first entry is refused at the bar it was decided on, after the slow average warms up
    assert out["start"] < rejections[0]["time"] < out["end"]
    assert [t["time"] for t in trips] == [r["time"] for r in rejections]


def test_a_venue_refusal_is_reported_by_its_typed_reason(sample: Path, tmp_path: Path) -> None:
    broke = _profile(tmp_path, "", sizer='[sizer]\nuse = "fixed"\nsize = "1000"\n')
    out = backtest_json("--data", str(sample), "--profile", str(broke), "--cash", "1000")
    venue = [r for r in out["rejections"] if r["source"] == "venue"]
    assert venue
    assert {r["reason"] for r in venue} == {"INSUFFICIENT_FUNDS"}


def test_a_runtime_trip_is_reported_with_time_and_symbol(sample: Path, tmp_path: Path) -> None:
    pytest.importorskip("gpt_trader_risk")
    guarded = _profile(
        tmp_path,
        '[[guards]]\nuse = "max_drawdown"\npct = "0.5"\n',
        sizer='[sizer]\nuse = "fixed"\nsize = "0.5"\n',
    )
    out = backtest_json("--data", str(sample), "--profile", str(guarded))
    (trip,) = out["guard_trips"]
    assert (trip["guard"], trip["stage"], trip["symbol"]) == (
        "max_drawdown",
        "runtime",
        "BTC-USD",  # portfolio-wide, in a backtest of one symbol
    )
    assert trip["time"] == "2025-05-20T00:53:00Z"
    assert out["trading_state"] == "REDUCE_ONLY"


def test_the_rich_summary_and_the_html_report_list_trips_and_rejections(
    sample: Path, tmp_path: Path
) -> None:
    pytest.importorskip("gpt_trader_risk")
    blocked = _profile(tmp_path, '[[guards]]\nuse = "max_order_size"\nmax_notional = "50000"\n')
    report = tmp_path / "r.html"
    proc = cli(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD", "--profile", str(blocked),
        "--report", str(report), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first = json.loads(proc.stdout)["rejections"][0]
    proc = cli(
        "backtest", "--data", str(sample), "--symbol", "BTC-USD", "--profile", str(blocked),
        env=WIDE,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    when = first["time"][:16].replace("T", " ")
    lines = [line for line in proc.stdout.splitlines() if when in line]
    assert any("max_order_size" in line and "BTC-USD" in line for line in lines), proc.stdout
    html = report.read_text()
    marker = f"{first['symbol']} max_order_size: rejected {first['side']} {first['size']}"
    assert marker in html
