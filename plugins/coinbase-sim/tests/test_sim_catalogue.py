"""Coinbase's derivative catalogue in the simulator: product ids, CFM/INTX terms, the CFM
margin window, reasons on the wire, sweeps, and the catalogue reaching the core ``sim``
broker through ``register_products``. The margin maths itself is core's
(core/tests/sim/test_derivatives.py)."""

from __future__ import annotations

import time
from decimal import Decimal as D
from pathlib import Path

import pytest
from gpt_trader.components import BuildContext, Kind
from gpt_trader.domain import (
    MarginType,
    OrderRequest,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    Trade,
)
from gpt_trader.domain.margin_schedule import MarginWindow, margin_window, window_end
from gpt_trader.errors import UserError
from gpt_trader.plugins import make_plugin_manager
from gpt_trader.registry import Registry
from gpt_trader.sim import SimExchange
from gpt_trader.sim import plugin as sim_plugin
from gpt_trader.sim.products import default_products, market_profile
from gpt_trader_coinbase_sim import plugin as coinbase_sim_plugin
from gpt_trader_coinbase_sim.catalogue import (
    CATALOGUE,
    CFM_SCHEDULE,
    derivative_listing,
    derivatives_config,
    derivatives_products,
    next_expiry_symbol,
    wire_window,
)
from gpt_trader_coinbase_sim.reasons import wire_cancel_reason, wire_reason
from gpt_trader_coinbase_sim.sweeps import Sweeps
from gpt_trader_coinbase_sim.venue import Venue

NS = 1_000_000_000
H = 3600 * NS
T0 = 1_735_689_600 * NS  # 2025-01-01T00:00:00Z, a Wednesday
FUT = "BIT-31JAN25-CDE"  # nano Bitcoin, 0.01 BTC a contract, expires 2025-01-31T15:00Z
PERP = "BTC-PERP-INTX"  # size in BTC, USDC margin, hourly funding


def market_buy(cid: str, symbol: str, size: str, leverage: str | None = None) -> OrderRequest:
    return OrderRequest(
        cid,
        symbol,
        Side.BUY,
        D(size),
        OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
        leverage=None if leverage is None else D(leverage),
    )


def test_catalogue_products_and_terms() -> None:
    products = default_products(
        [FUT, "BIP-20DEC30-CDE", PERP, "ETH-PERP-INTX", "BTC-USD"], (CATALOGUE,)
    )
    fut = products[FUT]
    assert (fut.product_type, fut.contract_size, fut.base, fut.quote) == (
        "FUTURE",
        D("0.01"),
        "BTC",
        "USD",
    )
    assert (fut.base_increment, fut.price_increment, fut.base_min_size) == (D(1), D(5), D(1))
    terms = fut.derivative
    assert terms is not None
    assert terms.expiry_ts == 1_738_335_600 * NS  # 2025-01-31T15:00:00Z
    assert (terms.expiry_type, terms.funding_interval_s, terms.max_leverage) == (
        "EXPIRING",
        None,
        10,
    )
    assert (terms.overnight.long, terms.overnight.short) == (D("0.25"), D("0.30"))
    assert (terms.pool, terms.schedule) == ("FCM", CFM_SCHEDULE)
    bip = derivative_listing("BIP-20DEC30-CDE")
    assert (bip.terms.expiry_type, bip.terms.funding_interval_s, bip.terms.funding_rate) == (
        "EXPIRING",
        3600,
        D("0.000013"),
    )
    assert bip.terms.expiry_ts == 1_924_012_800 * NS  # 2030-12-20T16:00:00Z, as the sample
    assert (bip.display_name, bip.group_description) == ("BTC PERP", "nano BTC Perp Futures")
    perp = products[PERP]
    assert (perp.product_type, perp.quote, perp.contract_size) == ("PERPETUAL", "USDC", D(1))
    pspec = derivative_listing(PERP)
    assert (pspec.terms.expiry_ts, pspec.terms.funding_interval_s, pspec.account) == (
        None,
        3600,
        "INTX",
    )
    assert pspec.terms.margin_types == (MarginType.CROSS, MarginType.ISOLATED)
    assert pspec.terms.schedule is None
    assert market_profile(fut) == market_profile("BTC-USD")
    assert next_expiry_symbol("BIT", T0) == "BIT-31JAN25-CDE"
    assert next_expiry_symbol("BIT", T0 + 26 * 24 * H) == "BIT-28FEB25-CDE"
    with pytest.raises(UserError, match="known forms: BIT-28NOV26-CDE"):
        derivatives_products(["BIT-31FEB25-CDE"])


