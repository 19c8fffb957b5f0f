"""The order hot path: µs per order through the kernel and the sim exchange, and the
in-process tick -> order latency with the intent committed to SQLite.

    uv run python bench/orders.py [--quick] [--repeat N] [--json] [--profile]

- order cost: a signal that flips LONG/FLAT on every bar, so every bar places one market
  order that fills at once (submit, fill, position, P&L; no sink, as in a backtest);
  the bars' CPU time over the orders they placed, in µs per order (wall time printed
  beside it: on a shared machine it includes the time other processes had the core);
  printed beside it (not in ``--json``), the same with a broker that fills every order at
  once and no exchange: the kernel's own share;
- tick -> order: the same signal on a real SQLite store (durable run): from a market event
  entering the kernel to the broker's acknowledgement, with the intent committed before
  the submit; p50 and p99, with the store's writer thread recording every event and
  without it (the intent commit alone). The ticks come back to back: the trading thread
  never waits, so the writer always runs beside a decision (the worst case);
- tick -> order at a pace: the same, with and without the writer, the ticks 1 ms apart
  (1,000 a second, more than a bot's whole universe sends; between two ticks the event
  loop sleeps, as it waits for the socket), so the writer mostly works between the ticks.
  A tick after an idle millisecond finds the caches cold: it costs more CPU than one in a
  hot loop, with or without the writer.

Each figure is run ``--repeat`` times (min/median/max printed); ``--json`` prints the rows
contract of issue #16. ``--profile`` prints a cProfile of one order-cost run instead.
Nothing here asserts a speed; read the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ORDER_FIGURE = (
    "cost of one order through kernel + sim exchange (submit, fill, position, P&L, events)"
)
LATENCY_FIGURE = "tick -> order {q}, in process, intent committed to SQLite ({writer})"
PACED_WRITER = "store writer running, ticks 1 ms apart"
PACED_ALONE = "no store writer, ticks 1 ms apart"
PACE_NS = 1_000_000


def _plugin() -> Any:
    from gpt_trader.components import ComponentSpec, Kind
    from gpt_trader.domain import Action, SignalValue
    from gpt_trader.hookspecs import hookimpl

    class Flip:
        """Alternates LONG/FLAT on every bar, so every bar places an order."""

        name = "bench.flip"

        def __init__(self) -> None:
            self.long = False

        def update(self, event: Any) -> SignalValue:
            self.long = not self.long
            action = Action.LONG if self.long else Action.FLAT
            return SignalValue(self.name, event.symbol, event.ts, action)

    class Plugin:
        @staticmethod
        @hookimpl
        def register_signals() -> Any:
            yield ComponentSpec("bench.flip", Kind.SIGNAL, lambda p, ctx: Flip(), per_symbol=True)

    return Plugin()


def _config() -> Any:
    from gpt_trader.config import BotConfig

    return BotConfig(
        profile={"name": "orders", "universe": ["BTC-USD"]},
        broker={
            "use": "sim",
            "market_fill": "immediate",
            "persist": False,
            "starting_cash": "100000000",
        },
        feed={"use": "synthetic", "pace_s": 0},
        signals=[{"use": "bench.flip"}],
        voter={"use": "majority"},
        sizer={"use": "fixed", "size": "0.01"},
        run={"record_market": False},
    )


class _Instant:
    """A broker that acknowledges and fills every order at once, at a fixed price, with no
    exchange behind it: what is left is the kernel's own cost (and this broker's Order and
    Fill objects, which any broker builds)."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.n = 0

    def on_market(self, event: Any) -> None:
        pass

    async def submit(self, request: Any) -> Any:
        from gpt_trader.domain import Fill, Liquidity, Order, OrderStatus

        self.n += 1
        order = Order.from_request(request, 0)
        order.order_id, order.status = f"o-{self.n}", OrderStatus.OPEN
        self.kernel.on_order(order.copy())
        fill = Fill(
            trade_id=f"t-{self.n}",
            client_order_id=request.client_order_id,
            order_id=order.order_id,
            symbol=request.symbol,
            side=request.side,
            price=Decimal("100000.00"),
            size=request.size,
            fee=Decimal("6.00"),
            liquidity=Liquidity.TAKER,
            ts=0,
        )
        order.filled_size, order.avg_fill_price, order.fees = request.size, fill.price, fill.fee
        order.status, order.trade_ids = OrderStatus.FILLED, (fill.trade_id,)
        self.kernel.on_fill(fill)
        self.kernel.on_order(order.copy())
        return order.copy()


