"""Sizers: hand-computed cases, and properties: never negative, never above their caps,
and still within them after the product's quantisation."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from gpt_trader.components import Kind
from gpt_trader.domain import Action, Decision
from gpt_trader_risk.sizers import AtrSizer, KellyParams, KellySizer, estimate, kelly_fraction
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_support import PRODUCTS, FakeState, build

BTC = PRODUCTS["BTC-USD"]


def decision(symbol: str = "BTC-USD") -> Decision:
    return Decision(symbol, 0, Action.LONG)


# ---- kelly --------------------------------------------------------------------------
def test_kelly_without_prior_matches_the_formula(state: FakeState) -> None:
    # 6 wins of 2, 4 losses of 1: p = 0.6, b = 2, f* = 0.6 - 0.4 / 2 = 0.4,
    # quarter Kelly 0.1 of 10000 equity = 1000 USD = 10 units at 100.
    state.trades["BTC-USD"] = [D(2)] * 6 + [D(-1)] * 4
    state.prices["BTC-USD"] = D(100)
    sizer = build(Kind.SIZER, "kelly", prior_trades=0)
    assert estimate(state.trades["BTC-USD"], sizer.p) == (D("0.6"), D(2))
    assert sizer.size(decision(), state) == D(10)


def test_kelly_with_prior(state: FakeState) -> None:
    # k = 10 at p0 = 0.5, b0 = 1: p = (6 + 5) / 20 = 0.55, b = (10*2 + 10*1) / 20 = 1.5,
    # f* = 0.55 - 0.45 / 1.5 = 0.25, quarter: 0.0625 -> 625 USD = 6.25 units.
    state.trades["BTC-USD"] = [D(2)] * 6 + [D(-1)] * 4
    state.prices["BTC-USD"] = D(100)
    sizer = build(Kind.SIZER, "kelly", prior_trades=10, prior_win_rate="0.5", prior_payoff="1")
    assert sizer.size(decision(), state) == D("6.25")


def test_kelly_cold_start_uses_the_prior(state: FakeState) -> None:
    # defaults: p = 0.55, b = 1, f* = 0.1, quarter: 0.025 -> 250 USD = 2.5 units.
    state.prices["BTC-USD"] = D(100)
    assert build(Kind.SIZER, "kelly").size(decision(), state) == D("2.5")
    none = build(Kind.SIZER, "kelly", prior_trades=0)
    assert none.size(decision(), state) == D(0)  # no trades and no prior: no bet


def test_kelly_never_negative_and_capped(state: FakeState) -> None:
    state.prices["BTC-USD"] = D(100)
    state.trades["BTC-USD"] = [D(-1)] * 8 + [D(1)] * 2  # losing system
    sizer = build(Kind.SIZER, "kelly", prior_trades=0)
    assert kelly_fraction(D("0.2"), D(1)) < 0
    assert sizer.size(decision(), state) == D(0)
    state.trades["BTC-USD"] = [D(5)] * 9 + [D(-1)]  # f* = 0.88
    full = build(Kind.SIZER, "kelly", prior_trades=0, fraction="1", max_fraction="0.2")
    assert full.size(decision(), state) == D(20)  # 0.2 * 10000 / 100
    capped = build(Kind.SIZER, "kelly", prior_trades=0, fraction="1", max_notional="500")
    assert capped.size(decision(), state) == D(5)


def test_kelly_portfolio_scope(state: FakeState) -> None:
    state.prices["BTC-USD"] = D(100)
    state.trades = {"ETH-USD": [D(2)] * 6 + [D(-1)] * 4}
    per_symbol = build(Kind.SIZER, "kelly", prior_trades=0)
    portfolio = build(Kind.SIZER, "kelly", prior_trades=0, scope="portfolio")
    assert per_symbol.size(decision(), state) == D(0)
    assert portfolio.size(decision(), state) == D(10)


# ---- atr ----------------------------------------------------------------------------
def feed(sizer: AtrSizer, state: FakeState, prices: list[str]) -> list[D]:
    sizes = []
    for price in prices:
        state.advance(60)
        state.prices["BTC-USD"] = D(price)
        sizes.append(sizer.size(decision(), state))
    return sizes


def test_atr_from_observed_prices(state: FakeState) -> None:
    # lookback 3: ranges 2, 1, 3 -> ATR 2; risk 0.5 % of 10000 = 50; 50 / (2 * 2) = 12.5.
    # Next range 6: Wilder (2 * 2 + 6) / 3 = 10/3 -> 50 / (20/3) = 7.5.
    sizer = build(Kind.SIZER, "atr", lookback=3, risk_pct="0.5")
    sizes = feed(sizer, state, ["100", "102", "101", "104", "110"])
    assert sizes[:3] == [D(0), D(0), D(0)]  # not warm yet, no configured ATR
    assert sizes[3] == D("12.5")
    assert abs(sizes[4] - D("7.5")) < D("1e-20")  # 10/3 is not exact in Decimal either
    assert BTC.quantize_size(sizes[4]) == D("7.5000")


def test_atr_seed_and_cap(state: FakeState) -> None:
    state.prices["BTC-USD"] = D(100)
    sizer = build(Kind.SIZER, "atr", atr={"BTC-USD": "5"})  # 1 % of 10000 / (2 * 5)
    assert sizer.size(decision(), state) == D(10)
    tight = build(Kind.SIZER, "atr", atr={"BTC-USD": "0.1"})
    assert tight.size(decision(), state) == D(25)  # 500 units wanted; cap 25 % = 25 units


def test_atr_same_instant_does_not_make_a_range(state: FakeState) -> None:
    sizer = build(Kind.SIZER, "atr", lookback=1)
    state.prices["BTC-USD"] = D(100)
    sizer.size(decision(), state)
    state.prices["BTC-USD"] = D(110)
    assert sizer.size(decision(), state) == D(0)  # same state.now: no true range
    assert sizer.value == {}


# ---- regime -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("regime", "size"),
    [
        (None, D(5)),  # unknown: 250 / 50
        ("range", D(10)),
        ("trend", D(24)),  # 1500 capped at 1200
        ("crisis", D(20)),  # not in multipliers: default_multiplier 1
    ],
)
def test_regime_multipliers(state: FakeState, regime: str | None, size: D) -> None:
    state.prices["BTC-USD"] = D(50)
    sizer = build(
        Kind.SIZER,
        "regime",
        notional="1000",
        regimes={} if regime is None else {"BTC-USD": regime, "ETH-USD": "range"},
        multipliers={"trend": "1.5", "range": "0.5", "unknown": "0.25"},
        max_notional="1200",
    )
    assert sizer.size(decision(), state) == size


def test_regime_default_multiplier(state: FakeState) -> None:
    state.prices["BTC-USD"] = D(50)
    sizer = build(
        Kind.SIZER,
        "regime",
        notional="1000",
        regimes={"BTC-USD": "crisis"},
        default_multiplier="0",
    )
    assert sizer.size(decision(), state) == D(0)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("kelly", {}),
        ("atr", {"atr": {"BTC-USD": "1"}}),
        ("regime", {"notional": "100"}),
    ],
)
def test_sizers_without_a_price_size_nothing(
    state: FakeState, name: str, params: dict[str, object]
) -> None:
    assert build(Kind.SIZER, name, **params).size(decision(), state) == D(0)


# ---- properties ---------------------------------------------------------------------------
money = st.decimals(min_value=D("0.01"), max_value=D(10**7), places=2)
prices = st.decimals(min_value=D("0.0001"), max_value=D(10**6), places=4)
pnls = st.lists(st.decimals(min_value=-1000, max_value=1000, places=2), max_size=60)
fractions = st.decimals(min_value=D("0.01"), max_value=D(1), places=2)


@settings(max_examples=300, deadline=None, database=None)
@given(money, prices, pnls, fractions, fractions)
def test_kelly_within_caps_and_after_quantisation(
    equity: D, price: D, trades: list[D], fraction: D, max_fraction: D
) -> None:
    state = FakeState(equity=equity)
    state.prices["BTC-USD"] = price
    state.trades["BTC-USD"] = trades
    sizer = KellySizer(KellyParams(fraction=fraction, max_fraction=max_fraction))
    size = sizer.size(decision(), state)
    assert size >= 0
    assert size * price <= equity * max_fraction * (1 + D("1e-20"))
    quantised = BTC.quantize_size(size)
    assert 0 <= quantised <= size
    assert quantised * price <= equity * max_fraction


@settings(max_examples=300, deadline=None, database=None)
@given(money, st.lists(prices, min_size=1, max_size=30), fractions, st.integers(1, 10))
def test_atr_within_caps_and_after_quantisation(
    equity: D, path: list[D], max_fraction: D, lookback: int
) -> None:
    state = FakeState(equity=equity)
    sizer = build(Kind.SIZER, "atr", lookback=lookback, max_fraction=str(max_fraction))
    for price in path:
        state.advance(60)
        state.prices["BTC-USD"] = price
        size = sizer.size(decision(), state)
        assert size >= 0
        quantised = BTC.quantize_size(size)
        assert 0 <= quantised <= size
        assert quantised * price <= equity * max_fraction
