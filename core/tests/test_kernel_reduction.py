"""Runtime guards can ask the kernel to cut a position; the venue's risk figures of a
derivative position reach the kernel's position without touching its size."""

from __future__ import annotations

from decimal import Decimal as D

from gpt_trader.domain import (
    GuardResult,
    MarginType,
    OrderRequest,
    Position,
    Reduction,
    Severity,
    Side,
    Trade,
    TradingState,
)
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.guards import GuardStack
from gpt_trader.engine.kernel import Kernel
from gpt_trader.protocols import StateView
from gpt_trader.sim import DerivativesConfig
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.testing import FROZEN_TS, derivative_product, manual_kernel

PERP = "BTC-PERP"
NS = 1_000_000_000


class CutHalfBelow:
    """Asks for half the position once the mark is below ``floor``."""

    name = "cut_half"

    def __init__(self, floor: D) -> None:
        self.floor = floor

    def evaluate(self, state: StateView) -> GuardResult:
        pos = state.positions.get(PERP)
        if pos is None or pos.size == 0 or pos.mark_price >= self.floor:
            return GuardResult.passed(self.name)
        return GuardResult(
            self.name,
            Severity.WARN,
            f"mark {pos.mark_price} below {self.floor}",
            reduce=(Reduction(PERP, abs(pos.size) / 2),),
        )


def _kernel(guard: CutHalfBelow) -> tuple[Kernel, SimExchange, SimClock]:
    products = {PERP: derivative_product(PERP, "perpetual")}
    exchange = SimExchange(
        products,
        {"USDC": D(0)},
        derivatives=DerivativesConfig(
            pools={"PERPETUALS": D("10000")}, taker_fee=D(0), maker_fee=D(0)
        ),
    )
    clock = SimClock(FROZEN_TS)
    kernel = manual_kernel(
        exchange,
        clock,
        guards=GuardStack(runtime=[guard], budget_s=None),
        quote_currency="USDC",
        leverage=D(5),
        margin_type=MarginType.ISOLATED,
    )
    return kernel, exchange, clock


async def _trade(kernel: Kernel, clock: SimClock, price: str, n: int) -> None:
    ts = FROZEN_TS + n * NS
    clock.advance_to(ts)
    await kernel.on_market(Trade(PERP, ts, f"t{n}", D(price), D(1), "SELL"))


async def test_a_runtime_guard_cut_is_placed_reduce_only_at_the_next_event() -> None:
    kernel, exchange, clock = _kernel(CutHalfBelow(D("95000")))
    await kernel.start()
    await _trade(kernel, clock, "100000", 1)
    await kernel.submit(OrderRequest("b", PERP, Side.BUY, D("0.1")))
    assert kernel.positions[PERP].size == D("0.1")

    await _trade(kernel, clock, "94000", 2)
    await kernel.on_timer()  # the guard asks; the cut goes at once
    cuts = [o for o in kernel.orders.values() if o.tag == "guard:cut_half"]
    assert len(cuts) == 1
    assert cuts[0].reduce_only
    assert cuts[0].side is Side.SELL
    assert cuts[0].size == D("0.05")
    assert kernel.positions[PERP].size == D("0.05")
    venue = exchange.order(cuts[0].client_order_id)
    assert venue is not None
    assert venue.reduce_only
    assert kernel.trading_state is TradingState.ACTIVE
    await kernel.on_timer()  # asked again, but the mark has not recovered: half again
    assert kernel.positions[PERP].size == D("0.025")


async def test_orders_on_derivatives_carry_the_profile_leverage_and_margin_type() -> None:
    kernel, _exchange, clock = _kernel(CutHalfBelow(D("1")))
    await kernel.start()
    await _trade(kernel, clock, "100000", 1)
    request = kernel._market_request(PERP, Side.BUY, D("0.01"), False, "t")
    assert request.leverage == D(5)
    assert request.margin_type is MarginType.ISOLATED


async def test_venue_figures_update_the_position_but_not_its_size() -> None:
    kernel, _exchange, clock = _kernel(CutHalfBelow(D("1")))
    await kernel.start()
    await _trade(kernel, clock, "100000", 1)
    await kernel.submit(OrderRequest("b", PERP, Side.BUY, D("0.1")))
    kernel.on_venue_position(
        Position(
            PERP,
            size=D("7"),
            liquidation_price=D("81000"),
            leverage=D(5),
            initial_margin=D("2000"),
        )
    )
    pos = kernel.positions[PERP]
    assert pos.size == D("0.1")
    assert (pos.liquidation_price, pos.leverage, pos.initial_margin) == (D(81000), D(5), D(2000))
    assert pos.liquidation_distance == D("0.19")
