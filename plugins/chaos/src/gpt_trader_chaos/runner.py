"""Many scenarios: seeds, worker processes, and the totals of their outcomes.

A scenario installs virtual time process-wide, so parallel scenarios take parallel
processes; each worker runs its share one after another.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gpt_trader_chaos.invariants import INVARIANTS
from gpt_trader_chaos.plan import Plan, draw

# How many lines of a failing run's trace the report shows.
TRACE_LINES = 20


@dataclass(frozen=True)
class Settings:
    profile: str = "coinbase-sim"
    faults: str | None = None
    mix: str | None = "harsh"
    max_crashes: int = 2
    duration_s: float = 240.0
    exits: bool = True

    def plan(self, seed: int) -> Plan:
        return draw(
            seed,
            profile=self.profile,
            faults=self.faults,
            mix=self.mix,
            max_crashes=self.max_crashes,
            duration_s=self.duration_s,
            exits=self.exits,
        )

    def replay_command(self, seed: int) -> str:
        parts = ["gpt-trader chaos --replay", str(seed)]
        if self.profile != Settings.profile:
            parts += ["--profile", self.profile]
        if self.faults:
            parts += ["--faults", f"'{self.faults}'"]
        elif self.mix != Settings.mix:
            parts += ["--mix", str(self.mix)]
        if self.max_crashes != Settings.max_crashes:
            parts += ["--crashes", str(self.max_crashes)]
        if self.duration_s != Settings.duration_s:
            parts += ["--duration", f"{self.duration_s:g}"]
        return " ".join(parts)


def scenario_seeds(seed: int, runs: int) -> list[int]:
    """The seeds of a ``--runs N --seed S`` batch: each one replays alone."""
    return [seed * 100_000 + i for i in range(runs)]


@dataclass
class Summary:
    seed: int
    crashes: int
    orders: int
    fills: int
    faults: dict[str, int]
    failures: dict[str, list[str]]
    trace: list[str]
    virtual_s: float
    crash_points: list[str] = field(default_factory=list)


_PM: Any = None


def _plugins() -> Any:
    global _PM
    if _PM is None:
        from gpt_trader.plugins import make_plugin_manager

        _PM = make_plugin_manager()
    return _PM


def run_one(
    settings: Settings,
    seed: int,
    keep: Path | None = None,
    mutate: Callable[[Any], None] | None = None,
) -> Summary:
    from gpt_trader_chaos import scenario

    plan = settings.plan(seed)
    try:
        out = scenario.run(plan, _plugins(), keep=keep, mutate=mutate)
    except Exception as exc:  # a scenario that cannot finish is a failure to report
        tail = traceback.format_exception(exc)[-3:]
        return Summary(seed, 0, 0, 0, {}, {"error": [f"{type(exc).__name__}: {exc}"]}, tail, 0.0)
    failures = dict(out.failures)
    return Summary(
        seed,
        out.crashes,
        out.orders,
        out.fills,
        out.faults,
        failures,
        minimal_trace(out.trace, failures),
        out.virtual_s,
        [str(c) for c in plan.crashes],
    )


def minimal_trace(trace: list[str], failures: dict[str, list[str]]) -> list[str]:
    """The crashes, and the orders a failure names (all of them if it names none)."""
    if not failures:
        return []
    said = " ".join(w for rows in failures.values() for w in rows)
    crashes = [line for line in trace if line.startswith("t+")]
    orders = [line for line in trace if not line.startswith("t+")]
    named = [line for line in orders if line.split(" ", 1)[0] in said]
    return crashes + (named or orders)


def _worker(args: tuple[Settings, list[int], Path | None]) -> list[dict[str, Any]]:
    settings, seeds, keep = args
    return [asdict(run_one(settings, s, keep)) for s in seeds]


def run_many(
    settings: Settings, seeds: list[int], *, jobs: int, keep: Path | None
) -> Iterator[Summary]:
    if jobs <= 1 or len(seeds) <= 1:
        for s in seeds:
            yield run_one(settings, s, keep)
        return
    # small chunks, so workers stay busy and results come back while the batch runs
    chunks = [seeds[i : i + 5] for i in range(0, len(seeds), 5)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        for batch in pool.map(_worker, [(settings, c, keep) for c in chunks]):
            for row in batch:
                yield Summary(**row)


def report(
    settings: Settings, results: list[Summary], elapsed_s: float, *, jobs: int
) -> dict[str, Any]:
    faults: Counter[str] = Counter()
    for r in results:
        faults.update(r.faults)
    invariants: dict[str, list[dict[str, Any]]] = {name: [] for name in (*INVARIANTS, "error")}
    first_failure: Summary | None = None
    for r in results:
        for name, what in r.failures.items():
            invariants.setdefault(name, []).append(
                {"seed": r.seed, "what": what[:3], "replay": settings.replay_command(r.seed)}
            )
            first_failure = first_failure or r
    failed = sum(1 for r in results if r.failures)
    minutes = elapsed_s / 60
    return {
        "ok": failed == 0,
        "profile": settings.profile,
        "scenarios": len(results),
        "failed": failed,
        "crashes": sum(r.crashes for r in results),
        "faults": dict(sorted(faults.items())),
        "orders": sum(r.orders for r in results),
        "fills": sum(r.fills for r in results),
        "virtual_s": round(sum(r.virtual_s for r in results), 1),
        "invariants": {
            name: {"failures": len(rows), "seeds": rows[:10]} for name, rows in invariants.items()
        },
        "trace": (first_failure.trace[:TRACE_LINES] if first_failure else []),
        "trace_seed": first_failure.seed if first_failure else None,
        "elapsed_s": round(elapsed_s, 1),
        "jobs": jobs,
        "scenarios_per_minute": round(len(results) / minutes, 1) if minutes else None,
    }


def timed(
    settings: Settings, seeds: list[int], *, jobs: int, keep: Path | None
) -> tuple[list[Summary], float]:
    started = time.monotonic()
    results = sorted(run_many(settings, seeds, jobs=jobs, keep=keep), key=lambda r: r.seed)
    return results, time.monotonic() - started
