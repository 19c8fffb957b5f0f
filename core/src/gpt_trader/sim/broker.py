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
restarted on the same state dir finds its orders at the "exchange".

Derivatives: funding payments and expiry settlements (:mod:`gpt_trader.sim.margin`) are
passed, in order with the fills, to ``listener.on_funding`` / ``listener.on_settlement``
when the listener has those methods (the kernel's BrokerListener does not, yet).
Liquidation and settlement closes arrive as ordinary ``on_fill`` / ``on_order`` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gpt_trader.domain import Balance, Fill, MarketEvent, Order, OrderRequest, Position, Product
from gpt_trader.errors import UserError
from gpt_trader.protocols import BrokerListener
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.margin import FundingPayment, Settlement
from gpt_trader.sim.state import read_json, state_error, write_json_atomic


class _Relay:
    """The exchange listener that hands each update to the broker's listener (or backlog)."""

    def __init__(self, broker: SimBroker) -> None:
        self._broker = broker

    def on_order(self, order: Order) -> None:
        self._broker._deliver(order)

    def on_fill(self, fill: Fill) -> None:
        self._broker._deliver(fill)

    def on_funding(self, payment: FundingPayment) -> None:
        self._broker._deliver(payment)

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
        self._backlog: list[Order | Fill | FundingPayment | Settlement | Position] = []
        if self.state_file is not None and self.state_file.exists():
            self._load(self.state_file)
        self._saved_version = exchange.version
        exchange.add_listener(_Relay(self))

    def _load(self, path: Path) -> None:
        data = read_json(path)
        try:
            self.exchange.load_state(data, source=str(path))
        except UserError:
            raise
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            raise state_error(path, exc) from None

    def _deliver(self, item: Order | Fill | FundingPayment | Settlement | Position) -> None:
        listener = self._listener
        if listener is None:
            self._backlog.append(item)
        elif isinstance(item, Fill):
            listener.on_fill(item)
        elif isinstance(item, Order):
            listener.on_order(item)
        elif isinstance(item, Position):
            listener.on_venue_position(item)
        else:
            name = "on_funding" if isinstance(item, FundingPayment) else "on_settlement"
            callback = getattr(listener, name, None)
            if callback is not None:
                callback(item)

    def _persist(self) -> None:
        if self.state_file is not None and self.exchange.version != self._saved_version:
            write_json_atomic(self.state_file, self.exchange.to_state())
            self._saved_version = self.exchange.version

    def now(self) -> int:
        """The time orders are stamped with (int ns UTC)."""
        return self._clock() if self._clock is not None else self.exchange.last_ts

    # ------------------------------------------------------------------ lifecycle

    async def start(self, listener: BrokerListener) -> None:
        self._listener = listener
        backlog, self._backlog = self._backlog, []
        for item in backlog:
            self._deliver(item)

    async def stop(self) -> None:
        if self.state_file is not None:
            write_json_atomic(self.state_file, self.exchange.to_state())
            self._saved_version = self.exchange.version
        self._listener = None

    # ------------------------------------------------------------------ Broker

    async def products(self) -> list[Product]:
        return self.exchange.products()

    async def balances(self) -> list[Balance]:
        return self.exchange.balances()

    async def positions(self) -> list[Position]:
        """Positions derived from the fills (see :meth:`SimExchange.positions`)."""
        return self.exchange.positions()

    async def submit(self, request: OrderRequest) -> Order:
        try:
            return self.exchange.submit(request, self.now())
        finally:
            self._persist()

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        try:
            ts = self.now()
            return {cid: self.exchange.cancel(cid, ts).success for cid in client_order_ids}
        finally:
            self._persist()

    async def edit(
        self, client_order_id: str, *, size: Decimal | None, price: Decimal | None
    ) -> Order:
        """Raises :class:`~gpt_trader.sim.reasons.SimRejected` (a BrokerError) when refused."""
        try:
            return self.exchange.edit(client_order_id, self.now(), size=size, price=price)
        finally:
            self._persist()

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
