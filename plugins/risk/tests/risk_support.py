"""Fakes and a kernel harness for the risk tests (imported by the test modules; the
conftest puts this folder on ``sys.path``, as ``--import-mode=importlib`` does not).

``FakeState`` is a plain StateView for unit tests. ``Harness`` builds a real
:class:`~gpt_trader.engine.kernel.Kernel` with the risk guards built through the registry
(as a profile would), core's sim broker when it is importable (else a tiny broker that fills
market orders at the last price), and an oracle wrapped around the broker that records every
request reaching it together with the kernel's state at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import gpt_trader_risk.plugin as risk_plugin
from gpt_trader.components import BuildContext, Kind
from gpt_trader.domain import (
    Action,
    Balance,
    Decision,
    Fill,
    Liquidity,
    MarketEvent,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Side,
    SignalValue,
    TimeInForce,
    Trade,
    TradingState,
)
from gpt_trader.domain.events import Event
from gpt_trader.domain.market import NS, datetime_to_ts
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.execution import ExecutionPolicy
from gpt_trader.engine.guards import GuardStack
from gpt_trader.engine.journal import MemoryJournal
from gpt_trader.engine.kernel import Kernel, KernelParts
from gpt_trader.errors import BrokerError
from gpt_trader.plugins import PluginManager
from gpt_trader.protocols import BrokerListener, PreTradeGuard, RuntimeGuard
from gpt_trader.registry import Registry

D = Decimal
ZERO = D(0)
TEN_K = D(10_000)
T0 = datetime_to_ts(datetime(2025, 1, 6, 12, 0, tzinfo=UTC))
REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "plugins").is_dir())
SPOT_TOP10 = REPO_ROOT / "config" / "risk" / "spot_top10.toml"


def product(symbol: str, base_inc: str = "0.0001", price_inc: str = "0.01") -> Product:
    base, quote = symbol.split("-")
    return Product(
        symbol=symbol,
        base=base,
        quote=quote,
        base_increment=D(base_inc),
        price_increment=D(price_inc),
        base_min_size=D(base_inc),
        base_max_size=D(1000),
        quote_min_size=D(1),
    )


PRODUCTS = {s: product(s) for s in ("BTC-USD", "ETH-USD", "SOL-USD")}


@dataclass
class FakeState:
    """A StateView with settable fields."""

    now: int = T0
    trading_state: TradingState = TradingState.ACTIVE
    products: dict[str, Product] = field(default_factory=lambda: dict(PRODUCTS))
    positions: dict[str, Position] = field(default_factory=dict)
    open_orders: list[Order] = field(default_factory=list)
    cash: Decimal = TEN_K
    equity: Decimal = TEN_K
    peak_equity: Decimal = TEN_K
    starting_equity: Decimal = TEN_K
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    prices: dict[str, Decimal] = field(default_factory=dict)
    market_ts: dict[str, int] = field(default_factory=dict)
    trades: dict[str, list[Decimal]] = field(default_factory=dict)

    def last_price(self, symbol: str) -> Decimal | None:
        return self.prices.get(symbol)

    def last_market_ts(self, symbol: str) -> int | None:
        return self.market_ts.get(symbol)

    def closed_trades(self, symbol: str | None = None) -> Sequence[Decimal]:
        if symbol is not None:
            return self.trades.get(symbol, [])
        return [t for ts in self.trades.values() for t in ts]

    def hold(
        self,
        symbol: str,
        size: str | Decimal,
        price: str | Decimal,
        *,
        liquidation_price: str | Decimal | None = None,
    ) -> None:
        """Give the state a position marked at ``price`` (also the last price), with the
        product's contract size and, optionally, the venue's liquidation price."""
        product = self.products.get(symbol)
        self.positions[symbol] = Position(
            symbol,
            size=D(size),
            avg_entry_price=D(price),
            mark_price=D(price),
            contract_size=product.contract_size if product is not None else D(1),
            liquidation_price=None if liquidation_price is None else D(liquidation_price),
        )
        self.prices[symbol] = D(price)
        self.market_ts[symbol] = self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * NS)


_seq = 0


def req(
    symbol: str = "BTC-USD",
    side: Side | str = Side.BUY,
    size: str | Decimal = "1",
    *,
    limit: str | None = None,
    reduce_only: bool = False,
    post_only: bool = False,
) -> OrderRequest:
    global _seq
    _seq += 1
    return OrderRequest(
        client_order_id=f"t-{_seq:06d}",
        symbol=symbol,
        side=Side(side),
        size=D(size),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit),
        time_in_force=TimeInForce.IOC if limit is None else TimeInForce.GTC,
        reduce_only=reduce_only,
        post_only=post_only,
    )


def working(symbol: str, side: str, size: str) -> Order:
    o = Order.from_request(req(symbol, side, size), T0)
    o.status = OrderStatus.OPEN
    return o


# ---- registry ------------------------------------------------------------------------------
def plugin_manager() -> PluginManager:
    pm = PluginManager()
    pm.register_plugin(risk_plugin, "risk")
    import gpt_trader.builtin as core_builtin

    pm.register_plugin(core_builtin, "core")
    return pm


def build_ctx(
    products: Mapping[str, Product] | None = None, tmp: Path | None = None, mode: str = "sim"
) -> BuildContext:
    products = dict(products or PRODUCTS)
    return BuildContext(
        profile="test",
        mode=mode,
        universe=tuple(products),
        products=products,
        state_dir=tmp or Path("/nonexistent-risk-test"),
    )


def build(kind: Kind, name: str, ctx: BuildContext | None = None, **params: Any) -> Any:
    return Registry(plugin_manager()).build(kind, name, params, ctx or build_ctx())


def build_guard(name: str, ctx: BuildContext | None = None, **params: Any) -> Any:
    return build(Kind.GUARD, name, ctx, **params)


# ---- kernel harness ------------------------------------------------------------------------
class ListJournal(MemoryJournal):
    """The in-memory journal, keeping the intents in order for the test to read."""

    def __init__(self) -> None:
        super().__init__()
        self.intents: list[OrderRequest] = []

    def record_intent(self, request: OrderRequest, ts: int) -> None:
        super().record_intent(request, ts)
        self.intents.append(request)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class Pulse:
    """A signal that speaks on every market event, so the kernel decides on every event."""

    name = "pulse"

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def update(self, event: MarketEvent) -> SignalValue | None:
        return SignalValue(self.name, self.symbol, event.ts, Action.FLAT)


class ScriptedVoter:
    """Decides whatever the test set for the symbol (nothing when unset)."""

    def __init__(self) -> None:
        self.want: dict[str, Action] = {}

    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        action = self.want.get(symbol)
        return None if action is None else Decision(symbol, ts, action, votes=tuple(votes))


class TinyBroker:
    """Fills MARKET orders at once at the last traded price; no fees. Spot: no shorts."""

    def __init__(self, products: Mapping[str, Product], cash: Decimal, clock: SimClock) -> None:
        self._products = dict(products)
        self.cash = cash
        self.clock = clock
        self.held: dict[str, Decimal] = {}
        self.last: dict[str, Decimal] = {}
        self.orders: dict[str, Order] = {}
        self.listener: BrokerListener | None = None
        self._trade = 0

    async def start(self, listener: BrokerListener) -> None:
        self.listener = listener

    async def stop(self) -> None:
        self.listener = None

    async def products(self) -> list[Product]:
        return list(self._products.values())

    async def balances(self) -> list[Balance]:
        return [Balance("USD", self.cash, self.cash)]

    async def positions(self) -> list[Position]:
        return [Position(s, size=q) for s, q in self.held.items() if q]

    def on_market(self, event: MarketEvent) -> None:
        price = getattr(event, "price", None)
        if price is not None:
            self.last[event.symbol] = price

    async def submit(self, request: OrderRequest) -> Order:
        now = self.clock.now()
        order = Order.from_request(request, now)
        price = self.last.get(request.symbol)
        held = self.held.get(request.symbol, D(0))
        cost = request.size * price if price else D(0)
        if (
            price is None
            or (request.side is Side.SELL and request.size > held)
            or (request.side is Side.BUY and cost > self.cash)
        ):
            order.status = OrderStatus.REJECTED
            order.reject_reason = "INSUFFICIENT_FUND" if price else "NO_PRICE"
            self.orders[request.client_order_id] = order
            return order.copy()
        self._trade += 1
        fill = Fill(
            f"tb-{self._trade}",
            request.client_order_id,
            f"o-{self._trade}",
            request.symbol,
            request.side,
            price,
            request.size,
            D(0),
            Liquidity.TAKER,
            now,
        )
        self.held[request.symbol] = held + (
            request.size if request.side is Side.BUY else -request.size
        )
        self.cash += -cost if request.side is Side.BUY else cost
        order.status = OrderStatus.FILLED
        order.filled_size = request.size
        order.avg_fill_price = price
        self.orders[request.client_order_id] = order
        assert self.listener is not None
        self.listener.on_fill(fill)
        return order.copy()

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        return dict.fromkeys(client_order_ids, False)

    async def edit(
        self, client_order_id: str, *, size: Decimal | None, price: Decimal | None
    ) -> Order:
        raise BrokerError("edit is not supported")

    async def open_orders(self) -> list[Order]:
        return []

    async def order(self, client_order_id: str) -> Order | None:
        o = self.orders.get(client_order_id)
        return None if o is None else o.copy()

    async def fills(self, since_ts: int = 0) -> list[Fill]:
        return []


def sim_broker(products: Mapping[str, Product], cash: Decimal, clock: SimClock) -> Any | None:
    """Core's SimBroker (zero fees, immediate market fills) when it is importable."""
    try:
        from gpt_trader.sim.broker import SimBroker
        from gpt_trader.sim.exchange import SimExchange
    except ImportError:
        return None
    exchange = SimExchange(
        products, {"USD": cash}, maker_fee=D(0), taker_fee=D(0), market_fill="immediate"
    )
    return SimBroker(exchange, clock=clock.now)


