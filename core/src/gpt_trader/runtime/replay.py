"""The replay driver: recorded or historical events on a simulated clock, no sleeping.

Two paths give the same orders: the event path feeds every event through ``on_market``;
the vectorised path (one symbol, every signal a VectorSignal, a SeriesFeed) precomputes the
signals over the whole series and hands the kernel only the bars where something can
happen — a signal emitted, an order is working, or runtime guards need the bar.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gpt_trader.domain import Action, SignalValue
from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.market import Candle, MarketEvent
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel
from gpt_trader.protocols import MarketFilter, StrengthVectorSignal, VectorSignal

NS = 1_000_000_000
_ACTIONS = {int(a): a for a in Action}  # a vote's int to its Action, without Enum's lookup


@dataclass
class ReplayStats:
    events: int = 0
    kernel_bars: int = 0
    path: str = "events"


def event_time(event: MarketEvent) -> int:
    """Signals act on a bar's close, so a candle happens at its close time."""
    return event.close_ts if isinstance(event, Candle) else event.ts


async def run_events(
    kernel: Kernel,
    clock: SimClock,
    events: Iterable[MarketEvent],
    *,
    guard_interval_s: float,
    max_events: int | None = None,
) -> ReplayStats:
    interval = int(guard_interval_s * NS)
    next_tick = None
    stats = ReplayStats()
    on_market = kernel.on_market
    for event in events:
        ts = event_time(event)
        clock.advance_to(ts)
        await on_market(event)
        # A timer due by ``ts`` runs after the event at ``ts``, as the vectorised path runs
        # it after the bar: run before it, it would act at the new time on the old market
        # (a maximum hold decided at a bar's close, filled at that bar's open).
        if next_tick is None:
            next_tick = ts + interval
        elif ts >= next_tick:
            await kernel.on_timer()
            next_tick = ts + interval
        stats.events += 1
        if max_events is not None and stats.events >= max_events:
            break
    stats.kernel_bars = stats.events
    return stats


def can_vectorise(kernel: Kernel, series: Sequence[BarSeries]) -> bool:
    if len(series) != 1:
        return False
    if any(isinstance(f, MarketFilter) for f in kernel.parts.filters):
        return False
    signals = kernel.parts.signals.get(series[0].symbol, [])
    return bool(signals) and all(isinstance(s, VectorSignal) for s in signals)


def _votes(signal: VectorSignal, bars: BarSeries) -> tuple[Sequence[int], Sequence[float] | None]:
    if isinstance(signal, StrengthVectorSignal):
        return signal.compute_votes(bars)
    return signal.compute(bars), None


async def run_series(kernel: Kernel, clock: SimClock, bars: BarSeries) -> ReplayStats:
    """The vectorised path for one symbol; see the module docstring for when it applies."""
    signals = kernel.parts.signals[bars.symbol]
    outputs = [(s.name, *_votes(s, bars)) for s in signals]  # type: ignore[arg-type]
    symbol = bars.symbol
    n = len(bars)
    interval_ns = bars.interval_s * NS
    needs_every_bar = bool(kernel.parts.guards.runtime) or kernel.parts.record_market
    stats = ReplayStats(events=n, path="vectorised")
    ts_col = bars.ts
    working = kernel.working
    marked = [{i for i, v in enumerate(out) if v != NO_SIGNAL} for _, out, _ in outputs]
    emit_set = set().union(*marked)
    emitted_at = sorted(emit_set)
    # A trailing stop, ROI or maximum hold acts on bars no signal marks: while a position
    # is open, every bar goes through the kernel.
    plan = kernel.exits.plan
    watch_held = plan is not None and plan.watches_prices
    positions = kernel.ledger.positions
    i = 0
    while i < n:
        held = watch_held and symbol in positions and positions[symbol].size != 0
        if not (needs_every_bar or i in emit_set or working or held):
            # Quiet bar: nothing can change but the mark, which the next kernel bar sets.
            nxt = _next_index(emitted_at, i)
            i = n if nxt is None else nxt
            continue
        candle = bars.candle(i)
        close_ts = ts_col[i] + interval_ns
        clock.advance_to(close_ts)
        emitted = [
            SignalValue(name, symbol, close_ts, _ACTIONS[out[i]], 1.0 if st is None else st[i])
            for name, out, st in outputs
            if out[i] != NO_SIGNAL
        ]
        await kernel.on_emissions(candle, emitted)
        if needs_every_bar:
            await kernel.on_timer()
        stats.kernel_bars += 1
        i += 1
    if n:
        last = bars.candle(n - 1)
        clock.advance_to(bars.ts[n - 1] + interval_ns)
        kernel.ledger.mark(symbol, last.close)
        kernel._last_price[symbol] = last.close
        kernel.events_processed = n
    return stats


def _next_index(sorted_indices: list[int], after: int) -> int | None:
    pos = bisect.bisect_right(sorted_indices, after)
    return sorted_indices[pos] if pos < len(sorted_indices) else None
