"""The portfolio's vectorised replay: the event path's orders, fills, guard trips and
equity, with only the bars and timer ticks where something can happen going through the
kernel.

The event path (:func:`gpt_trader.runtime.replay.run_events`) feeds every bar of every
product in time order (bars closing together in the universe's order) and runs the
kernel's timer after the first bar of each new close time. Here each product's signals
are computed over its whole series first (every signal a ``VectorSignal``), and the kernel
sees, in that same order:

- a product's bar where one of its signals emits, or while it has a working order (a
  market order fills at its next bar's open), or a reduction is pending;
- a timer tick unless it provably changes nothing: no cancel, unknown order, pending
  reduction or exit is waiting on it, the equity is not above the kernel's peak, and every
  runtime guard's :meth:`equity_band` holds the equity (a guard evaluated inside its band
  on the same day returns what the kernel drops and keeps its state). The equity at a tick
  is screened in floats against bands shrunk by a margin far above float error; a tick
  near a band's edge goes through the kernel, which decides in Decimal.

A product's bar left out only moves its mark. Before every kernel call the held products
are marked at their latest bar, as the event path would have them; a flat product's last
price may lag, which is why every component that reads state must see the market only
through the account (``market_view == "account"``: the equity, positions at their marks,
open orders, the price of the product an order is for). Anything else (a market filter,
a staleness or correlation guard, exits, limit entries, periodic reconciles, buffering
sinks, margined products) keeps the event path.
"""

from __future__ import annotations

import bisect
import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import numpy as np
from gpt_trader.domain import Action, OrderStatus, SignalValue
from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel
from gpt_trader.protocols import Filter, PreTradeGuard, StrengthVectorSignal, VectorSignal
from gpt_trader.runtime.replay import ReplayStats

NS = 1_000_000_000
ACCOUNT = "account"
# Floats carry ~1e-16 relative error; a band's edge is trusted only this far inside it.
MARGIN = 1e-9


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A replay allocates millions of short-lived objects (Decimals, events) next to the
    loaded bars, which never die; the cyclic collector scanning them again and again took
    a fifth of a portfolio run's CPU. The loaded objects are frozen out of its scans and
    it runs less often until the replay ends."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def why_not(kernel: Kernel, bars: Mapping[str, BarSeries]) -> str:
    """Why the vectorised path cannot replay this run ("" when it can)."""
    parts = kernel.parts
    for symbol in bars:
        signals = parts.signals.get(symbol, [])
        if not signals or not all(isinstance(s, VectorSignal) for s in signals):
            return f"{symbol}: a signal without compute()"
        if kernel.ledger._margined(symbol):
            return f"{symbol}: margined"
    readers: list[Filter | PreTradeGuard] = [*parts.filters, *parts.guards.pre_trade]
    for part in readers:
        if getattr(part, "market_view", None) != ACCOUNT:
            return f"{part.name}: reads the market beyond the account"
    for guard in parts.guards.runtime:
        if getattr(guard, "market_view", None) != ACCOUNT or not hasattr(guard, "equity_band"):
            return f"{guard.name}: no equity band"
    if parts.record_market or kernel._flushers:
        return "a sink wants every bar"
    if kernel.exits.plan is not None:
        return "exits"
    if kernel._limit_entries:
        return "limit entries"
    if kernel.reconciler.interval_ns is not None:
        return "periodic reconciles"
    return ""


def _votes(signal: Any, bars: BarSeries) -> tuple[list[int], Sequence[float] | None]:
    """The signal's action per bar (a list: read one bar at a time) and its strengths."""
    if isinstance(signal, StrengthVectorSignal):
        actions, strengths = signal.compute_votes(bars)
    else:
        actions, strengths = signal.compute(bars), None
    return np.asarray(actions).tolist(), strengths


def _timer_positions(close_ts: list[int], interval_ns: int) -> list[int]:
    """Where the event path runs the timer: after the event at each of these positions
    (the first event sets the clock going; then the first event at or past each due time)."""
    out: list[int] = []
    if not close_ts:
        return out
    p = bisect.bisect_left(close_ts, close_ts[0] + interval_ns, 1)
    while p < len(close_ts):
        out.append(p)
        p = bisect.bisect_left(close_ts, close_ts[p] + interval_ns, p + 1)
    return out


