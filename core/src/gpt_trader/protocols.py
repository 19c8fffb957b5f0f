"""The interfaces the kernel calls on the hot path. Plugins' factories return these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from gpt_trader.domain import (
    Balance,
    Decision,
    Fill,
    FilterResult,
    FundingPayment,
    GuardResult,
    InventoryAdjustment,
    MarketEvent,
    Order,
    OrderRequest,
    Position,
    Product,
    SignalValue,
    TradingState,
)
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.events import Event
from gpt_trader.domain.market import BookView


class StateView(Protocol):
    """Read-only view of the kernel that sizers, filters and guards decide on."""

    @property
    def now(self) -> int: ...
    @property
    def trading_state(self) -> TradingState: ...
    @property
    def products(self) -> Mapping[str, Product]: ...
    @property
    def positions(self) -> Mapping[str, Position]: ...
    @property
    def open_orders(self) -> Sequence[Order]: ...
    @property
    def cash(self) -> Decimal: ...
    @property
    def equity(self) -> Decimal: ...
    @property
    def peak_equity(self) -> Decimal: ...
    @property
    def starting_equity(self) -> Decimal: ...
    @property
    def realized_pnl(self) -> Decimal: ...
    @property
    def fees(self) -> Decimal: ...
    @property
    def broker_calls(self) -> int:
        """Order submissions sent to the broker in this run."""
        ...

    @property
    def broker_errors(self) -> int:
        """Of those submissions, the ones the broker raised on (outcome unknown)."""
        ...

    def last_price(self, symbol: str) -> Decimal | None: ...
    def last_market_ts(self, symbol: str) -> int | None: ...
    def book(self, symbol: str) -> BookView | None: ...
    def closed_trades(self, symbol: str | None = None) -> Sequence[Decimal]: ...


class BrokerListener(Protocol):
    """What a broker calls when the venue tells it something (user channel, matching)."""

    def on_order(self, order: Order) -> None: ...
    def on_fill(self, fill: Fill) -> None: ...
    def on_funding(self, payment: FundingPayment) -> None: ...
    def on_venue_position(self, position: Position) -> None:
        """A derivative position as the venue sees it: its liquidation price, leverage and
        margin update the kernel's position; its size does not (fills do that)."""


@runtime_checkable
class HoldingsListener(Protocol):
    """What a spot broker that reads account balances tells the kernel (it checks with
    ``isinstance``): the account's holding of a product's base, once no fill of that
    product is in flight. Shown beside the bot's inventory; a holding below the inventory
    shrinks it, nothing grows it."""

    def on_account_holding(self, symbol: str, held: Decimal) -> None: ...


@runtime_checkable
class Broker(Protocol):
    """An execution venue. Every call is async; amounts in and out are Decimal.

    ``submit`` returns the order as the venue acknowledged it (OPEN, FILLED, REJECTED, ...)
    or raises :class:`gpt_trader.errors.BrokerError`; a submit whose outcome is not known
    must come back with status UNKNOWN, never be retried blindly.
    """

    async def start(self, listener: BrokerListener) -> None: ...
    async def stop(self) -> None: ...
    async def products(self) -> list[Product]: ...
    async def balances(self) -> list[Balance]: ...
    async def positions(self) -> list[Position]: ...
    async def submit(self, request: OrderRequest) -> Order: ...
    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]: ...
    async def edit(
        self, client_order_id: str, *, size: Decimal | None, price: Decimal | None
    ) -> Order: ...
    async def open_orders(self) -> list[Order]: ...
    async def order(self, client_order_id: str) -> Order | None: ...
    async def fills(self, since_ts: int = 0) -> list[Fill]: ...


# ---- reconciliation: the venue reports, the kernel decides (gpt_trader.engine.reconciler) ----


@runtime_checkable
class ReportingBroker(Protocol):
    """A broker that produces the reports of the kernel's periodic reconcile itself.

    Optional: a broker without these is reconciled from ``fills``, ``open_orders`` and
    ``order``, and only when something asks (a :class:`ReconcilingListener` call). Reports
    may repeat what the kernel already has; the kernel applies each fill once by
    ``trade_id`` and ignores an order update that moves nothing. Positions are read with
    ``Broker.positions``.
    """

    @property
    def reconcile_interval_s(self) -> float:
        """How often the kernel reconciles (seconds): from its timer, after this much time
        since the last attempt. The venue's request budget decides, so it is the broker's."""
        ...

    async def fill_reports(self, since_ts: int) -> list[Fill]:
        """Called first in each reconcile, with the time the last complete one began (the
        kernel's start at first). Return the venue's fills from then on (earlier ones too
        if the venue lists fills late), each with its ``client_order_id``; raise
        ``BrokerError`` when they cannot be read."""
        ...

    async def order_reports(self, client_order_ids: Sequence[str]) -> list[Order]:
        """Called after the fills are applied, with the client ids of the orders the
        kernel thinks working. Return the venue's working orders and the current state of
        each order asked about that the venue knows (finished ones included). An order may
        not count fills the kernel has not been given: hand them over first (``on_fill``),
        or report it as still working with the size delivered so far."""
        ...


@runtime_checkable
class ReconcilingListener(Protocol):
    """A listener (the kernel) a broker can ask for a reconcile out of schedule: after its
    stream missed messages (a reconnect, a sequence gap, a silence)."""

    async def reconcile_now(self) -> None:
        """Reconcile once, after any reconcile in progress; raises ``BrokerError`` when a
        report cannot be read, so the broker can try again."""
        ...


# ---- end of reconciliation --------------------------------------------------------------------


