"""Runtime guards: each trips at its threshold and not below, says value, threshold and
context, sets ``action`` from ``on_critical``, and reports changes rather than every tick."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path

from gpt_trader.domain import GuardResult, Severity, TradingState
from gpt_trader.domain.market import NS
from risk_support import FakeState, build_ctx, build_guard

CRIT, WARN, OK = Severity.CRITICAL, Severity.WARN, Severity.OK


# ---- daily_loss ---------------------------------------------------------------------
def test_daily_loss_message_names_value_limit_and_parts(state: FakeState) -> None:
    guard = build_guard("daily_loss", limit="10")
    state.equity = D(1000)
    assert guard.evaluate(state).severity is OK  # records the day's start equity
    state.realized_pnl = D(-8)
    state.equity = D("987.60")
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert result.action is TradingState.REDUCE_ONLY
    assert result.message == (
        "daily loss 12.40 USD exceeds limit 10 USD (realised -8.00, unrealised -4.40)"
    )
    assert result.value == D("12.40")
    assert result.threshold == D(10)
    assert result.context["day_start_equity"] == "1000"


def test_daily_loss_prints_money_to_the_cent(state: FakeState) -> None:
    guard = build_guard("daily_loss", limit="10")
    state.equity = D(1000)
    guard.evaluate(state)
    state.realized_pnl = D("-10.0049")
    state.equity = D("989.9951")
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert result.message == (
        "daily loss 10.00 USD exceeds limit 10 USD (by less than 0.01 USD) "
        "(realised -10.00, unrealised 0.00)"
    )
    assert result.value == D("10.0049")  # the measure stays exact


def test_daily_loss_trips_at_the_limit_not_below(state: FakeState) -> None:
    guard = build_guard("daily_loss", limit="10", repeat=True)
    state.equity = D(1000)
    guard.evaluate(state)
    state.equity = D("990.01")
    below = guard.evaluate(state)
    assert below.severity is WARN  # 9.99 is in the 80 % band
    assert "9.99" in below.message
    state.equity = D(990)
    at = guard.evaluate(state)
    assert at.severity is CRIT
    assert "daily loss 10.00 USD reaches limit 10 USD" in at.message


def test_daily_loss_restarts_each_utc_day(state: FakeState) -> None:
    guard = build_guard("daily_loss", limit="10")
    state.now = state.now - state.now % (86_400 * NS) + 86_399 * NS  # 23:59:59
    state.equity = D(1000)
    guard.evaluate(state)
    state.equity = D(985)
    assert guard.evaluate(state).severity is CRIT
    state.advance(1)  # 00:00:00 UTC: the new day starts from 985
    assert guard.evaluate(state).severity is OK
    state.equity = D(976)
    assert guard.evaluate(state).severity is WARN
    assert guard.start is not None
    assert guard.start.equity == D(985)


def test_daily_loss_pct_and_the_tighter_limit_wins(state: FakeState) -> None:
    guard = build_guard("daily_loss", pct="2", limit="50", repeat=True)
    state.equity = D(1000)  # 2 % = 20, tighter than 50
    guard.evaluate(state)
    state.equity = D("980.01")
    assert guard.evaluate(state).severity is WARN
    state.equity = D(980)
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert result.threshold == D(20)


def test_daily_loss_on_critical_halted(state: FakeState) -> None:
    guard = build_guard("daily_loss", limit="1", on_critical="halted")
    guard.evaluate(state)
    state.equity -= 1
    assert guard.evaluate(state).action is TradingState.HALTED


def test_daily_loss_survives_a_restart_the_same_day(state: FakeState, tmp_path: Path) -> None:
    ctx = build_ctx(tmp=tmp_path, mode="live")
    first = build_guard("daily_loss", ctx, limit="10")
    state.equity = D(1000)
    first.evaluate(state)
    saved = json.loads(first.state_file.read_text())
    assert saved["equity"] == "1000"
    state.equity = D(992)  # lost 8, then the bot restarts
    second = build_guard("daily_loss", ctx, limit="10")
    state.advance(60)
    state.equity = D(990)
    assert second.evaluate(state).severity is CRIT
    state.advance(86_400)  # another day: the stored start is not reused
    third = build_guard("daily_loss", ctx, limit="10")
    assert third.evaluate(state).severity is OK


# ---- max_drawdown -------------------------------------------------------------------
def test_max_drawdown_boundary(state: FakeState) -> None:
    guard = build_guard("max_drawdown", repeat=True)  # 10 %
    state.peak_equity = D(1000)
    state.equity = D("900.01")
    assert guard.evaluate(state).severity is WARN
    state.equity = D(900)
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert result.action is TradingState.REDUCE_ONLY
    assert result.message == (
        "drawdown 10.00% from peak 1000.00 USD reaches limit 10% (equity 900.00)"
    )
    assert result.value == D(10)
    assert result.threshold == D(10)


def test_max_drawdown_remembers_a_peak_the_kernel_did_not(state: FakeState) -> None:
    guard = build_guard("max_drawdown", pct="5")
    state.peak_equity = D(1000)
    state.equity = D(1100)
    guard.evaluate(state)
    state.equity = D(1045)
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert "from peak 1100.00" in result.message


# ---- error_rate ---------------------------------------------------------------------
@dataclass
class KernelLike(FakeState):
    broker_calls: int = 0
    broker_errors: int = 0


def test_error_rate_boundary() -> None:
    state = KernelLike()
    guard = build_guard("error_rate", repeat=True)  # 50 % of >= 5 calls in 60 s
    guard.evaluate(state)
    state.broker_calls, state.broker_errors = 4, 4
    state.advance(1)
    assert guard.evaluate(state).severity is OK  # too few calls to judge
    state.broker_calls, state.broker_errors = 6, 2
    assert guard.evaluate(state).severity is OK  # 33 %
    state.broker_calls, state.broker_errors = 10, 4
    assert guard.evaluate(state).severity is WARN  # 40 %: the band starts at 80 % of 50 %
    state.broker_calls, state.broker_errors = 10, 5
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert result.action is TradingState.HALTED
    assert "broker error rate 50.0% (5 of 10 calls in the last 60 s) reaches limit 50%" in (
        result.message
    )
    assert result.value == D("0.5")
    assert result.threshold == D("0.5")


def test_error_rate_window_forgets_old_errors() -> None:
    state = KernelLike()
    guard = build_guard("error_rate", window_s="60")
    guard.evaluate(state)
    state.broker_calls, state.broker_errors = 10, 10
    state.advance(1)
    assert guard.evaluate(state).severity is CRIT
    for _ in range(70):  # a minute of healthy calls
        state.advance(1)
        state.broker_calls += 1
        guard.evaluate(state)
    assert guard.evaluate(state).severity is OK


# ---- volatility_breaker -------------------------------------------------------------
def test_volatility_breaker_boundary(state: FakeState) -> None:
    guard = build_guard("volatility_breaker", symbols=["BTC-USD"], repeat=True)
    state.prices["BTC-USD"] = D(100)
    assert guard.evaluate(state).severity is OK
    state.advance(10)
    state.prices["BTC-USD"] = D(105)
    assert guard.evaluate(state).severity is WARN  # exactly 5 %: not above
    state.advance(10)
    state.prices["BTC-USD"] = D("105.01")
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert result.action is TradingState.REDUCE_ONLY
    assert result.message == ("BTC-USD moved 5.01% within 300 s (100 -> 105.01), exceeds limit 5%")
    assert result.threshold == D(5)


def test_volatility_breaker_sees_falls_and_forgets_old_prices(state: FakeState) -> None:
    guard = build_guard("volatility_breaker", pct="5", window_s="300")
    state.prices["ETH-USD"] = D(100)
    guard.evaluate(state)
    state.advance(301)
    state.prices["ETH-USD"] = D(94)  # the 100 left the window
    assert guard.evaluate(state).severity is OK
    state.advance(10)
    state.prices["ETH-USD"] = D("89.29")  # 5.01 % below 94
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert "(94 -> 89.29)" in result.message


# ---- consecutive_losses -------------------------------------------------------------
def test_consecutive_losses_boundary_and_reset(state: FakeState) -> None:
    guard = build_guard("consecutive_losses", max_losses=3)
    state.trades["BTC-USD"] = [D(5), D(-1), D(-2)]
    assert guard.evaluate(state).severity is OK  # 2 of 3 (the band starts at 2.4)
    state.trades["ETH-USD"] = [D(-1)]
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert result.message == "3 losing trades in a row in the portfolio reaches limit 3"
    assert result.value == D(3)
    assert result.threshold == D(3)
    state.trades["ETH-USD"].append(D(-1))
    assert guard.evaluate(state).severity is OK  # the count restarted after the trip
    state.trades["BTC-USD"].append(D(1))
    state.trades["BTC-USD"].append(D(-1))
    assert guard.evaluate(state).severity is OK


def test_consecutive_losses_per_symbol(state: FakeState) -> None:
    guard = build_guard("consecutive_losses", max_losses=2, scope="symbol")
    state.trades = {"BTC-USD": [D(-1)], "ETH-USD": [D(-1)]}
    assert guard.evaluate(state).severity is OK  # one each: the band starts at 1.6
    state.trades["ETH-USD"].append(D(-3))
    result = guard.evaluate(state)
    assert result.severity is CRIT
    assert "on ETH-USD" in result.message


# ---- stale_data (runtime side) ------------------------------------------------------
def test_stale_data_runtime_warns_then_halts(state: FakeState) -> None:
    guard = build_guard("stale_data", symbols=["BTC-USD"], halt_after_s="120")
    state.market_ts["BTC-USD"] = state.now
    assert guard.evaluate(state).severity is OK
    state.advance(31)
    warn = guard.evaluate(state)
    assert warn.severity is WARN
    assert "BTC-USD 31.0 s" in warn.message
    state.advance(89)
    assert guard.evaluate(state).severity is OK  # still stale: already said
    state.advance(1)
    crit = guard.evaluate(state)
    assert crit.severity is CRIT
    assert crit.action is TradingState.REDUCE_ONLY
    assert crit.threshold == D(120)


# ---- edge-triggered reports ---------------------------------------------------------------
def test_reports_once_and_again_when_an_operator_loosens(state: FakeState) -> None:
    guard = build_guard("max_drawdown")
    state.peak_equity = D(1000)
    state.equity = D(800)
    assert guard.evaluate(state).severity is CRIT
    state.trading_state = TradingState.REDUCE_ONLY  # the kernel acted on it
    quiet = guard.evaluate(state)
    assert quiet.severity is OK
    assert "already reported" in quiet.message
    state.trading_state = TradingState.ACTIVE  # an operator resumed; the breach persists
    assert guard.evaluate(state).severity is CRIT
    state.trading_state = TradingState.REDUCE_ONLY
    state.equity = D(1000)
    assert guard.evaluate(state).severity is OK
    state.equity = D(850)
    assert guard.evaluate(state).severity is CRIT  # a new breach is news


def test_a_loss_inside_the_limits_passes_without_a_report(state: FakeState) -> None:
    """A runtime guard runs after every fill: within its limits it only says OK (the guard
    stack drops OK results), and a later breach is still news."""
    guard = build_guard("daily_loss", limit="10")
    state.equity = D(1000)
    assert guard.evaluate(state) == GuardResult.passed("daily_loss")
    state.equity = D("995")
    assert guard.evaluate(state) == GuardResult.passed("daily_loss")
    state.equity = D("989")
    assert guard.evaluate(state).severity is CRIT
