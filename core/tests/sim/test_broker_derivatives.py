"""SimBroker with futures and perpetuals under the kernel: the margin pool is the kernel's
cash, every funding payment arrives once, the venue's risk figures follow the mark, and a
liquidation or an expiry settlement closes the kernel's position."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from gpt_trader.components import BuildContext
from gpt_trader.domain import (
    LIQUIDATION_TAG,
    SETTLEMENT_TAG,
    Balance,
    Candle,
    MarginType,
    OrderRequest,
    Position,
    Product,
    Side,
)
from gpt_trader.domain.money import CENT, quantize
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel
from gpt_trader.sim import DerivativesConfig
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.factories import SimBrokerParams, make_sim_broker
from gpt_trader.sim.products import default_products
from gpt_trader.testing import FROZEN_TS, derivative_product, manual_kernel

NS = 1_000_000_000
H = 3600 * NS
MINUTE = 60 * NS
T0 = FROZEN_TS  # 2025-01-01T00:00:00Z, a Wednesday
PERP = "BTC-PERP"
FUT = "BTC-FUT-02JAN25"  # expires 2025-01-02T15:00:00Z
DERIVATIVES = {
    PERP: derivative_product(PERP, "perpetual"),
    FUT: derivative_product(FUT, terms={"expiry_ts": T0 + 39 * H}),
    "BTC-FUT": derivative_product("BTC-FUT"),
}


def some_products(*symbols: str) -> dict[str, Product]:
    """The test derivatives, and dev-table spot products for other symbols."""
    return {s: DERIVATIVES.get(s) or default_products([s])[s] for s in symbols}


class Venue:
    """Counts the venue positions the kernel is told about (wraps the kernel's callback)."""

    def __init__(self, kernel: Kernel) -> None:
        self.seen: list[Position] = []
        inner = kernel.on_venue_position

        def relay(position: Position) -> None:
            self.seen.append(position)
            inner(position)

        kernel.on_venue_position = relay  # type: ignore[method-assign]


def kernel_over(
    exchange: SimExchange, symbol: str, quote: str, **kw: object
) -> tuple[Kernel, SimClock]:
    clock = SimClock(T0)
    products = {symbol: exchange.product(symbol)}
    kernel = manual_kernel(exchange, clock, products=products, quote_currency=quote, **kw)
    return kernel, clock


async def bar(kernel: Kernel, clock: SimClock, symbol: str, ts: int, close: str) -> None:
    """A one-minute candle opening at ``ts`` that trades at ``close`` all through."""
    price = D(close)
    candle = Candle(symbol, ts, price, price, price, price, D(50))
    clock.advance_to(candle.close_ts)
    await kernel.on_market(candle)


async def test_a_perp_kernel_sees_the_pool_and_every_funding_payment_once() -> None:
    exchange = SimExchange(
        some_products(PERP),
        {"USD": D(5000)},  # a spot wallet in another currency is not the perp's cash
        derivatives=DerivativesConfig(
            pools={"PERPETUALS": D(10_000)}, maker_fee=D(0), taker_fee=D("0.0005")
        ),
    )
    kernel, clock = kernel_over(exchange, PERP, "USDC", leverage=D(5))
    venue = Venue(kernel)
    await kernel.start()
    assert kernel.cash == kernel.equity == kernel.starting_equity == D(10_000)

    await bar(kernel, clock, PERP, T0, "100000.0")
    await kernel.submit(kernel._market_request(PERP, Side.BUY, D("0.3"), False, "t"))
    prices = ["100000.0", "100400.0", "99600.0", "101200.0", "98800.0", "99900.0"]
    # Twenty-minute bars for six hours: funding is due on every hour.
    for n in range(1, 18 * 6):
        await bar(kernel, clock, PERP, T0 + n * 20 * MINUTE, prices[n % len(prices)])
    exchange.derivatives.set_funding_rate(PERP, D("-0.0003"))  # now shorts pay longs
    for n in range(18 * 6, 18 * 9):
        await bar(kernel, clock, PERP, T0 + n * 20 * MINUTE, prices[n % len(prices)])

    paid = exchange.derivatives.funding_payments()
    # 01:00 .. 53:00: the position opened at 00:01, the last bar closed at 53:41
    assert len(paid) == 53
    assert len({p.payment_id for p in paid}) == 53
    pos = kernel.positions[PERP]
    assert kernel.summary()["funding_payments"] == len(paid)
    assert pos.funding == sum((p.amount for p in paid), D(0))
    assert pos.funding.as_tuple().exponent >= -2  # to the cent, no rounding drift
    assert any(p.amount < 0 for p in paid)
    assert any(p.amount > 0 for p in paid)
    # The kernel's cash is the pool's, P&L, fees and funding included.
    assert kernel.cash == exchange.derivatives.cash("PERPETUALS")
    view = exchange.derivatives.position_view(PERP, exchange.last_ts)
    assert kernel.equity == kernel.cash + view.unrealized_pnl
    # The venue's figures reached the position after the last bar, as the venue sees them.
    assert (pos.liquidation_price, pos.leverage, pos.initial_margin) == (
        view.liquidation_price,
        view.leverage,
        view.initial_margin,
    )
    assert pos.leverage == D(5)
    assert venue.seen[-1].mark_price == kernel.last_price(PERP) == D("99900.0")


async def test_balances_add_the_pools_to_their_currency() -> None:
    products = some_products("BTC-USD", "BTC-FUT", PERP)
    exchange = SimExchange(
        products,
        {"USD": D(1000), "USDC": D(50)},
        derivatives=DerivativesConfig(pools={"FUTURES": D(2000), "PERPETUALS": D(300)}),
    )
    broker = SimBroker(exchange)
    assert await broker.balances() == [
        Balance("USD", D(3000), D(3000)),
        Balance("USDC", D(350), D(350)),
    ]
    exchange.transfer_to_derivatives("FUTURES", D(400), T0)  # moves money, adds none
    assert (await broker.balances())[0].total == D(3000)
    # An isolated position's margin leaves the pool's cash but is still the account's.
    for n in range(2):
        exchange.on_market(Candle(PERP, T0 + n * MINUTE, *[D("100.0")] * 4, D(10)))
    req = OrderRequest("iso", PERP, Side.BUY, D(4), leverage=D(2))
    order = exchange.submit(req, T0 + 2 * MINUTE, margin_type=MarginType.ISOLATED)
    assert order.status.value == "FILLED"
    usdc = (await broker.balances())[1]
    assert exchange.derivatives.cash("PERPETUALS") < D(300) - D(200)  # 4 * 100 / 2 isolated
    fee = exchange.fills(symbol=PERP)[0].fee
    assert usdc.total == D(350) - fee
    assert usdc.available < usdc.total  # the isolated margin cannot leave


def test_a_derivatives_only_universe_has_no_spot_cash_by_default(tmp_path: Path) -> None:
    def wallets(universe: tuple[str, ...], **params: object) -> list[Balance]:
        ctx = BuildContext(
            profile="t",
            mode="sim",
            universe=universe,
            products=some_products(*universe),
            state_dir=tmp_path,
            seed=0,
            options={},
        )
        broker = make_sim_broker(SimBrokerParams(persist=False, **params), ctx)  # type: ignore[arg-type]
        return broker.exchange.balances()

    assert wallets((FUT,), futures_cash=D(7000)) == [Balance("USD", D(0), D(0))]
    assert wallets(("BTC-USD", FUT)) == [Balance("USD", D(100_000), D(100_000))]
    assert wallets((FUT,), starting_cash=D(5)) == [Balance("USD", D(5), D(5))]


async def test_an_expiring_future_is_settled_and_the_kernel_goes_flat() -> None:
    exchange = SimExchange(
        some_products(FUT),
        {},
        derivatives=DerivativesConfig(pools={"FUTURES": D(20_000)}, maker_fee=D(0), taker_fee=D(0)),
    )
    kernel, clock = kernel_over(exchange, FUT, "USD")
    venue = Venue(kernel)
    await kernel.start()
    assert kernel.cash == D(20_000)
    start = T0 + 14 * H  # 2025-01-01T14:00Z, a day and an hour before expiry
    await bar(kernel, clock, FUT, start, "95000")
    await kernel.submit(kernel._market_request(FUT, Side.SELL, D(3), False, "t"))
    assert kernel.positions[FUT].size == D(-3)
    for n in range(1, 26):
        await bar(kernel, clock, FUT, start + n * H, "94000" if n < 25 else "93000")

    (settlement,) = exchange.derivatives.settlements()
    assert (settlement.ts, settlement.price) == (T0 + 39 * H, D(94000))
    pos = kernel.positions[FUT]
    assert pos.size == 0
    assert pos.realized_pnl == D(30) == settlement.realized_pnl  # 3 * 0.01 * 1000
    closing = [o for o in kernel.orders.values() if o.tag == SETTLEMENT_TAG]
    assert [(o.side, o.size, o.status.value) for o in closing] == [(Side.BUY, D(3), "FILLED")]
    assert kernel.cash == exchange.derivatives.cash("FUTURES") == D(20_030)
    # The venue said once that the position is gone, and nothing about it after that.
    assert (venue.seen[-1].size, venue.seen[-1].liquidation_price) == (0, None)
    assert sum(1 for p in venue.seen if p.size == 0) == 1
    assert (pos.liquidation_price, pos.leverage) == (None, None)


async def test_a_liquidation_closes_the_kernel_position_at_the_venue_price() -> None:
    exchange = SimExchange(
        some_products(PERP),
        {},
        derivatives=DerivativesConfig(
            pools={"PERPETUALS": D(1000)}, maker_fee=D(0), taker_fee=D("0.0005")
        ),
    )
    kernel, clock = kernel_over(exchange, PERP, "USDC", leverage=D(20))
    await kernel.start()
    await bar(kernel, clock, PERP, T0, "100000.0")
    await kernel.submit(kernel._market_request(PERP, Side.BUY, D("0.19"), False, "t"))
    liquidation = kernel.positions[PERP].liquidation_price
    assert liquidation is not None
    assert D(97000) < liquidation < D(100000)
    await bar(kernel, clock, PERP, T0 + MINUTE, "99000.0")
    await bar(kernel, clock, PERP, T0 + 2 * MINUTE, "96000.0")

    pos = kernel.positions[PERP]
    assert pos.size == 0
    (order,) = [o for o in kernel.orders.values() if o.tag == LIQUIDATION_TAG]
    (fill,) = exchange.fills(client_order_id=order.client_order_id)
    assert fill.price == liquidation  # at the liquidation price, the gap is the venue's
    # The venue settles the realised P&L to the cent; the kernel keeps it exact.
    venue_cash, realized = exchange.derivatives.cash("PERPETUALS"), pos.realized_pnl
    assert venue_cash > 0
    assert venue_cash == venue_cash.quantize(CENT)
    assert kernel.cash - venue_cash == realized - quantize(realized, CENT) != 0
