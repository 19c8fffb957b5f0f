"""Derivative wire shapes -> domain (the published samples), the CFM sweep rule, the
CFM broker's own reduce-only check, and the INTX refusals (switch off; no access)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from gpt_trader.app import assemble, finish, start
from gpt_trader.domain import (
    MarginType,
    OrderRequest,
    OrderStatus,
    OrderType,
    ProductType,
    RejectReason,
    Side,
    TimeInForce,
)
from gpt_trader.errors import UserError
from gpt_trader_coinbase.derivatives.convert import (
    cfm_position,
    derivative_configuration,
    derivative_product_from_json,
    order_extras,
)
from gpt_trader_coinbase.derivatives.sweeps import plan_sweep

# The wire samples ship with the simulator, which is tested against them.
DATA = Path(__file__).resolve().parents[3] / "coinbase-sim" / "tests" / "data"


def sample(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_a_cfm_perp_style_product_from_the_published_sample() -> None:
    p = derivative_product_from_json(sample("rest_get_product_cfm_perp.json"))
    assert p is not None
    assert p.symbol == "BIP-20DEC30-CDE"
    assert p.product_type is ProductType.FUTURE
    assert p.contract_size == D("0.01")
    assert (p.base, p.quote, p.base_increment, p.price_increment) == ("BTC", "USD", 1, 5)
    terms = p.derivative
    assert terms is not None
    assert terms.has_windows
    assert terms.funding_interval_s == 3600
    assert terms.expiry_ts is not None
    assert terms.margin_types == (MarginType.CROSS,)
    assert terms.initial_rate(1, overnight=True) > terms.initial_rate(1, overnight=False)
    assert derivative_product_from_json(sample("rest_get_product.json")) is None  # spot


def test_a_cfm_position_from_the_published_sample() -> None:
    (raw,) = sample("rest_cfm_positions.json")["positions"]
    pos = cfm_position(raw, D("0.01"))
    assert (pos.symbol, pos.size, pos.avg_entry_price, pos.mark_price) == (
        "BIT-31MAY24-CDE",
        D(2),
        D(67100),
        D(67550),
    )
    assert pos.unrealized_pnl == D("9.00")  # as the venue reports it
    short = cfm_position({**raw, "side": "SHORT"}, D("0.01"))
    assert short.size == D(-2)


def test_reduce_only_goes_inside_the_configuration_and_leverage_on_top() -> None:
    req = OrderRequest(
        "c",
        "BTC-PERP-INTX",
        Side.SELL,
        D("0.1"),
        reduce_only=True,
        leverage=D(5),
        margin_type=MarginType.ISOLATED,
    )
    assert derivative_configuration(req) == {
        "market_market_ioc": {"base_size": "0.1", "reduce_only": True}
    }
    assert order_extras(req) == {"leverage": "5", "margin_type": "ISOLATED"}


def test_a_reduce_only_bracket_keeps_both_prices_and_the_flag_inside() -> None:
    req = OrderRequest(
        "b",
        "BIP-20DEC30-CDE",
        Side.SELL,
        D(2),  # contracts
        order_type=OrderType.BRACKET,
        limit_price=D(104975),
        stop_price=D(94985),
        time_in_force=TimeInForce.GTC,
        reduce_only=True,
        leverage=D(3),
        margin_type=MarginType.CROSS,
    )
    assert derivative_configuration(req) == {
        "trigger_bracket_gtc": {
            "base_size": "2",
            "limit_price": "104975",
            "stop_trigger_price": "94985",
            "reduce_only": True,
        }
    }
    assert order_extras(req) == {"leverage": "3", "margin_type": "CROSS"}


def sweep(amount: str | None, status: str = "PENDING") -> dict:
    return {
        "requested_amount": {"value": amount or "0", "currency": "USD"},
        "should_sweep_all": amount is None,
        "status": status,
    }


def test_the_sweep_rule() -> None:
    kw = {"initial_margin": D(600), "floor": D(1000), "excess_above": None}
    # a pending sweep that would cut into margin + floor is cancelled
    plan = plan_sweep(balance=D(2000), pending=[sweep("500")], **kw)
    assert plan.cancel
    assert "below margin" in plan.reason
    assert plan_sweep(balance=D(2000), pending=[sweep(None)], **kw).cancel  # sweep-all
    # one that leaves enough stays
    assert plan_sweep(balance=D(2000), pending=[sweep("400")], **kw) == plan_sweep(
        balance=D(2000), pending=[], **kw
    )
    # the excess over margin + floor is swept once it is large enough, never twice
    auto = {**kw, "excess_above": D(100)}
    assert plan_sweep(balance=D(1650), pending=[], **auto).schedule is None
    assert plan_sweep(balance=D("1800.5"), pending=[], **auto).schedule == D("200.50")
    assert plan_sweep(balance=D(1800), pending=[sweep("200")], **auto).schedule is None


async def test_cfm_refuses_a_reduce_only_order_that_would_not_reduce(sims, cbt, tmp_path):
    sim = sims(seed=2, products=["BIP-20DEC30-CDE"], futures_cash=D(5000))
    config = cbt.bot_config(
        sim,
        universe=("BIP-20DEC30-CDE",),
        sizes={"BIP-20DEC30-CDE": "1"},
        broker={"use": "coinbase.cfm"},
    )
    config.signals.clear()
    runtime = await assemble(config, cbt.bot_plugins(), tmp_path / "bot")
    try:
        await start(runtime)
        order = await runtime.kernel.broker.submit(
            OrderRequest("r1", "BIP-20DEC30-CDE", Side.SELL, D(1), reduce_only=True)
        )
    finally:
        await finish(runtime, "test")
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason is RejectReason.REDUCE_ONLY_INCREASES
    assert sim.state.venue.order_by_client_id("r1") is None  # never sent


async def test_intx_is_off_without_the_switch(sims, cbt, tmp_path, monkeypatch):
    monkeypatch.delenv("COINBASE_ENABLE_DERIVATIVES", raising=False)
    sim = sims(seed=2, products=["BTC-PERP-INTX"])
    config = cbt.bot_config(
        sim,
        universe=("BTC-PERP-INTX",),
        sizes={"BTC-PERP-INTX": "0.01"},
        broker={"use": "coinbase.intx"},
    )
    with pytest.raises(UserError, match="COINBASE_ENABLE_DERIVATIVES=1"):
        await assemble(config, cbt.bot_plugins(), tmp_path / "bot")


async def test_intx_is_refused_for_an_account_without_access(sims, cbt, tmp_path, monkeypatch):
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    sim = sims(seed=2, products=["BTC-USD"])  # a venue with no INTX portfolio for this key
    config = cbt.bot_config(
        sim, universe=("BTC-USD",), sizes={"BTC-USD": "0.001"}, broker={"use": "coinbase.intx"}
    )
    with pytest.raises(UserError, match="no INTX portfolio"):
        await assemble(config, cbt.bot_plugins(), tmp_path / "bot")


def test_funding_read_off_a_rounded_aggregate_is_exact() -> None:
    from gpt_trader_coinbase.derivatives.intx import funding_behind

    # No tie: one whole-cent funding fits the rounded aggregate.
    assert funding_behind(D("12.34"), D("12.5012"), expected=D("-0.2")) == D("-0.16")
    # A tie: known + F lands on a half cent either way; the rate's estimate decides.
    known = D("0.005")
    assert funding_behind(D("-0.10"), known, expected=D("-0.101")) == D("-0.10")
    assert funding_behind(D("-0.10"), known, expected=D("-0.109")) == D("-0.11")


def test_a_pool_move_is_read_as_the_whole_cents_nearest_the_estimate() -> None:
    from gpt_trader_coinbase.derivatives.broker import _paid

    # The pool is in cents, the kernel's cash exact: under a cent of rounding rides along.
    assert _paid(D("-0.034"), D("-0.026")) == D("-0.03")
    assert _paid(D("-0.021"), D("-0.026")) == D("-0.03")
    assert _paid(D("-12.345"), D("-12.3")) == D("-12.34")
    # Not paid yet: no move, or rounding only, is never a cent of funding.
    assert _paid(D("0"), D("-0.026")) == D("0")
    assert _paid(D("-0.007"), D("-0.026")) == D("0")
    assert _paid(D("0.007"), D("-0.026")) == D("0")
    # A move far from the estimate is something else.
    assert _paid(D("-0.09"), D("-0.012")) == D("0")
    assert _paid(D("-0.007"), D("-0.008")) == D("-0.01")