def test_cfm_margin_windows_are_13_to_20_utc_on_weekdays() -> None:
    wed = T0
    assert margin_window(wed + 12 * H, CFM_SCHEDULE) is MarginWindow.OVERNIGHT
    assert margin_window(wed + 13 * H, CFM_SCHEDULE) is MarginWindow.INTRADAY
    assert margin_window(wed + 20 * H, CFM_SCHEDULE) is MarginWindow.OVERNIGHT
    assert margin_window(wed + 3 * 24 * H, CFM_SCHEDULE) is MarginWindow.WEEKEND  # Saturday
    assert window_end(wed + 14 * H, CFM_SCHEDULE) == wed + 20 * H
    assert wire_window(MarginWindow.WEEKEND) == "FCM_MARGIN_WINDOW_TYPE_WEEKEND"


def test_core_reasons_get_coinbase_names_per_account() -> None:
    assert wire_reason(RejectReason.INSUFFICIENT_MARGIN, "FCM") == (
        "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES"
    )
    assert wire_reason(RejectReason.INSUFFICIENT_MARGIN, "INTX") == "INSUFFICIENT_FUNDS"
    assert wire_reason(RejectReason.INSUFFICIENT_FUNDS) == "INSUFFICIENT_FUND"
    assert wire_reason(RejectReason.PRODUCT_NOT_TRADING) == "UNTRADABLE_PRODUCT"
    assert wire_reason(RejectReason.REDUCE_ONLY_INCREASES) == (
        "PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE"
    )
    assert wire_reason(RejectReason.UNKNOWN_ORDER) == "ORDER_NOT_FOUND"
    assert wire_cancel_reason(RejectReason.UNKNOWN_ORDER) == "UNKNOWN_CANCEL_ORDER"
    # the venue hands out orders with Coinbase's names (the exchange keeps its own)
    now = time.time_ns()
    future = next_expiry_symbol("BIT", now)
    exchange = SimExchange(
        derivatives_products([future, PERP]), {}, derivatives=derivatives_config(D(100), D(100))
    )
    venue = Venue(exchange)
    exchange.on_trade(Trade(future, now, "t1", D(100_000), D(1), "SELL"))
    exchange.on_trade(Trade(PERP, now, "t2", D("100000.0"), D(1), "SELL"))
    fut = venue.submit(market_buy("f", future, "1"))
    perp = venue.submit(market_buy("p", PERP, "0.01"))
    assert fut.order.reject_reason == "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES"
    assert fut.rejection is not None
    assert fut.rejection.new_order_failure_reason == "INSUFFICIENT_FUNDS"
    assert perp.order.reject_reason == "INSUFFICIENT_FUNDS"
    assert venue.orders()[0].reject_reason == "INSUFFICIENT_FUNDS"
    kept = exchange.order("f")
    assert kept is not None
    assert kept.reject_reason == RejectReason.INSUFFICIENT_MARGIN


def test_sweeps_run_at_22_utc_and_can_be_cancelled() -> None:
    ex = SimExchange(
        derivatives_products([FUT]),
        {"USD": D("1000"), "USDC": D("1000")},
        derivatives=derivatives_config(D(3000), D(0)),
    )
    sweeps = Sweeps(ex)
    ex.add_timer(sweeps)
    assert sweeps.schedule(D("500"), T0 + H) is not None
    assert sweeps.schedule(D("100"), T0 + H) is None  # one pending at a time
    assert sweeps.cancel(T0 + H)
    sweep = sweeps.schedule(None, T0 + 2 * H)
    assert sweep is not None
    assert (sweep.sweep_id, sweep.scheduled_ts) == ("sim-sweep-2", T0 + 22 * H)
    ex.advance(T0 + 23 * H)
    assert (sweep.swept, ex.derivatives.cash("FCM")) == (D("3000"), 0)
    assert ex.balance("USD").total == D("4000")
    ex.transfer_to_derivatives("FCM", D("250"), T0 + 24 * H)
    assert (ex.derivatives.cash("FCM"), ex.balance("USD").total) == (D("250"), D("3750"))
    again = Sweeps(ex)
    again.load_state(sweeps.to_state())
    assert again.all() == sweeps.all()


def test_the_catalogue_reaches_the_sim_broker_and_funds_its_pools(tmp_path: Path) -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register_plugin(sim_plugin, "sim")
    pm.register_plugin(coinbase_sim_plugin, "coinbase_sim")
    registry = Registry(pm)
    universe = ("BTC-USD", "BIP-20DEC30-CDE", PERP)
    ctx = BuildContext(
        profile="dev",
        mode="paper",
        universe=universe,
        products={},
        state_dir=tmp_path,
        seed=1,
        options={},
        catalogues=registry.catalogues(),
    )
    params = {"futures_cash": "5000", "perps_cash": 700, "intraday_margin": True, "persist": False}
    broker = registry.build(Kind.BROKER, "sim", params, ctx)
    d = broker.exchange.derivatives
    assert (d.cash("FCM"), d.cash("INTX")) == (D(5000), D(700))
    assert (d.currency("FCM"), d.currency("INTX")) == ("USD", "USDC")
    assert d.intraday_margin
    with pytest.raises(UserError, match=r"catalogues asked: coinbase \(e\.g\. BIT-28NOV26-CDE"):
        default_products(["BIT-31FEB25-CDE"], registry.catalogues())
