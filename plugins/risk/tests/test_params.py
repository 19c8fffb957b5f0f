"""Registration, param validation, risk files and the shipped profiles."""

from __future__ import annotations

import tomllib
from decimal import Decimal as D
from pathlib import Path

import pytest
from gpt_trader.components import Kind
from gpt_trader.domain import TradingState
from gpt_trader.errors import UserError
from gpt_trader.protocols import PreTradeGuard, RuntimeGuard
from gpt_trader.registry import Registry
from gpt_trader_risk.plugin import GUARDS, SIZERS
from gpt_trader_risk.riskfile import load_risk_file
from risk_support import REPO_ROOT, SPOT_TOP10, build, build_ctx, build_guard, plugin_manager

TOP10 = ["BTC", "ETH", "SOL", "XRP", "LTC", "ADA", "DOGE", "BCH", "AVAX", "LINK"]

#: The fewest params each component needs, and what kind of guard it is.
MINIMAL: dict[str, tuple[dict[str, object], bool, bool]] = {
    "max_order_size": ({"max_size": "1"}, True, False),
    "max_position": ({"max_size": "1"}, True, False),
    "notional_caps": ({"caps": {"BTC-USD": "1000"}}, True, False),
    "leverage": ({}, True, False),
    "impact_cost": ({}, True, True),
    "liquidity": ({}, True, False),
    "reduce_only": ({}, True, False),
    "product_limits": ({}, True, False),
    "trading_window": ({"start": "14:00", "end": "15:00"}, True, False),
    "max_open_orders": ({}, True, False),
    "orders_per_minute": ({}, True, False),
    "stale_data": ({}, True, True),
    "exposure": ({}, True, False),
    "derivative_leverage": ({}, True, False),
    "margin_requirement": ({}, True, False),
    "daily_loss": ({"limit": "10"}, False, True),
    "max_drawdown": ({}, False, True),
    "error_rate": ({}, False, True),
    "volatility_breaker": ({}, False, True),
    "consecutive_losses": ({}, False, True),
    "liquidation_buffer": ({}, False, True),
}


def test_every_component_is_registered_under_its_own_name() -> None:
    reg = Registry(plugin_manager())
    guards = set(reg.names(Kind.GUARD))
    assert guards == set(MINIMAL)
    assert {"kelly", "atr", "regime"} <= set(reg.names(Kind.SIZER))
    for kind, table in ((Kind.GUARD, GUARDS), (Kind.SIZER, SIZERS)):
        for name, *_ in table:
            assert name == name.lower()
            assert not name.startswith(f"{kind.value}.")
            assert reg.get(kind, name).summary


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_each_guard_builds_and_has_the_right_role(name: str) -> None:
    params, pre, runtime = MINIMAL[name]
    guard = build_guard(name, **params)
    assert guard.name == name
    assert isinstance(guard, PreTradeGuard) is pre
    assert isinstance(guard, RuntimeGuard) is runtime


def test_exposure_with_correlation_is_also_a_runtime_sampler() -> None:
    guard = build_guard("exposure", min_correlation="0.8", max_correlated_pct="50")
    assert isinstance(guard, PreTradeGuard)
    assert isinstance(guard, RuntimeGuard)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "daily_loss",
            {"limit": "-10"},
            "limit: must be greater than zero (got -10)",
        ),
        ("daily_loss", {}, "set limit"),
        ("max_drawdown", {"pct": "-5"}, "pct: must be greater than zero"),
        ("max_drawdown", {"pct": "150"}, "must be at most 100"),
        (
            "max_order_size",
            {"max_size": {"BTC-USD": "-1"}},
            "must be greater than zero (got -1)",
        ),
        ("max_order_size", {}, "set max_size"),
        ("max_position", {"max_size": "0"}, "must be greater than zero"),
        ("notional_caps", {"caps": {"BTC-USD": "-100"}}, "must be greater than zero"),
        ("notional_caps", {"file": "no/such/file.toml"}, "does not exist"),
        ("impact_cost", {"max_bps": "-1"}, "must not be negative (got -1)"),
        ("error_rate", {"max_rate": "1.5"}, "must be a fraction in (0, 1]"),
        ("error_rate", {"on_critical": "active"}, "must be 'reduce_only' or 'halted'"),
        ("trading_window", {"start": "25:00", "end": "01:00"}, "not a UTC time"),
        ("trading_window", {"start": "10:00", "end": "10:00"}, "empty window"),
        ("stale_data", {"max_age_s": "-30"}, "must be greater than zero"),
        ("daily_loss", {"limit": "10", "limt": "5"}, "limt: unknown field"),
        ("exposure", {"groups": {"majors": ["BTC-USD"]}}, "groups need max_group_pct"),
        ("daily_loss", {"limit": "10", "warn_at": "2"}, "warn_at"),
        (
            "liquidation_buffer",
            {"warn_within": "0.05"},
            "reduce_within must not exceed warn_within",
        ),
        (
            "liquidation_buffer",
            {"halt_within": "0.1"},
            "halt_within must not exceed reduce_within",
        ),
        ("margin_requirement", {"headroom": "1"}, "headroom must be below 1"),
        ("derivative_leverage", {"per_product": {"BTC-PERP-INTX": "0"}}, "greater than"),
    ],
)
def test_bad_params_are_readable_user_errors(name: str, params: dict, message: str) -> None:
    with pytest.raises(UserError) as err:
        build_guard(name, **params)
    assert message in str(err.value)
    assert name in str(err.value)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("kelly", {"fraction": "0"}, "must be a fraction in (0, 1]"),
        ("kelly", {"prior_win_rate": "1.2"}, "less than or equal to 1"),
        ("atr", {"risk_pct": "-1"}, "must be greater than zero"),
        (
            "regime",
            {"notional": "100", "multipliers": {"trend": "-1"}},
            "must not be negative",
        ),
        ("regime", {}, "notional: Field required"),
    ],
)
def test_bad_sizer_params(name: str, params: dict, message: str) -> None:
    with pytest.raises(UserError) as err:
        build(Kind.SIZER, name, **params)
    assert message in str(err.value)