class _Universe:
    """The merged stream's order and, per product, where its bars sit in it."""

    def __init__(self, bars: Mapping[str, BarSeries], symbols: Sequence[str]) -> None:
        self.series = [bars[s] for s in symbols]
        ts = np.concatenate([np.asarray(s.ts, dtype=np.int64) for s in self.series])
        which = np.concatenate(
            [np.full(len(s), k, dtype=np.int64) for k, s in enumerate(self.series)]
        )
        at = np.concatenate([np.arange(len(s), dtype=np.int64) for s in self.series])
        order = np.lexsort((which, ts))  # by open time, then universe order
        self.which: list[int] = which[order].tolist()
        self.at: list[int] = at[order].tolist()
        step = np.asarray([s.interval_s * NS for s in self.series], dtype=np.int64)
        self.close_ts: list[int] = (ts[order] + step[which[order]]).tolist()
        where = np.empty(len(order), dtype=np.int64)
        where[order] = np.arange(len(order), dtype=np.int64)
        starts = np.cumsum([0] + [len(s) for s in self.series])
        # position in the stream of product k's bar i: self.pos[k][i]
        self.pos: list[list[int]] = [
            where[starts[k] : starts[k + 1]].tolist() for k in range(len(self.series))
        ]

    def latest(self, k: int, p: int) -> int:
        """Product ``k``'s last bar at or before stream position ``p`` (-1: none yet)."""
        return bisect.bisect_right(self.pos[k], p) - 1


class _Driver:
    def __init__(
        self, kernel: Kernel, clock: SimClock, universe: _Universe, symbols: Sequence[str]
    ) -> None:
        self.kernel = kernel
        self.clock = clock
        self.u = universe
        self.symbols = list(symbols)
        self.index = {s: k for k, s in enumerate(symbols)}
        self.closes = [s.close for s in universe.series]
        self.marked = [-1] * len(symbols)  # the bar each product's mark is at
        self.held: list[tuple[int, float]] = []  # (product, size x contract) while held
        self.cash = 0.0
        self.flat = True
        self.bands: list[tuple[float, float, float, int | None]] | None = None
        self.band_key: tuple[Any, ...] = ()
        self.fills = -1
        self.peak = 0.0
        self.timers_run = 0
        self.kernel_bars = 0

    # ---- the account as the event path has it ----------------------------------------------
    def _mark(self, k: int, i: int) -> None:
        series = self.u.series[k]
        symbol = self.symbols[k]
        price = Decimal(series.raw[i][3])
        kernel = self.kernel
        kernel.ledger.mark(symbol, price)
        kernel._last_price[symbol] = price
        kernel._last_ts[symbol] = series.ts[i] + series.interval_s * NS
        self.marked[k] = i

    def catch_up(self, p: int) -> None:
        """Mark every held product at its latest bar at or before position ``p``."""
        for k, _ in self.held:
            i = self.u.latest(k, p)
            if i > self.marked[k]:
                self._mark(k, i)

    def after_kernel(self) -> None:
        """The account may have changed: read what the screen needs again. Cash and
        positions move only with fills; the guards' state only when they run (on a fill
        or a timer tick), and their bands with the trading state and the kernel's peak."""
        kernel = self.kernel
        ledger = kernel.ledger
        fills = kernel.fills_received
        if fills != self.fills:
            self.fills = fills
            self.held = [
                (self.index[s], float(pos.size * pos.contract_size))
                for s, pos in ledger.positions.items()
                if pos.size and s in self.index
            ]
            self.cash = float(ledger.cash)
            self.flat = not self.held
        key = (fills, self.timers_run, kernel.trading_state, ledger.peak_equity)
        if key != self.band_key:
            self.band_key = key
            self.bands = None
            self.peak = float(ledger.peak_equity)

    # ---- the timer ---------------------------------------------------------------------------
    def _bands(self) -> list[tuple[float, float, float, int | None]] | None:
        out = []
        for guard in self.kernel.parts.guards.runtime:
            band = guard.equity_band(self.kernel)  # type: ignore[attr-defined]
            if band is None:
                return None
            low = -np.inf if band.low is None else float(band.low)
            high = np.inf if band.high is None else float(band.high)
            peak = np.inf if band.peak is None else float(band.peak)
            out.append((low, high, peak, band.until_ns))
        return out

    def timer_is_idle(self, p: int, now: int) -> bool:
        """Whether the timer at position ``p`` would change nothing (see the module doc)."""
        kernel = self.kernel
        if kernel._reductions or kernel.exits.due or kernel.cancels._pending:
            return False
        if any(kernel.orders[c].status is OrderStatus.UNKNOWN for c in kernel.working):
            return False
        if self.bands is None:
            self.bands = self._bands()
            if self.bands is None:
                return False
        if self.flat:
            # Cash alone: exact, so an equity at the peak stays at it.
            if kernel.ledger.cash > kernel.ledger.peak_equity:
                return False
            equity = self.cash
            peak_ok = True
        else:
            equity = self.cash
            closes = self.closes
            for k, size in self.held:
                equity += size * closes[k][self.u.latest(k, p)]
            peak_ok = False
        margin = MARGIN * max(1.0, abs(equity))
        if not peak_ok and equity >= self.peak - margin:
            return False
        for low, high, peak, until in self.bands:
            if until is not None and now >= until:
                return False
            if not (low + margin < equity < high - margin):
                return False
            if not peak_ok and equity > peak - margin:
                return False
        return True