@dataclass
class Received:
    """One request as it reached the broker, with what the kernel knew at that moment."""

    request: OrderRequest
    now: int
    trading_state: TradingState
    position: Decimal
    price: Decimal | None
    market_ts: int | None
    equity: Decimal
    gross: Decimal


class CheckedBroker:
    """Wraps the real broker: records what reaches it; ``failing`` makes submits raise."""

    def __init__(self, inner: Any, kernel_ref: Callable[[], Kernel]) -> None:
        self.inner = inner
        self.kernel_ref = kernel_ref
        self.received: list[Received] = []
        self.failing = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def start(self, listener: BrokerListener) -> None:
        await self.inner.start(listener)

    async def stop(self) -> None:
        await self.inner.stop()

    async def products(self) -> list[Product]:
        return await self.inner.products()

    async def balances(self) -> list[Balance]:
        return await self.inner.balances()

    async def positions(self) -> list[Position]:
        return await self.inner.positions()

    def on_market(self, event: MarketEvent) -> None:
        self.inner.on_market(event)

    async def submit(self, request: OrderRequest) -> Order:
        k = self.kernel_ref()
        pos = k.positions.get(request.symbol)
        gross = sum(
            (abs(p.size) * (k.last_price(s) or p.mark_price) for s, p in k.positions.items()),
            D(0),
        )
        self.received.append(
            Received(
                request,
                k.now,
                k.trading_state,
                pos.size if pos is not None else D(0),
                k.last_price(request.symbol),
                k.last_market_ts(request.symbol),
                k.equity,
                gross,
            )
        )
        if self.failing:
            raise BrokerError("simulated 503 from the venue")
        return await self.inner.submit(request)

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        return await self.inner.cancel(client_order_ids)

    async def edit(
        self, client_order_id: str, *, size: Decimal | None, price: Decimal | None
    ) -> Order:
        return await self.inner.edit(client_order_id, size=size, price=price)

    async def open_orders(self) -> list[Order]:
        return await self.inner.open_orders()

    async def order(self, client_order_id: str) -> Order | None:
        return await self.inner.order(client_order_id)

    async def fills(self, since_ts: int = 0) -> list[Fill]:
        return await self.inner.fills(since_ts)