def test_on_critical_is_configurable() -> None:
    assert build_guard("daily_loss", limit="5").p.on_critical is TradingState.REDUCE_ONLY
    assert build_guard("max_drawdown").p.on_critical is TradingState.REDUCE_ONLY
    assert build_guard("error_rate").p.on_critical is TradingState.HALTED
    guard = build_guard("daily_loss", limit="5", on_critical="HALTED")
    assert guard.p.on_critical is TradingState.HALTED


def test_spot_top10_risk_file() -> None:
    risk = load_risk_file(SPOT_TOP10)
    assert set(risk.notional_caps) == {f"{b}-USD" for b in TOP10}
    assert all(isinstance(v, D) and v > 0 for v in risk.notional_caps.values())
    assert risk.max_leverage == D(1)
    assert risk.quote == "USD"
    caps = build_guard("notional_caps", file=str(SPOT_TOP10))
    assert caps.p.caps["BTC-USD"] == risk.notional_caps["BTC-USD"]
    leverage = build_guard("leverage", file=str(SPOT_TOP10))
    assert leverage.max == D(1)


def test_inline_caps_win_over_the_file() -> None:
    caps = build_guard("notional_caps", file=str(SPOT_TOP10), caps={"BTC-USD": "100"})
    assert caps.p.caps["BTC-USD"] == D(100)
    assert caps.p.caps["ETH-USD"] == load_risk_file(SPOT_TOP10).notional_caps["ETH-USD"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[notional_caps]\nBTC-USD = 5000.5\n", "is a float"),
        ('[notional_caps]\nBTC-USD = "-1"\n', "notional_caps.BTC-USD"),
        ('max_levrage = "1"\n', "max_levrage: unknown key"),
        ("[notional_caps\n", "not valid TOML"),
    ],
)
def test_bad_risk_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "risk.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match="risk file") as err:
        load_risk_file(path)
    assert message in str(err.value)


SHIPPED_GUARDS = [
    pytest.param(ref, id=f"{path.stem}:{ref['use']}")
    for path in sorted((REPO_ROOT / "config" / "profiles").glob("*.toml"))
    for ref in tomllib.loads(path.read_text()).get("guards", [])
]


def test_the_shipped_profiles_have_guards() -> None:
    assert len(SHIPPED_GUARDS) >= 10


@pytest.mark.parametrize("ref", SHIPPED_GUARDS)
def test_shipped_profiles_guard_params_validate(ref: dict[str, object]) -> None:
    params = {k: v for k, v in ref.items() if k != "use"}
    guard = Registry(plugin_manager()).build(Kind.GUARD, str(ref["use"]), params, build_ctx())
    assert guard.name == ref["use"]
    assert isinstance(guard, PreTradeGuard | RuntimeGuard)


def test_daily_loss_persists_only_in_live_and_paper(tmp_path: Path) -> None:
    sim = build_guard("daily_loss", build_ctx(tmp=tmp_path, mode="sim"), limit="10")
    live = build_guard("daily_loss", build_ctx(tmp=tmp_path, mode="live"), limit="10")
    forced = build_guard("daily_loss", build_ctx(tmp=tmp_path), limit="10", persist=True)
    assert sim.state_file is None
    assert live.state_file is not None
    assert live.state_file.parent == tmp_path / "risk"
    assert forced.state_file is not None


def test_warnings_can_be_turned_off(state) -> None:
    from risk_support import req

    state.prices["BTC-USD"] = D(100)
    noisy = build_guard("max_order_size", max_size="1")
    quiet = build_guard("max_order_size", max_size="1", warn_at="off")
    assert noisy.check(req(size="0.9"), state).severity.name == "WARN"
    assert quiet.check(req(size="0.9"), state).severity.name == "OK"
    assert not quiet.check(req(size="1.1"), state).ok