async def run_universe(
    kernel: Kernel,
    clock: SimClock,
    bars: Mapping[str, BarSeries],
    symbols: Sequence[str],
    *,
    guard_interval_s: float,
) -> ReplayStats:
    """Replay the universe's bars; the caller checked :func:`why_not` first."""
    u = _Universe(bars, symbols)
    n = len(u.which)
    outputs = [
        [(s.name, *_votes(s, u.series[k])) for s in kernel.parts.signals[symbol]]
        for k, symbol in enumerate(symbols)
    ]
    emitting: set[int] = set()
    for k, outs in enumerate(outputs):
        for _, out, _ in outs:
            marks = np.flatnonzero(np.asarray(out) != NO_SIGNAL)
            emitting.update(np.asarray(u.pos[k], dtype=np.int64)[marks].tolist())
    timers = set(_timer_positions(u.close_ts, int(guard_interval_s * NS)))
    static = sorted(emitting | timers)
    d = _Driver(kernel, clock, u, symbols)
    d.after_kernel()
    stats = ReplayStats(events=n, path="vectorised")
    waiting: set[int] = set()  # stream positions of bars a working order needs
    s = 0
    while True:
        p = static[s] if s < len(static) else n
        if waiting:
            p = min(p, min(waiting))
        if p >= n:
            break
        if s < len(static) and static[s] == p:
            s += 1
        waiting.discard(p)
        k, i = u.which[p], u.at[p]
        symbol = symbols[k]
        now = u.close_ts[p]
        clock.advance_to(now)
        busy = p in emitting or any(kernel.orders[c].symbol == symbol for c in kernel.working)
        if busy or kernel._reductions:
            d.catch_up(p - 1)
            emitted = [
                SignalValue(name, symbol, now, Action(out[i]), 1.0 if st is None else st[i])
                for name, out, st in outputs[k]
                if out[i] != NO_SIGNAL
            ]
            kernel.events_processed = p
            await kernel.on_emissions(u.series[k].candle(i), emitted)
            d.marked[k] = i
            if kernel._reductions:
                await kernel.place_reductions()
            d.kernel_bars += 1
            d.after_kernel()
        if p in timers and not d.timer_is_idle(p, now):
            d.catch_up(p)
            kernel.events_processed = p + 1
            await kernel.on_timer()
            d.timers_run += 1
            d.after_kernel()
        # every working order's product needs its next bar
        for cid in kernel.working:
            j = d.index.get(kernel.orders[cid].symbol)
            if j is not None:
                nxt = u.latest(j, p) + 1
                if nxt < len(u.pos[j]):
                    waiting.add(u.pos[j][nxt])
        if kernel._reductions and p + 1 < n:
            waiting.add(p + 1)  # placed at the next event, as the event path does
    for k in range(len(symbols)):
        last = len(u.series[k]) - 1
        if last >= 0 and d.marked[k] < last:
            d._mark(k, last)
    if n:
        clock.advance_to(u.close_ts[n - 1])
    kernel.events_processed = n
    stats.kernel_bars = d.kernel_bars
    return stats