class Harness:
    """A real kernel, risk guards from the registry, a checked broker, a simulated clock."""

    def __init__(
        self,
        guards: Sequence[tuple[str, dict[str, Any]]],
        *,
        symbols: Sequence[str] = ("BTC-USD", "ETH-USD"),
        cash: str = "10000",
        sizer: Any = None,
        prefer_sim: bool = True,
        execution: ExecutionPolicy | None = None,
    ) -> None:
        self.products = {s: product(s) for s in symbols}
        self.clock = SimClock(T0)
        ctx = build_ctx(self.products)
        registry = Registry(plugin_manager())
        pre: list[PreTradeGuard] = []
        runtime: list[RuntimeGuard] = []
        self.guards = []
        for name, params in guards:
            guard = registry.build(Kind.GUARD, name, params, ctx)
            self.guards.append(guard)
            if isinstance(guard, PreTradeGuard):
                pre.append(guard)
            if isinstance(guard, RuntimeGuard):
                runtime.append(guard)
        inner = sim_broker(self.products, D(cash), self.clock) if prefer_sim else None
        self.using_sim = inner is not None
        if inner is None:
            inner = TinyBroker(self.products, D(cash), self.clock)
        self.broker = CheckedBroker(inner, lambda: self.kernel)
        self.voter = ScriptedVoter()
        self.sink = Recorder()
        if sizer is None:
            sizer = registry.build(Kind.SIZER, "notional", {"notional": "1000"}, ctx)
        self.parts = KernelParts(
            run_id="risk-test",
            products=self.products,
            signals={s: [Pulse(s)] for s in symbols},
            voter=self.voter,
            sizer=sizer,
            broker=self.broker,
            journal=ListJournal(),
            clock=self.clock,
            guards=GuardStack(pre, runtime, budget_s=5.0),
            sinks=[self.sink],
            execution=execution or ExecutionPolicy(),
        )
        self.kernel = Kernel(self.parts)
        self.operator_steps: set[int] = set()

    async def start(self) -> None:
        await self.kernel.start()

    async def price(self, symbol: str, price: str | Decimal, *, after_s: float = 1) -> None:
        self.clock.advance_to(self.clock.now() + int(after_s * NS))
        p = self.products[symbol].quantize_price(D(price))
        await self.kernel.on_market(
            Trade(symbol, self.clock.now(), f"m-{self.clock.now()}", p, D(1000), "BUY")
        )

    async def tick(self, after_s: float = 1) -> None:
        self.clock.advance_to(self.clock.now() + int(after_s * NS))
        await self.kernel.on_timer()

    async def order(
        self, symbol: str, side: str, size: str | Decimal, *, reduce_only: bool = False
    ) -> Order | None:
        request = OrderRequest(
            client_order_id=self.kernel.next_client_order_id(),
            symbol=symbol,
            side=Side(side),
            size=self.products[symbol].quantize_size(D(size)),
            reduce_only=reduce_only,
        )
        return await self.kernel.submit(request)

    def position(self, symbol: str) -> Decimal:
        pos = self.kernel.positions.get(symbol)
        return pos.size if pos is not None else D(0)