@runtime_checkable
class MarketDrivenBroker(Protocol):
    """A simulated broker that matches against the market events the kernel sees."""

    def on_market(self, event: MarketEvent) -> None: ...


class Feed(Protocol):
    """A source of market events for the live driver (paced by the wall clock)."""

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[MarketEvent]: ...


@runtime_checkable
class ReplayableFeed(Protocol):
    """A feed that can hand over its events at once, for the replay driver (no sleeping)."""

    def events(self, symbols: Sequence[str]) -> Iterator[MarketEvent]: ...


class Signal(Protocol):
    """Incremental indicator: one O(1) update per market event of its symbol."""

    name: str

    def update(self, event: MarketEvent) -> SignalValue | None: ...


class Voter(Protocol):
    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None: ...


class Filter(Protocol):
    name: str

    def allow(self, decision: Decision, state: StateView) -> FilterResult: ...


class Sizer(Protocol):
    def size(self, decision: Decision, state: StateView) -> Decimal: ...


class Guard(Protocol):
    """Pre-trade ``check`` and/or runtime ``evaluate``; a guard that raises fails closed."""

    name: str


@runtime_checkable
class PreTradeGuard(Protocol):
    name: str

    def check(self, request: OrderRequest, state: StateView) -> GuardResult: ...


@runtime_checkable
class RuntimeGuard(Protocol):
    name: str

    def evaluate(self, state: StateView) -> GuardResult: ...


class Sink(Protocol):
    def handle(self, event: Event) -> None: ...


class OrderJournal(Protocol):
    """Durable record of intents and of the bot's inventory; ``record_intent`` and
    ``record_adjustment`` must be durable when they return."""

    def record_intent(self, request: OrderRequest, ts: int) -> None: ...
    def working_orders(self) -> list[Order]: ...
    def fills(self) -> list[Fill]: ...
    def adjustments(self) -> list[InventoryAdjustment]: ...
    def record_adjustment(self, adjustment: InventoryAdjustment) -> None: ...
    def funding_payments(self) -> list[FundingPayment]:
        """Funding payments recorded by earlier runs, applied once at start (a journal that
        keeps none returns ``[]``)."""
        ...

    def record_state(self, key: str, value: dict[str, Any] | None, ts: int) -> None:
        """Keep ``value`` under ``key`` (None forgets it), durable when it returns: what the
        kernel resumes from after a restart (a working entry's reprices, a trailing stop's
        best price)."""
        ...

    def kernel_state(self) -> dict[str, dict[str, Any]]:
        """Every key :meth:`record_state` keeps."""
        ...


@runtime_checkable
class VectorSignal(Protocol):
    """A signal that can also compute its whole output over a bar series at once.

    ``compute`` returns one int per bar: the Action value emitted at that bar's close
    (-1, 0, 1), or ``NO_SIGNAL`` (2) where ``update`` would have returned None. It must
    give exactly what feeding the same candles to ``update`` in order gives; the replay
    driver relies on that to skip quiet bars.
    """

    name: str

    def compute(self, bars: BarSeries) -> Sequence[int]: ...


@runtime_checkable
class StrengthVectorSignal(VectorSignal, Protocol):
    """A VectorSignal whose emissions carry a strength other than 1.0.

    ``compute_votes`` returns ``compute``'s actions and, per bar, the strength ``update``
    would give the emitted value (read only where an action is emitted), so both replay
    paths record the same votes.
    """

    def compute_votes(self, bars: BarSeries) -> tuple[Sequence[int], Sequence[float]]: ...


@runtime_checkable
class MarketFilter(Protocol):
    """A filter that judges on market data: ``observe`` sees every market event before the
    signals do. Runs with one never take the replay's vectorised path (it skips bars)."""

    name: str

    def allow(self, decision: Decision, state: StateView) -> FilterResult: ...
    def observe(self, event: MarketEvent) -> None: ...


@runtime_checkable
class SeriesFeed(Protocol):
    """A replayable feed that can also hand over its bars as columns (fast replay)."""

    def bar_series(self, symbols: Sequence[str]) -> list[BarSeries]: ...


# ---- optional capabilities ----------------------------------------------------------------
# A component may offer these on top of its kind's protocol; the kernel and the assembly
# check with ``isinstance`` and skip what a component does not offer.


@runtime_checkable
class FlushingSink(Sink, Protocol):
    """A sink that buffers: ``flush`` is called on every timer tick of the kernel (about
    once a second live; every bar in replays with runtime guards). Without it, a sink
    gets events only."""

    def flush(self) -> None: ...


@runtime_checkable
class ClosingSink(Sink, Protocol):
    """A sink holding resources (files, sockets, threads): ``close`` is called once when
    the run finishes, after the last event; an exception there is ignored."""

    def close(self) -> None: ...


class EntryGate(Protocol):
    """What an attached feed may do to the kernel: hold back new positions (exits still
    go) while its data cannot be trusted, and lift the hold it set. ``entries_paused`` is
    the reason entries are held ("" when they are not), whoever set it."""

    @property
    def entries_paused(self) -> str: ...
    def pause_entries(self, reason: str) -> None: ...
    def resume_entries(self) -> None: ...


@runtime_checkable
class AttachableFeed(Protocol):
    """A feed handed the kernel before the run starts (``attach``), e.g. to pause entries
    while it resyncs a gap. Without it, a feed only yields events."""

    def attach(self, gate: EntryGate) -> None: ...


@runtime_checkable
class TimedFeed(Protocol):
    """A feed whose market keeps its own time (a file, a simulated market): a run on it
    starts its clock at ``start_ts`` (ns, UTC; 0 = unknown) rather than at "now"."""

    @property
    def start_ts(self) -> int: ...