async def _drive(
    n: int, durable: bool, writer: bool, instant: bool = False, pace_ns: int = 0
) -> tuple[list[float], list[float], dict[str, Any]]:
    """``n`` bars through a fresh runtime: each bar's wall time in the kernel and the CPU
    time of this thread in it (µs; the latter leaves out the time the machine's other
    processes had the core, and waits on a lock), and the run's summary. ``instant``: the
    kernel trades with :class:`_Instant` instead of the sim exchange; ``pace_ns``: a bar
    is due that long after the previous one was (the event loop sleeps until then)."""
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.domain import Candle
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader.store import StoreSink

    pm = make_plugin_manager()
    pm.register_plugin(_plugin(), "bench")
    samples: list[float] = []
    cpu_samples: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await assemble(_config(), pm, Path(tmp), durable=durable)
        await start(runtime)
        kernel = runtime.kernel
        if durable and not writer:
            # The intent commit alone: the store sink (and its writer thread) is closed and
            # detached once the run is recorded.
            for sink in kernel.parts.sinks:
                if isinstance(sink, StoreSink):
                    sink.close()
            kernel._set_sinks([s for s in kernel._sinks if not isinstance(s, StoreSink)])
        price = Decimal("100000.00")
        base = 1_700_000_000_000_000_000
        candles = [
            Candle("BTC-USD", base + i * 60_000_000_000, price, price, price, price, Decimal(5))
            for i in range(n)
        ]
        sim_broker = kernel.broker
        if instant:  # swapped in after start, and back before finish: the run stays whole
            kernel.broker = _Instant(kernel)
        clock = runtime.clock
        on_market = kernel.on_market
        wall, cpu = time.perf_counter_ns, time.thread_time_ns
        due = wall()
        for candle in candles:
            if pace_ns:
                due += pace_ns
                ahead = due - wall()
                if ahead > 0:
                    await asyncio.sleep(ahead / 1e9)  # the loop waits in select(): GIL free
            clock.advance_to(candle.close_ts)
            t0, c0 = wall(), cpu()
            await on_market(candle)
            samples.append((wall() - t0) / 1000)
            cpu_samples.append((cpu() - c0) / 1000)
        kernel.broker = sim_broker
        summary = await finish(runtime, "bench")
    return samples, cpu_samples, summary


async def order_cost(n: int, instant: bool = False) -> tuple[float, float]:
    """µs per order: the bars' CPU time in the kernel over the orders they placed (the
    figure: one thread, no I/O, so its CPU time is the work, whatever else the machine
    runs), and their wall time; ``instant``: the kernel alone (see :class:`_Instant`)."""
    wall, cpu, summary = await _drive(n, durable=False, writer=False, instant=instant)
    if summary["orders"] != n or summary["fills"] != n:
        raise SystemExit(
            f"expected {n} orders and fills, got {summary['orders']}/{summary['fills']}"
        )
    return sum(cpu) / n, sum(wall) / n


async def latency(n: int, *, writer: bool, pace_ns: int = 0) -> dict[str, float]:
    """Market event in -> broker acknowledgement, the intent committed to a real SQLite
    store; with or without the store's writer thread recording the events; the ticks back
    to back, or ``pace_ns`` apart."""
    samples, cpu, summary = await _drive(n, durable=True, writer=writer, pace_ns=pace_ns)
    samples.sort()
    cpu.sort()
    return {
        "events": n,
        "orders": summary["orders"],
        "p50_us": statistics.median(samples),
        "p99_us": samples[int(len(samples) * 0.99) - 1],
        "max_us": samples[-1],
        "cpu_p50_us": statistics.median(cpu),
        "cpu_p99_us": cpu[int(len(cpu) * 0.99) - 1],
    }


def _spread(values: list[float]) -> str:
    return (
        f"min {min(values):8.1f}  median {statistics.median(values):8.1f}  max {max(values):8.1f}"
    )


def _profile(n: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(order_cost(n))
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"{stats.total_calls / n:.0f} calls per order")  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer orders and ticks")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure")
    parser.add_argument("--json", action="store_true", help="print the rows contract")
    parser.add_argument("--profile", action="store_true", help="cProfile one order-cost run")
    args = parser.parse_args()
    orders_n, ticks_n, paced_n = (2000, 2000, 500) if args.quick else (20_000, 10_000, 5_000)
    if args.profile:
        _profile(orders_n)
        return
    costs = [asyncio.run(order_cost(orders_n)) for _ in range(args.repeat)]
    lat: dict[str, list[dict[str, float]]] = {
        label: [asyncio.run(latency(n, writer=writer, pace_ns=pace)) for _ in range(args.repeat)]
        for label, writer, pace, n in (
            ("store writer running", True, 0, ticks_n),
            ("no store writer", False, 0, ticks_n),
            (PACED_WRITER, True, PACE_NS, paced_n),
            (PACED_ALONE, False, PACE_NS, paced_n),
        )
    }
    rows = [
        {
            "figure": ORDER_FIGURE,
            "unit": "µs (CPU)",
            "ours": [cpu for cpu, _ in costs],
            "peer": None,
            "peer_values": None,
            "aim": "<= 20 µs",
        }
    ]
    for label, runs in lat.items():
        for q, aim in (("p50", "< 100 µs"), ("p99", "< 1 ms")):
            rows.append(
                {
                    "figure": LATENCY_FIGURE.format(q=q, writer=label),
                    "unit": "µs",
                    "ours": [r[f"{q}_us"] for r in runs],
                    "peer": None,
                    "peer_values": None,
                    "aim": aim,
                }
            )
    if args.json:
        print(json.dumps({"rows": rows}))
        return
    alone = [asyncio.run(order_cost(orders_n, instant=True))[0] for _ in range(args.repeat)]
    print(
        f"{orders_n:,} orders, {ticks_n:,} ticks back to back, {paced_n:,} at a pace,"
        f" {args.repeat} runs each (µs)"
    )
    for row in rows:
        print(f"  {_spread(row['ours'])}   {row['figure']}")
    print(f"  {_spread([w for _, w in costs])}   the order cost in wall time")
    print(f"  {_spread(alone)}   the kernel alone: a broker that fills at once, no exchange")
    for label, runs in lat.items():
        for q in ("p50", "p99"):
            cpu = [r[f"cpu_{q}_us"] for r in runs]
            print(f"  {_spread(cpu)}   tick -> order {q} in CPU time ({label})")
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores (wall figures include the wait)")


if __name__ == "__main__":
    main()
