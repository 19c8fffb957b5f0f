"""Optional capabilities the kernel and the replay driver probe: a vectorised signal's
strengths (``StrengthVectorSignal``) and a filter that observes the market
(``MarketFilter``). Real sim broker, real SQLite store, the shipped sample."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from gpt_trader.domain import Action, Candle, Decision, FilterResult, SignalValue
from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.events import ComponentFailed, DecisionMade, Event, SignalEmitted
from gpt_trader.domain.market import MarketEvent
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel, KernelParts
from gpt_trader.protocols import MarketFilter, StrengthVectorSignal
from gpt_trader.runtime.replay import can_vectorise, run_events, run_series
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.csvfeed import CsvCandleFeed
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.store import Store
from gpt_trader.testing import FROZEN_TS, sample_csv

BTC = "BTC-USD"


class Every50:
    """Alternates LONG / FLAT every 50th bar, with strength (bar index % 7) / 7."""

    name = "every50"

    def __init__(self) -> None:
        self.i = -1

    def _vote(self, i: int) -> tuple[int, float]:
        if i == 0 or i % 50:
            return NO_SIGNAL, 1.0
        return int(Action.LONG if (i // 50) % 2 else Action.FLAT), (i % 7) / 7

    def update(self, event: MarketEvent) -> SignalValue | None:
        if not isinstance(event, Candle):
            return None
        self.i += 1
        action, strength = self._vote(self.i)
        if action == NO_SIGNAL:
            return None
        return SignalValue(self.name, BTC, event.close_ts, Action(action), strength)

    def compute(self, bars: BarSeries) -> Sequence[int]:
        return self.compute_votes(bars)[0]

    def compute_votes(self, bars: BarSeries) -> tuple[Sequence[int], Sequence[float]]:
        votes = [self._vote(i) for i in range(len(bars))]
        return [a for a, _ in votes], [s for _, s in votes]


class FirstVote:
    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        return Decision(symbol, ts, votes[0].action, votes[0].strength, tuple(votes))


class Fixed:
    def size(self, decision: Decision, state: Any) -> D:
        return D("0.01")


class BelowClose:
    """Allows entries only while the last close it observed is under ``level``."""

    name = "test.below"

    def __init__(self, level: float, fail_at: int | None = None) -> None:
        self.level = level
        self.seen: list[float] = []
        self.fail_at = fail_at

    def observe(self, event: MarketEvent) -> None:
        if isinstance(event, Candle):
            if len(self.seen) == self.fail_at:
                raise RuntimeError("lost the feed")
            self.seen.append(float(event.close))

    def allow(self, decision: Decision, state: Any) -> FilterResult:
        if self.seen[-1] < self.level:
            return FilterResult(allowed=True)
        return FilterResult(allowed=False, reason=f"close {self.seen[-1]} not under {self.level}")


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)


def kernel(tmp_path: Path, filters: list[Any]) -> tuple[Kernel, Recorder]:
    products = default_products([BTC])
    clock = SimClock(FROZEN_TS)
    store = Store(tmp_path / "gpt_trader.db")
    store.start_run("run1", "test", "sim", FROZEN_TS)
    rec = Recorder()
    parts = KernelParts(
        run_id="run1",
        products=products,
        signals={BTC: [Every50()]},
        voter=FirstVote(),
        sizer=Fixed(),
        broker=SimBroker(SimExchange(products, {"USD": D(100000)}), clock=clock.now),
        journal=store,
        clock=clock,
        filters=filters,
        sinks=[rec],
    )
    return Kernel(parts), rec


async def test_vectorised_votes_carry_the_signals_strengths(tmp_path: Path) -> None:
    assert isinstance(Every50(), StrengthVectorSignal)
    feed = CsvCandleFeed(sample_csv(), symbol=BTC)
    emitted = []
    for path in ("events", "vectorised"):
        (tmp_path / path).mkdir()
        k, rec = kernel(tmp_path / path, [])
        await k.start()
        assert isinstance(k.clock, SimClock)
        if path == "events":
            await run_events(k, k.clock, feed.events([BTC]), guard_interval_s=60)
        else:
            await run_series(k, k.clock, feed.bar_series([BTC])[0])
        emitted.append([e.signal for e in rec.events if isinstance(e, SignalEmitted)])
    events, vectorised = emitted
    assert len(events) > 10
    assert vectorised == events
    assert {v.strength for v in events} == {i / 7 for i in range(7)}


async def test_a_market_filter_sees_each_bar_before_the_decision(tmp_path: Path) -> None:
    feed = CsvCandleFeed(sample_csv(), symbol=BTC)
    bars = feed.bar_series([BTC])[0]
    level = sorted(bars.close)[len(bars) // 2]
    flt = BelowClose(level)
    assert isinstance(flt, MarketFilter)
    k, rec = kernel(tmp_path, [flt])
    assert not can_vectorise(k, [bars])  # it would miss the quiet bars
    await k.start()
    assert isinstance(k.clock, SimClock)
    await run_events(k, k.clock, feed.events([BTC]), guard_interval_s=60)
    assert flt.seen == bars.close
    decisions = [e for e in rec.events if isinstance(e, DecisionMade)]
    filtered = [d for d in decisions if d.outcome == "filtered"]
    ordered = [d for d in decisions if d.outcome == "ordered" and d.decision.action is Action.LONG]
    assert filtered
    assert ordered
    for d in filtered:  # judged on the close of the decision's own bar
        index = bars.ts.index(d.decision.ts - 60 * 1_000_000_000)
        assert bars.close[index] >= level
        assert d.detail.startswith(f"test.below: close {bars.close[index]} not under")


async def test_a_market_filter_that_fails_to_observe_vetoes_entries(tmp_path: Path) -> None:
    feed = CsvCandleFeed(sample_csv(), symbol=BTC)
    flt = BelowClose(float("inf"), fail_at=10)
    k, rec = kernel(tmp_path, [flt])
    await k.start()
    assert isinstance(k.clock, SimClock)
    await run_events(k, k.clock, feed.events([BTC]), guard_interval_s=60)
    failures = [e for e in rec.events if isinstance(e, ComponentFailed)]
    assert [(f.component, "lost the feed" in f.error) for f in failures] == [
        ("filter:test.below", True)
    ]
    entries = [
        e for e in rec.events if isinstance(e, DecisionMade) and e.decision.action is Action.LONG
    ]
    assert entries
    assert all(e.outcome == "filtered" for e in entries)
    assert all("lost its view of the market" in e.detail for e in entries)
