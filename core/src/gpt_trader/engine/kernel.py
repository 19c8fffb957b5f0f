"""The kernel: one event loop body for live, paper and replay.

Market events flow signals -> voter -> filters -> sizer -> pre-trade guards -> broker;
order and fill events flow back into orders, positions and P&L; every domain event goes to
the sinks. Drivers call ``on_market``, ``on_timer`` and ``stop``; brokers call ``on_order``
and ``on_fill``; the reconciler it owns (:mod:`gpt_trader.engine.reconciler`) asks the broker
for reports on its timer. The kernel never sleeps and never reads the wall clock itself.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from gpt_trader.domain import (
    Action,
    BookUpdate,
    Candle,
    Decision,
    Fill,
    FundingPayment,
    GuardResult,
    GuardTrip,
    InventoryAdjustment,
    MarginType,
    MarketEvent,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Reduction,
    Severity,
    Side,
    SignalValue,
    Ticker,
    TimeInForce,
    TradingState,
    money,
)
from gpt_trader.domain.events import (
    ComponentFailed,
    ConnectionStatus,
    DecisionMade,
    EntriesPaused,
    EquityMarked,
    Event,
    FillReceived,
    FundingReceived,
    GuardTripped,
    InventoryAdjusted,
    MarketData,
    OrderIntent,
    OrderRejected,
    OrderUpdated,
    Reconciled,
    SignalEmitted,
    TradingStateChanged,
)
from gpt_trader.domain.market import NS, BookView, event_price, ts_to_iso
from gpt_trader.engine.book import L2Book
from gpt_trader.engine.cancels import CancelWatch
from gpt_trader.engine.connectivity import Connectivity
from gpt_trader.engine.execution import Entries, ExecutionPolicy
from gpt_trader.engine.exits import ExitPlan, Exits, is_bracket
from gpt_trader.engine.guards import GuardStack, blocks
from gpt_trader.engine.ledger import Ledger
from gpt_trader.engine.reconciler import Reconciler
from gpt_trader.errors import BrokerError, UserError
from gpt_trader.protocols import (
    Broker,
    Filter,
    FlushingSink,
    MarketDrivenBroker,
    MarketFilter,
    OrderJournal,
    ReportingBroker,
    Signal,
    Sink,
    Sizer,
    Voter,
)

log = logging.getLogger("gpt_trader.kernel")
ZERO = Decimal(0)
ADOPTED = "adopted"
SHRUNK = "shrunk"


class Clock(Protocol):
    def now(self) -> int: ...


@dataclass
class KernelParts:
    """Everything a profile assembles for one run."""

    run_id: str
    products: dict[str, Product]
    signals: dict[str, list[Signal]]
    voter: Voter
    sizer: Sizer
    broker: Broker
    journal: OrderJournal
    clock: Clock
    filters: list[Filter] = field(default_factory=list)
    guards: GuardStack = field(default_factory=GuardStack)
    sinks: list[Sink] = field(default_factory=list)
    critical_sinks: frozenset[int] = frozenset()
    record_market: bool = False
    allow_short: bool = False
    quote_currency: str = "USD"
    # Sent with every futures/perpetual order; None leaves it to the venue.
    leverage: Decimal | None = None
    margin_type: MarginType | None = None
    # Spot holdings the user hands the bot (symbol -> (size, cost per unit)), adopted once.
    adopt_holdings: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    # How entries are placed ([execution]); the default is MARKET IOC.
    execution: ExecutionPolicy = field(default_factory=ExecutionPolicy)
    # ``[exits]``: the venue bracket every position gets (None: the strategy exits alone).
    exits: ExitPlan | None = None
    # How often a running bot records its cash and equity (EquityMarked) while they move;
    # None records none (a backtest's report has its own equity curve).
    equity_every_s: float | None = None


class Kernel:
    """Single-threaded: every method runs on the driver's loop, one event at a time."""

    def __init__(self, parts: KernelParts) -> None:
        self.parts = parts
        self.run_id = parts.run_id
        self.products = parts.products
        self.clock = parts.clock
        self.broker = parts.broker
        self.journal = parts.journal
        self.ledger = Ledger(parts.products, ZERO)
        self.orders: dict[str, Order] = {}
        self.trading_state = TradingState.ACTIVE
        self.entries_paused: str = ""
        self.guard_trips: list[GuardTrip] = []
        self.events_processed = 0
        self.decisions = 0
        self.errors: list[str] = []
        self.broker_calls = 0
        self.broker_errors = 0
        self.connectivity = Connectivity()
        self.fills_received = 0  # this run's (the book also holds earlier runs' fills)
        self._seen_trades: set[str] = set()
        self._seen_funding: set[str] = set()
        self._votes: dict[str, dict[str, SignalValue]] = {s: {} for s in parts.products}
        self._last_price: dict[str, Decimal] = {}
        self._last_ts: dict[str, int] = {}
        self._seq = 0
        self._sinks: list[Sink] = []
        self._flushers: list[FlushingSink] = []
        self._set_sinks(list(parts.sinks))
        self._critical_sinks = {id(parts.sinks[i]) for i in parts.critical_sinks}
        self._market_broker = isinstance(parts.broker, MarketDrivenBroker)
        self.working: set[str] = set()
        # Runtime guards wait until start() has set cash: an equity of 0 is not a drawdown.
        self._started = False
        self._books: dict[str, L2Book] = {}
        # Cuts runtime guards asked for (symbol -> (size, guard)); placed at the next
        # async point, since guards run inside synchronous broker callbacks.
        self._reductions: dict[str, tuple[Decimal, str]] = {}
        self._equity_marked: tuple[int, Decimal, Decimal] | None = None  # ts, cash, equity
        self._failed_filters: set[int] = set()
        self._market_filters = [f for f in parts.filters if isinstance(f, MarketFilter)]
        self._blind_filters: set[int] = set()
        # Spot: what the account holds of each product's base (the venue's figure); the
        # bot's inventory is its position, built from its own fills and adjustments only.
        self.holdings: dict[str, Decimal] = {}
        broker = parts.broker
        interval = broker.reconcile_interval_s if isinstance(broker, ReportingBroker) else None
        self.reconciler = Reconciler(self, interval)
        policy = parts.execution
        self.cancels = CancelWatch(self, policy.cancel_retries, policy.cancel_give_up_s)
        self.entries = Entries(self, parts.execution)
        self._limit_entries = parts.execution.limits
        self.exits = Exits(self, parts.exits)

    # ---- StateView -------------------------------------------------------------------------
    @property
    def now(self) -> int:
        return self.clock.now()

    @property
    def positions(self) -> Mapping[str, Position]:
        return self.ledger.positions

    @property
    def open_orders(self) -> Sequence[Order]:
        return [self.orders[cid] for cid in self.working]

    @property
    def cash(self) -> Decimal:
        return self.ledger.cash

    @property
    def equity(self) -> Decimal:
        return self.ledger.equity

    @property
    def peak_equity(self) -> Decimal:
        return self.ledger.peak_equity

    @property
    def starting_equity(self) -> Decimal:
        return self.ledger.starting_equity

    @property
    def realized_pnl(self) -> Decimal:
        return self.ledger.realized_pnl

    @property
    def fees(self) -> Decimal:
        return self.ledger.fees

    def last_price(self, symbol: str) -> Decimal | None:
        return self._last_price.get(symbol)

    def last_market_ts(self, symbol: str) -> int | None:
        """When the last market data for ``symbol`` happened (a candle at its close)."""
        return self._last_ts.get(symbol)

    def book(self, symbol: str) -> BookView | None:
        book = self._books.get(symbol)
        return None if book is None else book.view()

    def closed_trades(self, symbol: str | None = None) -> Sequence[Decimal]:
        if symbol is not None:
            return self.ledger.closed_trades.get(symbol, [])
        return [t for trades in self.ledger.closed_trades.values() for t in trades]

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self, *, trading_state: TradingState = TradingState.ACTIVE) -> None:
        """Connect the broker, rebuild positions from the recorded fills, reconcile with the
        venue (orders by client_order_id, missing fills, positions), take cash from it."""
        self.reconciler.begin(self.now)
        await self.broker.start(self)
        self._rebuild_inventory()
        for payment in self.parts.journal.funding_payments():
            self._seen_funding.add(payment.payment_id)
            self.ledger.position(payment.symbol).funding += payment.amount
        await self.reconcile()
        await self._adopt_holdings()
        # The venue's balances are the truth for cash, whatever the fills above moved.
        await self._sync_cash()
        self.ledger.starting_equity = self.ledger.equity
        self.ledger.peak_equity = self.ledger.starting_equity
        self._started = True
        self._mark_equity(force=True)
        if self._limit_entries:
            await self.entries.resume()
        if self.exits.plan is not None:
            # Entry times of the open positions: a second read of the fills, since the
            # reconcile above may have recorded some; only a profile with [exits] pays it.
            self.exits.resume(self.parts.journal.fills())
            await self.exits.settle()
        if trading_state > self.trading_state:
            self._tighten(trading_state, "restored from the previous run", operator=False)

    def _rebuild_inventory(self) -> None:
        """Positions from the recorded fills and inventory adjustments, in time order."""
        fills = self.parts.journal.fills()
        self._seen_trades.update(f.trade_id for f in fills)
        self.ledger.rebuild(fills, self.parts.journal.adjustments())

    async def _adopt_holdings(self) -> None:
        """Adopt the holdings the profile hands the bot (``[run] adopt_holdings``), each
        entry once: it is recorded, and an entry already in the store is not applied again.
        Refused, with nothing adopted, when the account does not hold it beyond the bot's
        own inventory."""
        if not self.parts.adopt_holdings:
            return
        done = {
            (a.symbol, a.size, a.price)
            for a in self.parts.journal.adjustments()
            if a.kind == ADOPTED
        }
        todo = [
            (symbol, size, cost)
            for symbol, (size, cost) in sorted(self.parts.adopt_holdings.items())
            if (symbol, size, cost) not in done
        ]
        for symbol, size, _ in todo:
            product = self.products.get(symbol)
            if product is None or product.is_derivative:
                raise UserError(
                    f"adopt_holdings {symbol}: only spot products of the universe can be adopted"
                )
            inventory = self.ledger.position(symbol).size
            held = self.holdings.get(symbol, ZERO)
            if size > held - inventory:
                raise UserError(
                    f"adopt_holdings {symbol}: the account holds {held} {product.base}, "
                    f"{inventory} of it already the bot's; {size} cannot be adopted"
                )
        for symbol, size, cost in todo:
            self._adjust(
                InventoryAdjustment(self.now, symbol, ADOPTED, size, cost, "adopted by the profile")
            )

    def _adjust(self, adjustment: InventoryAdjustment) -> None:
        """Record an inventory adjustment (durably, before it takes effect) and apply it."""
        self.parts.journal.record_adjustment(adjustment)
        pos = self.ledger.position(adjustment.symbol)
        pos.adjust(adjustment)
        account = self.holdings.get(adjustment.symbol)
        self.emit(InventoryAdjusted(self.now, adjustment, pos.size, account))

    def on_account_holding(self, symbol: str, held: Decimal) -> None:
        """What the account holds of a spot product's base (the venue's balance, less any
        reserve). It never grows the bot's inventory; a balance below it (the user sold or
        withdrew coins) shrinks the inventory to what is there, recorded and alerted. Not
        judged while an order on the symbol is working (a fill may be on its way)."""
        product = self.products.get(symbol)
        if product is None or product.is_derivative:
            return
        self.holdings[symbol] = held
        pos = self.ledger.position(symbol)
        if pos.size <= held or pos.size <= 0:
            return
        if any(self.orders[cid].symbol == symbol for cid in self.working):
            return
        self._adjust(
            InventoryAdjustment(
                self.now,
                symbol,
                SHRUNK,
                held - pos.size,
                pos.avg_entry_price,
                f"the account holds {held} {product.base}, less than the bot's {pos.size}",
            )
        )

    async def _sync_cash(self) -> None:
        balances = await self.broker.balances()
        quote = self.parts.quote_currency
        self.ledger.cash = sum((b.total for b in balances if b.currency == quote), ZERO)

    async def backfill(self, since_ts: int, client_order_id: str | None = None) -> int:
        """Apply venue fills not seen yet (exactly once, by trade id); returns how many."""
        added = 0
        for fill in await self.broker.fills(since_ts):
            if client_order_id is not None and fill.client_order_id != client_order_id:
                continue
            if fill.trade_id not in self._seen_trades:
                self.on_fill(fill)
                added += 1
        return added

    async def reconcile(self) -> None:
        """Store vs venue, by client_order_id. Nothing is re-sent; differences are events."""
        stored_working = self.parts.journal.working_orders()
        for stored in stored_working:
            venue = await self.broker.order(stored.client_order_id)
            if venue is None:
                # Recorded but never reached the venue (e.g. killed between the two steps).
                stored.status = OrderStatus.CANCELLED
                stored.reject_reason = "NOT_FOUND_AT_VENUE"
                stored.updated_ts = self.now
                self.orders[stored.client_order_id] = stored
                self.working.discard(stored.client_order_id)
                self.emit(
                    Reconciled(self.now, stored.client_order_id, "working", "absent", "closed")
                )
                self.emit(OrderUpdated(self.now, stored.copy()))
                continue
            action = "adopted" if venue.status != stored.status else "confirmed"
            mine = self.orders[venue.client_order_id] = venue.copy()
            mine.tag = mine.tag or stored.tag  # not every venue keeps the kernel's tag
            if venue.status.is_working:
                self.working.add(venue.client_order_id)
            self.emit(
                Reconciled(
                    self.now, venue.client_order_id, stored.status.value, venue.status.value, action
                )
            )
            self.emit(OrderUpdated(self.now, venue.copy()))
        since = min((o.created_ts for o in stored_working), default=None)
        if since is not None:
            found = await self.backfill(since)
            if found:
                self.emit(Reconciled(self.now, "fills", "missing", str(found), "backfilled"))
        for order in await self.broker.open_orders():
            if order.client_order_id not in self.orders:
                self.orders[order.client_order_id] = order.copy()
                self.working.add(order.client_order_id)
                self.emit(
                    Reconciled(
                        self.now, order.client_order_id, "absent", order.status.value, "adopted"
                    )
                )
                self.emit(OrderUpdated(self.now, order.copy()))
        venue_positions = {p.symbol: p for p in await self.broker.positions()}
        for symbol, product in self.products.items():
            venue_pos = venue_positions.get(symbol)
            venue_size = venue_pos.size if venue_pos else ZERO
            if product.is_derivative:
                self._reconcile_derivative(symbol, venue_pos)
            else:
                self.on_account_holding(symbol, venue_size)

    def _reconcile_derivative(self, symbol: str, venue_pos: Position | None) -> None:
        """On futures and perpetuals the venue's position is the bot's contracts: its size
        is the truth. The entry price is the venue's, else the bot's own fills', else (a
        position the bot has no record of and the venue gives no price for) the mark,
        said so in the event; never 0."""
        pos = self.ledger.position(symbol)
        venue_size = venue_pos.size if venue_pos else ZERO
        if venue_size == pos.size:
            return
        entry = pos.avg_entry_price if (pos.size > 0) == (venue_size > 0) else ZERO
        source = "fills"
        if venue_pos is not None and venue_pos.avg_entry_price:
            entry, source = venue_pos.avg_entry_price, "venue"
        elif venue_size and not entry:
            entry = venue_pos.mark_price if venue_pos is not None else ZERO
            entry = entry or self._last_price.get(symbol, ZERO)
            source = "mark (no entry price known)"
        self.emit(
            Reconciled(
                self.now,
                f"position:{symbol}",
                str(pos.size),
                str(venue_size),
                f"adopted (entry price from {source})" if venue_size else "adopted",
            )
        )
        pos.size = venue_size
        pos.avg_entry_price = entry if venue_size else ZERO
        if venue_size and not entry:
            log.warning("position %s: no entry price known; P&L unknown until a fill", symbol)

    async def stop(self, *, cancel_open: bool) -> None:
        if cancel_open:
            working = [
                o.client_order_id
                for o in self.orders.values()
                if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
                and not is_bracket(o)  # a position's stop outlives the bot
            ]
            if working:
                try:
                    await self.broker.cancel(working)
                except BrokerError as exc:
                    self._note_error(f"cancel on stop failed: {exc}")
        await self.broker.stop()

    # ---- market path -----------------------------------------------------------------------
    async def on_market(self, event: MarketEvent) -> None:
        self.events_processed += 1
        if self._market_broker:
            self.broker.on_market(event)  # type: ignore[attr-defined]
        if self.exits.due:
            await self.exits.settle()  # a fill this event made is protected before deciding
        symbol = event.symbol
        price = event_price(event)
        if price is not None:
            self._last_price[symbol] = price
            self._last_ts[symbol] = event.close_ts if isinstance(event, Candle) else event.ts
            self.ledger.mark(symbol, price)
            if isinstance(event, Candle):
                self.exits.on_price(symbol, event.high, event.low)
            else:
                self.exits.on_price(symbol, price, price)
        if isinstance(event, BookUpdate):
            self._book(symbol).apply(event)
            self._last_ts[symbol] = event.ts
        elif isinstance(event, Ticker):
            self._book(symbol).apply_ticker(event)
        if self._limit_entries and self.entries.active:
            await self.entries.tick()
        if self.parts.record_market:
            self.emit(MarketData(self.now, event))
        for flt in self._market_filters:
            try:
                flt.observe(event)
            except Exception as exc:
                # Fail closed: a filter that lost its view of the market vetoes entries.
                self._blind_filters.add(id(flt))
                self._filter_failed(flt, exc)
        changed = False
        for signal in self.parts.signals.get(symbol, ()):
            try:
                value = signal.update(event)
            except Exception as exc:
                self._disable_signal(symbol, signal, exc)
                continue
            if value is not None:
                self._votes[symbol][value.name] = value
                if self._sinks:
                    self.emit(SignalEmitted(self.now, value))
                changed = True
        if changed:
            await self.decide(symbol)
        if self._reductions:
            await self.place_reductions()
        if self.exits.due:
            await self.exits.settle()

    async def on_emissions(self, candle: Candle, emitted: Sequence[SignalValue]) -> None:
        """The vectorised replay path: the signals' outputs for this bar were precomputed."""
        self.events_processed += 1
        if self._market_broker:
            self.broker.on_market(candle)  # type: ignore[attr-defined]
        if self.exits.due:
            await self.exits.settle()
        symbol = candle.symbol
        self._last_price[symbol] = candle.close
        self._last_ts[symbol] = candle.close_ts
        self.ledger.mark(symbol, candle.close)
        self.exits.on_price(symbol, candle.high, candle.low)
        if self._limit_entries and self.entries.active:
            await self.entries.tick()
        if self.parts.record_market:
            self.emit(MarketData(self.now, candle))
        if emitted:
            votes = self._votes[symbol]
            for value in emitted:
                votes[value.name] = value
                if self._sinks:
                    self.emit(SignalEmitted(self.now, value))
            await self.decide(symbol)
        if self.exits.due:
            await self.exits.settle()

    def _book(self, symbol: str) -> L2Book:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = L2Book(symbol)
        return book

    def _filter_failed(self, flt: Filter, exc: Exception) -> None:
        """Report a failing filter once; it keeps vetoing every entry it is asked about
        (fail closed) until an operator fixes the profile."""
        if id(flt) in self._failed_filters:
            return
        self._failed_filters.add(id(flt))
        self.emit(
            ComponentFailed(
                self.now,
                f"filter:{flt.name}",
                f"{type(exc).__name__}: {exc} (entries it judges are blocked)",
            )
        )

    def _disable_signal(self, symbol: str, signal: Signal, exc: Exception) -> None:
        name = signal.name
        self.parts.signals[symbol] = [s for s in self.parts.signals[symbol] if s is not signal]
        self.emit(
            ComponentFailed(self.now, f"signal:{name}:{symbol}", f"{type(exc).__name__}: {exc}")
        )

    async def decide(self, symbol: str) -> None:
        votes = list(self._votes[symbol].values())
        decision = self.parts.voter.combine(symbol, self.now, votes)
        if decision is None:
            return
        self.decisions += 1
        pos = self.ledger.position(symbol)
        target = decision.action
        if target is Action.SHORT and not self.parts.allow_short:
            target = Action.FLAT
        stuck = self.cancels.blocked(symbol)
        if stuck:
            # Whatever the order does next, the venue must say so first (nothing can close
            # or enter around it: its fills may still come).
            why = f"the cancel of {stuck} is unconfirmed: waiting for the venue to report it"
            self.emit(DecisionMade(self.now, decision, "blocked", why))
            return
        if (self.working and any(self._blocks(cid, symbol) for cid in self.working)) or (
            self._limit_entries and self.entries.busy(symbol)
        ):
            self.emit(DecisionMade(self.now, decision, "skipped", "an order is working"))
            return
        closing = pos.size != 0 and (
            target is Action.FLAT or (target is Action.LONG) != (pos.size > 0)
        )
        if closing and not await self.exits.release(symbol):
            self.emit(
                DecisionMade(self.now, decision, "skipped", "the exit bracket is still working")
            )
            return
        if target is Action.FLAT:
            if pos.size == 0:
                self.emit(DecisionMade(self.now, decision, "hold", "already flat"))
                return
            side = Side.SELL if pos.size > 0 else Side.BUY
            await self._place(decision, side, abs(pos.size), reduce_only=True)
            return
        want_long = target is Action.LONG
        if (pos.size > 0 and want_long) or (pos.size < 0 and not want_long):
            self.emit(DecisionMade(self.now, decision, "hold", "already positioned"))
            return
        if pos.size != 0:
            # Opposite exposure: close it first; the entry follows on the next decision.
            side = Side.BUY if want_long else Side.SELL
            await self._place(decision, side, abs(pos.size), reduce_only=True)
            return
        if self.trading_state is not TradingState.ACTIVE or self.entries_paused:
            why = self.entries_paused or f"trading state {self.trading_state.name}"
            self.emit(DecisionMade(self.now, decision, "blocked", why))
            return
        for flt in self.parts.filters:
            try:
                if id(flt) in self._blind_filters:
                    raise RuntimeError("it lost its view of the market")
                verdict = flt.allow(decision, self)
            except Exception as exc:
                # Fail closed: a filter that cannot judge vetoes this entry. It is reported
                # once and disabled only after the loop, so no neighbour is skipped.
                self._filter_failed(flt, exc)
                self.emit(
                    DecisionMade(self.now, decision, "filtered", f"{flt.name}: failed ({exc})")
                )
                return
            if not verdict.allowed:
                self.emit(
                    DecisionMade(self.now, decision, "filtered", f"{flt.name}: {verdict.reason}")
                )
                return
            if verdict.scale != 1.0:
                decision = Decision(
                    decision.symbol,
                    decision.ts,
                    decision.action,
                    decision.confidence,
                    decision.votes,
                    decision.scale * verdict.scale,
                )
        try:
            raw = self.parts.sizer.size(decision, self)
        except Exception as exc:
            self.emit(ComponentFailed(self.now, "sizer", f"{type(exc).__name__}: {exc}"))
            self._tighten(TradingState.HALTED, f"sizer failed: {exc}")
            return
        product = self.products[symbol]
        size = product.quantize_size(
            raw * Decimal(str(decision.scale)) if decision.scale != 1.0 else raw
        )
        problem = product.size_error(size)
        if problem:
            self.emit(DecisionMade(self.now, decision, "unsized", problem))
            return
        await self._place(decision, Side.BUY if want_long else Side.SELL, size, reduce_only=False)

    async def _place(
        self, decision: Decision, side: Side, size: Decimal, *, reduce_only: bool
    ) -> None:
        request = self._market_request(
            decision.symbol, side, size, reduce_only, ",".join(v.name for v in decision.votes)
        )
        if self._limit_entries and not reduce_only:
            order = await self.entries.enter(request)
        else:
            order = await self.submit(request)
        if self._sinks:
            rejected = order is None or order.status is OrderStatus.REJECTED
            outcome = "rejected" if rejected else "ordered"
            cid = request.client_order_id if order is None else order.client_order_id
            self.emit(DecisionMade(self.now, decision, outcome, cid))

    def _market_request(
        self, symbol: str, side: Side, size: Decimal, reduce_only: bool, tag: str
    ) -> OrderRequest:
        product = self.products[symbol]
        derivative = product.is_derivative
        return OrderRequest(
            client_order_id=self.next_client_order_id(),
            symbol=symbol,
            side=side,
            size=product.quantize_size(size),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            reduce_only=reduce_only,
            leverage=self.parts.leverage if derivative else None,
            margin_type=self.parts.margin_type if derivative else None,
            tag=tag,
        )

    async def place_reductions(self) -> None:
        """Place the cuts runtime guards asked for: a reduce-only market order each, unless
        the position is already flat or an order on the symbol is still working (the guard
        asks again on its next evaluation if the danger remains)."""
        pending, self._reductions = self._reductions, {}
        for symbol, (size, guard) in pending.items():
            pos = self.ledger.positions.get(symbol)
            product = self.products.get(symbol)
            if pos is None or pos.size == 0 or product is None:
                continue
            if any(self._blocks(cid, symbol) for cid in self.working):
                continue
            if not await self.exits.release(symbol) or pos.size == 0:
                continue
            cut = product.quantize_size(min(size, abs(pos.size)))
            if product.size_error(cut):
                cut = abs(pos.size)  # too small to cut in part: close it
            side = Side.SELL if pos.size > 0 else Side.BUY
            await self.submit(self._market_request(symbol, side, cut, True, f"guard:{guard}"))

    def _blocks(self, cid: str, symbol: str) -> bool:
        """A working order that holds back new orders on ``symbol`` (a position's exit
        bracket does not: it is cancelled first)."""
        order = self.orders[cid]
        return order.symbol == symbol and not is_bracket(order)

    def margin_terms(self, symbol: str) -> tuple[Decimal | None, MarginType | None]:
        """The leverage and margin type every order of ``symbol`` carries (None for spot)."""
        if not self.products[symbol].is_derivative:
            return None, None
        return self.parts.leverage, self.parts.margin_type

    def next_client_order_id(self) -> str:
        self._seq += 1
        return f"{self.run_id}-{self._seq:06d}"

    # ---- order path ------------------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> Order | None:
        """Guards, then the durable intent, then the broker. Returns the order, or None if
        the request was stopped before the venue."""
        if self.trading_state is TradingState.HALTED:
            self.emit(OrderRejected(self.now, request, "trading is halted", "kernel"))
            return None
        if self.trading_state is TradingState.REDUCE_ONLY and not self._reduces(request):
            self.emit(
                OrderRejected(self.now, request, "reduce-only: order would add exposure", "kernel")
            )
            return None
        guards = self.parts.guards
        for result in guards.check(request, self) if guards.pre_trade else ():
            self._record_trip(result, "pre_trade", request.symbol)
            if blocks(result):
                self.emit(OrderRejected(self.now, request, result.message, f"guard:{result.guard}"))
                return None
        self.parts.journal.record_intent(request, self.now)
        order = Order.from_request(request, self.now)
        self.orders[request.client_order_id] = order
        self.working.add(request.client_order_id)
        if self._sinks:
            self.emit(OrderIntent(self.now, request))
        self.broker_calls += 1
        try:
            ack = await self.broker.submit(request)
        except BrokerError as exc:
            self.broker_errors += 1
            # Counted, not logged here: the UNKNOWN order event carries the reason.
            self.errors.append(f"submit {request.client_order_id}: {exc}")
            if order.status is not OrderStatus.PENDING:
                return order  # the user channel already told us how it went
            order.status = OrderStatus.UNKNOWN
            order.reject_reason = str(exc)
            order.updated_ts = self.now
            self.working.add(order.client_order_id)
            self.emit(OrderUpdated(self.now, order.copy()))
            return order
        self.on_order(ack)
        current = self.orders[request.client_order_id]
        if current.status is OrderStatus.REJECTED:
            self.emit(OrderRejected(self.now, request, current.reject_reason, "venue"))
        return current

    def _reduces(self, request: OrderRequest) -> bool:
        pos = self.ledger.positions.get(request.symbol)
        if pos is None or pos.size == 0:
            return False
        closing = request.side is (Side.SELL if pos.size > 0 else Side.BUY)
        return closing and request.size <= abs(pos.size)

    async def cancel_all(self) -> dict[str, bool]:
        ids = [o.client_order_id for o in self.open_orders if o.status is not OrderStatus.UNKNOWN]
        if not ids:
            return {}
        return await self.broker.cancel(ids)

    # ---- BrokerListener --------------------------------------------------------------------
    def on_order(self, order: Order) -> None:
        mine = self.orders.get(order.client_order_id)
        if mine is not None and mine.status.is_terminal and not order.status.is_terminal:
            return  # a stale update must never revive a finished order
        if (
            mine is not None
            and order.status is mine.status
            and order.filled_size <= mine.filled_size
            and order.order_id in ("", mine.order_id)
            and order.tag in ("", mine.tag)
            and order.reject_reason in ("", mine.reject_reason)
        ):
            return  # nothing moved (an ack repeating what the venue already said)
        if mine is not None:
            # Fill accounting is ours (from fills); venue fields describe its state.
            mine.status = order.status
            mine.order_id = order.order_id or mine.order_id
            mine.reject_reason = order.reject_reason or mine.reject_reason
            mine.tag = mine.tag or order.tag  # a venue order (liquidation) says what it is late
            mine.updated_ts = order.updated_ts or self.now
            if order.filled_size > mine.filled_size:
                mine.filled_size = order.filled_size
                mine.avg_fill_price = order.avg_fill_price
                mine.fees = order.fees
        else:
            mine = self.orders[order.client_order_id] = order.copy()
        if mine.status.is_working:
            self.working.add(mine.client_order_id)
        else:
            self.working.discard(mine.client_order_id)
        if self._sinks:
            self.emit(OrderUpdated(self.now, mine.copy()))
        self.cancels.on_order(mine)
        if self._limit_entries:
            self.entries.on_order(mine)

    def on_fill(self, fill: Fill) -> None:
        if fill.trade_id in self._seen_trades:
            return
        self._seen_trades.add(fill.trade_id)
        self.fills_received += 1
        order = self.orders.get(fill.client_order_id)
        if order is not None:
            order.trade_ids += (fill.trade_id,)
        realized = self.ledger.apply_fill(fill)
        self.exits.on_fill(fill)
        held = self.holdings.get(fill.symbol)
        if held is not None:
            # The account's balance moves with the bot's fills; the next check confirms it.
            self.holdings[fill.symbol] = held + (fill.size if fill.side is Side.BUY else -fill.size)
        if self._sinks:
            self.emit(FillReceived(self.now, fill, realized))
        self.ledger.update_peak()
        self.run_runtime_guards()

    def on_funding(self, payment: FundingPayment) -> None:
        """A perpetual's funding payment: into the position and cash, once per payment id."""
        if payment.payment_id in self._seen_funding:
            return
        self._seen_funding.add(payment.payment_id)
        self.ledger.apply_funding(payment)
        if self._sinks:
            self.emit(FundingReceived(self.now, payment))
        self.ledger.update_peak()
        self.run_runtime_guards()

    def on_venue_position(self, position: Position) -> None:
        """The venue's risk figures for a derivative position (liquidation price, leverage,
        initial margin). Size and P&L stay the kernel's own, from fills."""
        pos = self.ledger.position(position.symbol)
        pos.liquidation_price = position.liquidation_price
        pos.leverage = position.leverage
        pos.initial_margin = position.initial_margin
        if pos.mark_price == 0 and position.mark_price:
            pos.mark_price = position.mark_price

    # ---- guards & state --------------------------------------------------------------------
    async def on_timer(self) -> None:
        self.exits.on_timer()
        self.cancels.tick()
        await self.resolve_unknown()
        if self._limit_entries and self.entries.active:
            await self.entries.tick()
        await self.reconciler.tick()
        self.ledger.update_peak()
        self._mark_equity()
        self.run_runtime_guards()
        if self._reductions:
            await self.place_reductions()
        if self.exits.due:
            await self.exits.settle()
        for sink in self._flushers:
            try:
                sink.flush()
            except Exception as exc:
                self._sink_failed(sink, exc)

    async def resolve_unknown(self) -> None:
        """Look up every order whose submit outcome is unknown, by client_order_id."""
        for cid in [c for c in self.working if self.orders[c].status is OrderStatus.UNKNOWN]:
            try:
                venue = await self.broker.order(cid)
            except BrokerError as exc:
                self._note_error(f"lookup of {cid} failed: {exc}")
                continue
            if venue is None:
                # a copy: on_order compares it with ours, and an equal one changes nothing
                # (the order would stay working, holding its symbol, for ever)
                gone = self.orders[cid].copy()
                gone.status = OrderStatus.REJECTED
                gone.reject_reason = "NOT_FOUND_AT_VENUE"
                self.on_order(gone)
            else:
                self.on_order(venue)
                await self.backfill(self.orders[cid].created_ts, cid)

    async def reconcile_now(self) -> None:
        """A periodic reconcile out of schedule (a broker whose stream missed messages asks
        for it); raises the broker's error when the venue's reports cannot be read."""
        await self.reconciler.run_once()

    def run_runtime_guards(self) -> None:
        if not self.parts.guards.runtime or not self._started:
            return
        for result in self.parts.guards.evaluate(self):
            self._record_trip(result, "runtime")

    def _mark_equity(self, *, force: bool = False) -> None:
        """Record cash and equity (EquityMarked) when ``equity_every_s`` has passed since
        the last record and either has moved, or at once with ``force``."""
        every = self.parts.equity_every_s
        last = self._equity_marked
        if every is None or (not force and last and self.now - last[0] < every * NS):
            return  # not due: nothing is worked out on the timer ticks in between
        # A report, not books: on the currency's increment, and recorded when that moves.
        inc = money.currency_increment(self.parts.quote_currency)
        cash = money.quantize(self.ledger.cash, inc)
        equity = money.quantize(self.ledger.equity, inc)
        if not force and last and (cash, equity) == (last[1], last[2]):
            return
        self._equity_marked = (self.now, cash, equity)
        self.emit(EquityMarked(self.now, cash, equity, self.parts.quote_currency))

    def _record_trip(self, result: GuardResult, stage: str, symbol: str = "") -> None:
        for cut in result.reduce:
            self._ask_reduction(cut, result.guard)
        if result.severity is Severity.CRITICAL:
            self._tighten(result.action, f"{result.guard}: {result.message}")
        if result.severity >= Severity.RECOVERABLE:
            if not symbol:
                symbol = result.context.get("symbol", "")
                if not symbol and result.reduce:
                    symbol = result.reduce[0].symbol
            self.guard_trips.append(GuardTrip(self.now, stage, symbol, result))
        self.emit(GuardTripped(self.now, result, stage, self.trading_state))

    def _ask_reduction(self, cut: Reduction, guard: str) -> None:
        held = self._reductions.get(cut.symbol)
        if held is None or cut.size > held[0]:
            self._reductions[cut.symbol] = (cut.size, guard)

    def _tighten(self, new: TradingState, reason: str, *, operator: bool = False) -> None:
        if new <= self.trading_state:
            return
        old, self.trading_state = self.trading_state, new
        self.emit(TradingStateChanged(self.now, old, new, reason, operator))

    def operator_set_state(self, new: TradingState, reason: str) -> None:
        """Only an operator may loosen; recorded as an operator action."""
        if new == self.trading_state:
            return
        old, self.trading_state = self.trading_state, new
        self.emit(TradingStateChanged(self.now, old, new, reason, True))

    def pause_entries(self, reason: str) -> None:
        """Hold back new positions (exits still go) until :meth:`resume_entries`."""
        if self.entries_paused != reason:
            self.entries_paused = reason
            self.emit(EntriesPaused(self.now, True, reason))

    def resume_entries(self) -> None:
        if self.entries_paused:
            self.entries_paused = ""
            self.emit(EntriesPaused(self.now, False, ""))

    def connection(self, component: str, connected: bool, detail: str = "") -> None:
        """An adapter's report that a venue connection dropped or came back; the outage
        shows in the summary, ``status``, metrics and alerts (``connection.status``)."""
        was_down = component in self.connectivity.down
        if not self.connectivity.change(component, connected, detail):
            return
        status = "connected" if connected else "disconnected"
        if connected:
            log.log(logging.WARNING if was_down else logging.INFO, "%s connected", component)
        else:
            log.warning("%s disconnected: %s", component, detail or "no reason given")
        self.emit(ConnectionStatus(self.now, component, status, detail))

    def _note_error(self, message: str) -> None:
        self.errors.append(message)
        log.error(message)

    # ---- events ----------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Hand ``event`` to every sink (a failing sink is dropped and reported)."""
        for sink in self._sinks:
            try:
                sink.handle(event)
            except Exception as exc:
                self._sink_failed(sink, exc)

    def add_sink(self, sink: Sink) -> None:
        """Attach another sink (a TUI, a recorder) to a kernel that is already built."""
        self._set_sinks([*self._sinks, sink])

    def _set_sinks(self, sinks: list[Sink]) -> None:
        # Which sinks buffer is decided once per change, not on every timer tick.
        self._sinks = sinks
        self._flushers = [s for s in sinks if isinstance(s, FlushingSink)]

    def _sink_failed(self, sink: Sink, exc: Exception) -> None:
        self._set_sinks([s for s in self._sinks if s is not sink])
        name = type(sink).__name__
        self._note_error(f"sink {name} failed: {exc}")
        if id(sink) in self._critical_sinks:
            self._tighten(TradingState.HALTED, f"the store could not record an event: {exc}")
        self.emit(ComponentFailed(self.now, f"sink:{name}", f"{type(exc).__name__}: {exc}"))

    def summary(self) -> dict[str, Any]:
        """What a run reports: counts, P&L, positions, guard trips. Money is quantised once
        here (cash and P&L to the quote currency's increment, prices and sizes to the
        product's), as plain strings; the ledger keeps full precision."""
        by_status: dict[str, int] = {}
        for o in self.orders.values():
            by_status[o.status.value] = by_status.get(o.status.value, 0) + 1
        quote = self.parts.quote_currency
        ledger = self.ledger

        def cash(value: Decimal) -> str:
            return money.amount(value, quote)

        return {
            "run_id": self.run_id,
            "orders": len(self.orders),
            "orders_by_status": by_status,
            "fills": self.fills_received,
            "funding_payments": len(self._seen_funding),
            "trading_state": self.trading_state.name,
            "entries_paused": self.entries_paused,
            "events": self.events_processed,
            "decisions": self.decisions,
            "pnl": {
                "realized": cash(ledger.realized_pnl),
                "unrealized": cash(ledger.unrealized_pnl),
                "fees": cash(ledger.fees),
                "funding": cash(ledger.funding),
                "net": cash(
                    ledger.realized_pnl + ledger.unrealized_pnl + ledger.funding - ledger.fees
                ),
            },
            "equity": cash(ledger.equity),
            "cash": cash(ledger.cash),
            "quote_currency": quote,
            "positions": [
                self._position_summary(p)
                for p in ledger.positions.values()
                if p.size != 0 or p.realized_pnl != 0
            ],
            "holdings": self._holdings_summary(),
            "guard_trips": [
                {
                    "ts": ts_to_iso(t.ts),
                    "symbol": t.symbol,
                    "stage": t.stage,
                    "guard": t.result.guard,
                    "severity": t.result.severity.name,
                    "message": t.result.message,
                    "value": None if t.result.value is None else str(t.result.value),
                    "threshold": None if t.result.threshold is None else str(t.result.threshold),
                }
                for t in self.guard_trips
            ],
            "errors": len(self.errors),
            "unconfirmed_cancels": self.cancels.flagged,
            "connectivity": self.connectivity.summary(),
            "warnings": self._warnings(),
        }

    def _warnings(self) -> list[str]:
        """What a trader must not miss in a run's summary."""
        out = []
        if self.events_processed == 0:
            out.append("no market data was received: the feed never delivered (see the log)")
        outage = self.connectivity.warning()
        if outage is not None:
            out.append(outage)
        return out

    def reported(self, pos: Position) -> Position:
        """``pos`` as it leaves the kernel: prices and size on the product's increments,
        money on the quote currency's (the ledger's own stays at full precision)."""
        product = self.products.get(pos.symbol)
        if product is None:
            return dataclasses.replace(pos)
        cash = money.currency_increment(product.quote)
        tick = product.price_increment
        return dataclasses.replace(
            pos,
            size=money.quantize(pos.size, product.base_increment),
            avg_entry_price=money.quantize(pos.avg_entry_price, tick),
            mark_price=money.quantize(pos.mark_price, tick),
            realized_pnl=money.quantize(pos.realized_pnl, cash),
            fees=money.quantize(pos.fees, cash),
            funding=money.quantize(pos.funding, cash),
            liquidation_price=None
            if pos.liquidation_price is None
            else money.quantize(pos.liquidation_price, tick),
            initial_margin=money.quantize(pos.initial_margin, cash),
        )

    def reported_positions(self) -> list[Position]:
        return [self.reported(p) for p in self.ledger.positions.values()]

    def _position_summary(self, pos: Position) -> dict[str, str]:
        product = self.products.get(pos.symbol)
        quote = product.quote if product is not None else self.parts.quote_currency
        shown = self.reported(pos)
        return {
            "symbol": pos.symbol,
            "size": money.text(shown.size),
            "avg_entry_price": money.text(shown.avg_entry_price),
            "mark_price": money.text(shown.mark_price),
            "unrealized_pnl": money.amount(pos.unrealized_pnl, quote),
            "realized_pnl": money.text(shown.realized_pnl),
        }

    def _holdings_summary(self) -> list[dict[str, str]]:
        """Spot: what the account holds beside the bot's inventory (only where either is
        not zero): holdings the bot did not buy are never its to sell."""
        out = []
        for symbol, held in sorted(self.holdings.items()):
            inventory = self.ledger.position(symbol).size
            if not held and not inventory:
                continue
            inc = self.products[symbol].base_increment
            out.append(
                {
                    "symbol": symbol,
                    "account": money.at(held, inc),
                    "bot": money.at(inventory, inc),
                    "not_the_bots": money.at(max(held - inventory, ZERO), inc),
                }
            )
        return out
