"""The in-process simulated broker: the async Broker protocol over a :class:`SimExchange`.

Used by the dev profile and by backtests. Market events reach it through ``on_market``
(it is a ``MarketDrivenBroker``); every order update and fill the exchange produces is passed
to the kernel's :class:`~gpt_trader.protocols.BrokerListener` synchronously, once, in order
(``on_fill`` before the ``on_order`` of the update that carries it). Updates produced before
``start`` are kept and delivered, in order, when ``start`` is called.

Time: orders are stamped with ``clock()`` when one is given, else with the latest market
time the exchange has seen (a candle counts at its close), so replays are deterministic.

Persistence: with ``state_file`` set, the exchange (orders, fills, balances, holds, id
counters) is loaded from that JSON file when the broker is built and written back
atomically after every call or market event that changed something, and on ``stop``; a bot
restarted on the same state dir finds its orders at the "exchange". As a venue records a
fill before it reports it, the updates and fills of a call or market event then reach the
listener once the file holds them (at the end of the call, in order): a bot killed at any
moment never holds a fill its restarted "exchange" has forgotten (whose trade id the
exchange would hand out again).

Derivatives: funding payments and expiry settlements (:mod:`gpt_trader.sim.margin`) are
passed, in order with the fills, to ``listener.on_funding`` / ``listener.on_settlement``
when the listener has those methods (the kernel has ``on_funding`` only: a settlement
reaches it as its closing fill). Liquidation and settlement closes arrive as ordinary
``on_fill`` / ``on_order`` calls. :meth:`SimBroker.balances` adds each margin pool's cash
to its currency's (a USD pool to USD), so the kernel's cash is the collateral it trades
with. At the end of every call and of every market event of a
derivative product (and on ``start``), ``listener.on_venue_position`` gets the venue's
figures (liquidation price, leverage, initial margin, mark) of every open derivative
position and of each one a fill just closed; funding that ``SimExchange.advance`` paid
outside a broker call is reported at the next one. A run without derivative positions
pays nothing for this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gpt_trader.domain import (
    Balance,
    Fill,
    FundingPayment,
    MarketEvent,
    Order,
    OrderRequest,
    Position,
    Product,
)
from gpt_trader.errors import UserError
from gpt_trader.protocols import BrokerListener
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.margin_records import Settlement
from gpt_trader.sim.state import read_json, state_error, write_json_atomic

ZERO = Decimal(0)
_Item = Order | Fill | FundingPayment | Settlement | Position
_OPTIONAL = {
    Position: "on_venue_position",
    FundingPayment: "on_funding",
    Settlement: "on_settlement",
}


class _Relay:
    """The exchange listener that hands each update to the broker's listener (or backlog)."""

    def __init__(self, broker: SimBroker) -> None:
        self._broker = broker

    def on_order(self, order: Order) -> None:
        broker = self._broker
        listener = broker._listener  # directly: once or twice per order, every order
        if listener is None or broker._held is not None:
            broker._deliver(order)
        else:
            listener.on_order(order)

    def on_fill(self, fill: Fill) -> None:
        self._broker._deliver(fill)
        self._broker._touch(fill.symbol)

    def on_funding(self, payment: FundingPayment) -> None:
        self._broker._deliver(payment)
        self._broker._touch(payment.symbol)

    def on_settlement(self, settlement: Settlement) -> None:
        self._broker._deliver(settlement)

    def on_venue_position(self, position: Position) -> None:
        self._broker._deliver(position)


class SimBroker:
    """Broker + MarketDrivenBroker over a :class:`SimExchange` (see the module docstring)."""

    def __init__(
        self,
        exchange: SimExchange,
        *,
        state_file: str | Path | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.exchange = exchange
        self.state_file = None if state_file is None else Path(state_file)
        self._clock = clock
        self._listener: BrokerListener | None = None
        self._backlog: list[_Item] = []
        # With a state file: what the listener is told once the file holds it.
        self._held: list[_Item] | None = None if self.state_file is None else []
        if self.state_file is not None and self.state_file.exists():
            self._load(self.state_file)
        self._saved_version = exchange.version
        # Derivative symbols whose venue figures the listener must hear about: those with an
        # open position, and those a fill or a funding payment changed since the last push.
        self._open: set[str] = set()
        self._touched: set[str] = set()
        if exchange.has_derivatives:
            self._open = {p.symbol for p in exchange.derivatives.positions()}
        exchange.add_listener(_Relay(self))

    def _load(self, path: Path) -> None:
        data = read_json(path)
        try:
            self.exchange.load_state(data, source=str(path))
        except UserError:
            raise
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            raise state_error(path, exc) from None

    def _deliver(self, item: _Item) -> None:
        listener = self._listener
        if listener is None:
            self._backlog.append(item)
        elif self._held is not None:
            self._held.append(item)
        else:
            self._hand(listener, item)

    def _release(self) -> None:
        """Hand the held updates to the listener, in order (the state file holds them).
        Callers check ``self._held`` first: without a state file, on every market event of
        a backtest, there is nothing to hand over."""
        held, listener = self._held, self._listener
        if held is None or listener is None:
            return
        while held:  # one at a time: a listener that raises leaves the rest for the next
            self._hand(listener, held.pop(0))

    @staticmethod
    def _hand(listener: BrokerListener, item: _Item) -> None:
        if isinstance(item, Fill):
            listener.on_fill(item)
        elif isinstance(item, Order):
            listener.on_order(item)
        else:
            # Optional for a listener that only follows orders (a tap, a test recorder).
            callback = getattr(listener, _OPTIONAL[type(item)], None)
            if callback is not None:
                callback(item)

    def _persist(self) -> None:
        if self.state_file is not None and self.exchange.version != self._saved_version:
            write_json_atomic(self.state_file, self.exchange.to_state())
            self._saved_version = self.exchange.version

    def _touch(self, symbol: str) -> None:
        if self.exchange.has_derivatives and self.exchange.derivatives.handles(symbol):
            self._touched.add(symbol)

    def _push_positions(self) -> None:
        """Tell the listener the venue's view of every open or just-changed derivative
        position (one a fill closed goes once more, flat)."""
        if self._listener is None or not (self._open or self._touched):
            return
        deriv = self.exchange.derivatives
        ts = self.exchange.last_ts
        symbols = sorted(self._open | self._touched)
        self._touched = set()
        for symbol in symbols:
            view = deriv.position_view(symbol, ts)
            if view.size == 0:
                self._open.discard(symbol)
            else:
                self._open.add(symbol)
            self._deliver(view.as_position())

    def _after_call(self) -> None:
        self._persist()
        self._push_positions()
        if self._held:
            self._release()

    def now(self) -> int:
        """The time orders are stamped with (int ns UTC)."""
        return self._clock() if self._clock is not None else self.exchange.last_ts

    # ------------------------------------------------------------------ lifecycle

    async def start(self, listener: BrokerListener) -> None:
        self._persist()
        self._listener = listener
        backlog, self._backlog = self._backlog, []
        for item in backlog:
            self._deliver(item)
        self._push_positions()
        if self._held:
            self._release()

    async def stop(self) -> None:
        if self.state_file is not None:
            write_json_atomic(self.state_file, self.exchange.to_state())
            self._saved_version = self.exchange.version
        self._listener = None

    # ------------------------------------------------------------------ Broker

    async def products(self) -> list[Product]:
        return self.exchange.products()

    async def balances(self) -> list[Balance]:
        """The spot wallets, with each derivative pool's cash added to its currency's.

        A pool counts with its cash and the margin isolated positions hold (unrealised P&L
        is the positions'); its available part is what could leave it now. Money moves
        between a wallet and a pool (transfers, sweeps) only by leaving one for the other,
        so nothing is counted twice.
        """
        wallets = self.exchange.balances()
        if not self.exchange.has_derivatives:
            return wallets
        deriv = self.exchange.derivatives
        ts = self.exchange.last_ts
        merged = {b.currency: b for b in wallets}
        for account in deriv.accounts():
            currency = deriv.currency(account)
            have = merged.get(currency) or Balance(currency, ZERO, ZERO)
            merged[currency] = Balance(
                currency,
                have.total + deriv.cash(account) + deriv.isolated_margin(account),
                have.available + deriv.withdrawable(account, ts),
            )
        return [merged[c] for c in sorted(merged)]

    async def positions(self) -> list[Position]:
        """What a venue reports: derivative positions from the margin ledger; for spot, the
        account's whole balance of each product's base (attributed to the first product
        with that base), as venues' accounts do. Whose coins they are is the kernel's
        business: it trades only the inventory its own fills built."""
        exchange = self.exchange
        out = exchange.derivatives.positions() if exchange.has_derivatives else []
        held = {b.currency: b.total for b in exchange.balances()}
        claimed: set[str] = set()
        for product in exchange.products():
            if product.is_derivative or product.base in claimed:
                continue
            claimed.add(product.base)
            size = held.get(product.base, ZERO)
            if size:
                last = exchange.last_price(product.symbol)
                out.append(Position(product.symbol, size=size, mark_price=last or ZERO))
        return out

    async def submit(self, request: OrderRequest) -> Order:
        try:
            return self.exchange.submit(request, self.now())
        finally:
            self._after_call()

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        try:
            ts = self.now()
            return {cid: self.exchange.cancel(cid, ts).success for cid in client_order_ids}
        finally:
            self._after_call()

    async def edit(
        self, client_order_id: str, *, size: Decimal | None, price: Decimal | None
    ) -> Order:
        """Raises :class:`~gpt_trader.sim.reasons.SimRejected` (a BrokerError) when refused."""
        try:
            return self.exchange.edit(client_order_id, self.now(), size=size, price=price)
        finally:
            self._after_call()

    async def open_orders(self) -> list[Order]:
        return self.exchange.open_orders()

    async def order(self, client_order_id: str) -> Order | None:
        return self.exchange.order(client_order_id)

    async def fills(self, since_ts: int = 0) -> list[Fill]:
        return self.exchange.fills(since_ts)

    # ------------------------------------------------------------------ MarketDrivenBroker

    def on_market(self, event: MarketEvent) -> None:
        """Match against one market event (Candle, Trade, Ticker or BookUpdate)."""
        try:
            self.exchange.on_market(event)
        finally:
            self._persist()
            # Only a derivative's own mark moves its figures (or a fill or funding did).
            if self._touched or event.symbol in self._open:
                self._push_positions()
            if self._held:
                self._release()
