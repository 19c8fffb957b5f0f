"""One scenario: the simulator and a bot (kernel + Coinbase adapter) on one virtual clock.

The bot runs the profile against the simulator as ``gpt-trader run`` would, over a wire in
memory (:mod:`gpt_trader_chaos.memwire`); at each crash point of the plan it dies without
shutting down (:func:`kill`) and a new bot starts from the same store. The last bot stops in order (cancelling what it left open), and
the invariants compare the store with the simulator's ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpt_trader.app import assemble, finish, start
from gpt_trader.config import BotConfig, ComponentRef, load_config
from gpt_trader.plugins import PluginManager
from gpt_trader.runtime.live import Bounds, StopRequest, run_live
from gpt_trader.store import Store, StoreSink
from gpt_trader_coinbase.spot.plugin import TRANSPORT_OPTION
from gpt_trader_coinbase_sim.server import INFO_FILE, KEY_FILE, SimConfig, Simulator

from gpt_trader_chaos import invariants_brackets as brackets
from gpt_trader_chaos import memwire, vtime
from gpt_trader_chaos.crashes import Crash, Tripwire, arm
from gpt_trader_chaos.invariants import Evidence, check_all
from gpt_trader_chaos.invariants_derivatives import start_pools
from gpt_trader_chaos.lineage import Lineage, watch
from gpt_trader_chaos.plan import Plan

# 2026-06-01T00:58:00Z: every scenario starts at the same virtual instant, two minutes
# before a funding time (perpetuals and perp-style futures pay hourly).
EPOCH_NS = (1_780_272_000 + 58 * 60) * vtime.NS
# Which bot a task belongs to: tasks inherit it from the task that made them, so a dead
# bot's every task can be found and ended (the simulator's tasks have none).
OWNER: contextvars.ContextVar[str] = contextvars.ContextVar("chaos_owner", default="")
SIM_STOP_S = 30.0
# A thinner book than the simulator's default 25 levels a side: the simulator lays out
# every level afresh each tick, and parsing, applying and storing those updates was a
# third of a scenario's CPU; ten levels still dwarf the bot's order sizes.
BOOK_LEVELS = 10
# A bot that crashes at start (mid-reconcile, again and again) gets this many tries.
MAX_SEGMENTS = 8
# With exits: the calm last bot's virtual seconds (a few reconcile intervals).
CALM_S = 15.0


@dataclass
class Outcome:
    plan: Plan
    crashes: int = 0
    segments: int = 0
    orders: int = 0
    fills: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)
    virtual_s: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures and not self.error


class _LogTap(logging.Handler):
    """What the run logged (WARNING and up), for the secret check."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


def bot_config(profile: str, sim_json: Path, seed: int, *, exits: bool = True) -> BotConfig:
    """The shipped profile, pointed at this scenario's simulator (with the seed's exits)."""
    from gpt_trader_coinbase.derivatives import ENABLE_ENV

    # INTX perpetuals are off unless asked for; here the venue is the simulator.
    os.environ.setdefault(ENABLE_ENV, "1")
    config = load_config(profile)
    target = {"sim": False, "sim_json": str(sim_json)}
    broker = ComponentRef(use=config.broker.use, **{**config.broker.params, **target})
    feed = ComponentRef(use=config.feed.use, **{**config.feed.params, **target})
    sinks = [s for s in config.sinks if s.use != "log"]  # the log sink is the slow part
    prof = config.profile.model_copy(update={"seed": seed})
    exits = (brackets.exits_for(seed) if exits else None) or config.exits
    return config.model_copy(
        update={"broker": broker, "feed": feed, "sinks": sinks, "profile": prof, "exits": exits}
    )


def run(
    plan: Plan,
    pm: PluginManager,
    *,
    keep: Path | None = None,
    mutate: Callable[[Any], None] | None = None,
) -> Outcome:
    """Run ``plan`` in a fresh temporary directory; keep it under ``keep`` if it fails.
    ``mutate(runtime)`` may change each bot before it starts (tests inject bugs with it)."""
    clock = vtime.VirtualClock(EPOCH_NS)
    work = Path(tempfile.mkdtemp(prefix=f"chaos-{plan.seed}-", dir=_scratch()))
    tap = _LogTap()
    root = logging.getLogger()
    root.addHandler(tap)
    outcome = Outcome(plan)
    try:
        # No collection in the middle of a scenario: one would finalise a previous
        # scenario's objects at a moment no seed decides. What survives this one is the
        # process's own (modules, plugins): frozen, the next one need not walk it again.
        gc.collect()
        gc.freeze()
        gc.disable()
        with vtime.installed(clock), vtime.seeded(plan.seed):
            loop = vtime.new_loop(clock)
            loop.set_task_factory(_owned_task)
            loop.set_exception_handler(_quiet_crashes)
            try:
                loop.run_until_complete(_scenario(plan, pm, work, outcome, tap, mutate))
            finally:
                _close_loop(loop)
                gc.enable()
        outcome.virtual_s = clock.elapsed_s
    finally:
        root.removeHandler(tap)
        if keep is not None and not outcome.ok:
            dest = keep / f"seed-{plan.seed}"
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(work, dest, ignore=shutil.ignore_patterns("*.lock"))
        shutil.rmtree(work, ignore_errors=True)
    return outcome


_TASKS: dict[str, list[asyncio.Task[Any]]] = {}


def _quiet_crashes(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A task of a bot that was "killed" ends with :class:`Crash`; asyncio would log each as
    a traceback ("exception was never retrieved"). Anything else is logged as usual."""
    if isinstance(context.get("exception"), Crash):
        return
    loop.default_exception_handler(context)


def _owned_task(loop: Any, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    task = asyncio.Task(coro, loop=loop, **kwargs)
    owner = OWNER.get()
    if owner:
        _TASKS.setdefault(owner, []).append(task)
    return task


def _scratch() -> str | None:
    """Memory-backed scratch space when there is some: the stores' commits fsync, and a
    simulated kill -9 loses no page the OS already has, so the disk adds only time."""
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private dir inside
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


async def _scenario(
    plan: Plan,
    pm: PluginManager,
    work: Path,
    outcome: Outcome,
    tap: _LogTap,
    mutate: Callable[[Any], None] | None,
) -> None:
    sim_dir = work / "sim"
    _seed_files(sim_dir)
    config = bot_config(plan.profile, sim_dir / INFO_FILE, plan.seed, exits=plan.exits)
    sim = Simulator(
        SimConfig(
            state_dir=sim_dir,
            seed=plan.seed,
            products=list(config.profile.universe),
            faults=plan.faults or None,
            tick_s=1.0,
            history_minutes=10,
            heartbeat_s=1.0,
            listen=False,
            book_levels=BOOK_LEVELS,
        )
    )
    await sim.start()
    assert sim.state is not None
    state = sim.state
    bot_dir = work / "bot"
    end_ns = EPOCH_NS + int(plan.duration_s * vtime.NS)
    crashes = list(plan.crashes)
    intents: set[str] = set()
    lineage = Lineage()
    pools = start_pools(state.venue)
    with_exits = config.exits.stop_loss_pct or config.exits.take_profit_pct
    exit_watch = (
        brackets.BracketWatch(state.venue, lineage, lambda: _t(state)) if with_exits else None
    )
    try:
        segment = 0
        while True:
            segment += 1
            remaining = (end_ns - state.clock.now_ns()) / vtime.NS
            wire = Tripwire(crashes if segment < MAX_SEGMENTS else [])
            await _one_bot(
                config,
                pm,
                bot_dir,
                wire,
                sim,
                max(remaining, 1.0),
                f"r{segment:02d}",
                mutate,
                intents,
                lineage,
            )
            outcome.segments = segment
            if wire.fired is not None:
                outcome.crashes += 1
                outcome.trace.append(f"t+{_t(state)}s crash at {wire.fired}")
                crashes.remove(wire.fired)
                continue
            if state.clock.now_ns() >= end_ns or segment >= MAX_SEGMENTS:
                break
        key = json.loads((sim_dir / KEY_FILE).read_text())["privateKey"]
        evidence = Evidence.gather(
            bot_dir,
            state,
            start_cash=sim.config.balances,
            intents=intents,
            secret=key,
            logs=tap.lines,
            lineage=lineage,
            start_pools=pools,
        )
        outcome.failures = check_all(evidence)
        outcome.orders = len({o.client_order_id for o in state.venue.orders()})
        outcome.fills = len(state.venue.fills())
        outcome.faults = dict(state.faults.counts)
        outcome.trace += evidence.trace()
        if exit_watch is not None:
            await _calm_bot(
                config, pm, bot_dir, sim, f"r{segment + 1:02d}", mutate, intents, lineage
            )
            found = brackets.verdict(config.exits, bot_dir, state.venue, lineage, exit_watch)
            for name, rows in found.items():
                outcome.failures.setdefault(name, []).extend(rows)
    finally:
        # Bounded: a WebSocket writer whose reader went away can wait for ever, and the
        # verdict is in already.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sim.stop(), SIM_STOP_S)


async def _calm_bot(
    config: BotConfig,
    pm: PluginManager,
    bot_dir: Path,
    sim: Simulator,
    run_id: str,
    mutate: Callable[[Any], None] | None,
    intents: set[str],
    lineage: Lineage,
) -> None:
    """The bot's chance to set its exits right: one more bot from the store, with no faults,
    no crashes and no new decisions, for :data:`CALM_S` (the verdicts above are in)."""
    from gpt_trader_coinbase_sim.faults import FaultConfig

    assert sim.state is not None
    sim.state.faults.configure(FaultConfig())

    def calm(runtime: Any) -> None:
        if mutate is not None:
            mutate(runtime)

        async def no_decision(symbol: str) -> None:
            return None

        runtime.kernel.decide = no_decision

    await _one_bot(config, pm, bot_dir, Tripwire([]), sim, CALM_S, run_id, calm, intents, lineage)


def _t(state: Any) -> int:
    return int((state.clock.now_ns() - EPOCH_NS) / vtime.NS)


_CACHE: dict[str, bytes] = {}


def _seed_files(sim_dir: Path) -> None:
    """Reuse one TLS certificate and API key for every scenario of the process (making an
    RSA certificate costs more than a scenario's trading)."""
    sim_dir.mkdir(parents=True)
    if not _CACHE:
        first = Path(tempfile.mkdtemp(prefix="chaos-keys-"))
        try:
            from gpt_trader_coinbase_sim.server import _load_or_create_key
            from gpt_trader_coinbase_sim.tls import ensure_cert

            files = ensure_cert(first)
            _load_or_create_key(first / KEY_FILE, "ES256")
            _CACHE[f"tls/{files.cert_file.name}"] = files.cert_file.read_bytes()
            _CACHE[f"tls/{files.key_file.name}"] = files.key_file.read_bytes()
            _CACHE[KEY_FILE] = (first / KEY_FILE).read_bytes()
        finally:
            shutil.rmtree(first, ignore_errors=True)
    for rel, data in _CACHE.items():
        path = sim_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o600)


async def _one_bot(
    config: BotConfig,
    pm: PluginManager,
    bot_dir: Path,
    wire: Tripwire,
    sim: Simulator,
    seconds: float,
    run_id: str,
    mutate: Callable[[Any], None] | None,
    intents: set[str],
    lineage: Lineage,
) -> None:
    """One bot's life, to the end of ``seconds`` or to a crash (``wire.fired``)."""
    # The bot's Coinbase clients (REST and both WebSockets) reach the simulator through
    # memory pipes, so what arrives when is the loop's to decide, not the kernel's.
    options = {
        "live": False,
        TRANSPORT_OPTION: lambda: memwire.MemoryConnector(sim.accept, limit=32),
    }
    runtime = await assemble(config, pm, bot_dir, options=options, run_id=run_id)
    state = sim.state
    assert state is not None
    for sink in runtime.kernel.parts.sinks:
        if isinstance(sink, StoreSink):
            _InlineWriter.install(sink)
    if mutate is not None:
        mutate(runtime)
    assert runtime.store is not None
    disarm = arm(wire, runtime.kernel, runtime.store, state.venue, intents)
    watch(lineage, runtime.kernel, runtime.store)
    stop = StopRequest()

    async def life() -> str:
        OWNER.set(run_id)
        await start(runtime)
        return await run_live(
            runtime.kernel,
            runtime.feed,
            runtime.symbols,
            bounds=Bounds(duration_s=seconds),
            stop=stop,
            guard_interval_s=config.run.guard_interval_s,
        )

    task = asyncio.ensure_future(life())
    task.add_done_callback(_retrieve)
    wire.task = task
    reason = "error"
    try:
        try:
            reason = await task
        except (Crash, asyncio.CancelledError):
            if not wire.fired:
                raise
        if wire.fired:
            await kill(runtime, _TASKS.pop(run_id, []))
            return
        _TASKS.pop(run_id, None)
        await finish(runtime, reason)
    finally:
        disarm()


class _InlineWriter:
    """The store sink's writer run on the loop, at each hand-over, instead of in its thread.

    Same batches, same order, same transactions: only no thread, whose handing over costs
    more than a scenario's writes and whose timing no seed controls."""

    def __init__(self, sink: StoreSink) -> None:
        self.sink = sink
        self.store = Store(sink.store.path, create=False, autocheckpoint=False)

    @classmethod
    def install(cls, sink: StoreSink) -> None:
        sink._queue.put(None)
        sink._writer.join()
        sink._queue = cls(sink)  # type: ignore[assignment]

    def put(self, batch: Any) -> None:
        if batch is None:
            self.store.close()
            return
        try:
            self.sink._write(self.store, batch)
        finally:
            if batch.done is not None:
                batch.done.set()


def _retrieve(task: asyncio.Task[Any]) -> None:
    """A dead bot's task ends in its crash: nothing to report."""
    if not task.cancelled():
        task.exception()


async def kill(runtime: Any, tasks: list[asyncio.Task[Any]]) -> None:
    """Drop the bot as ``kill -9`` would: every task of it ends where it is, what its
    store sink had not yet handed to the writer is lost, nothing is cancelled at the venue,
    no run record is closed. Its sockets are closed (the kernel's objects are gone)."""
    me = asyncio.current_task()
    doomed = [t for t in tasks if t is not me and not t.done()]
    for t in doomed:
        t.cancel()
        t.add_done_callback(_retrieve)
    await asyncio.gather(*doomed, return_exceptions=True)
    kernel = runtime.kernel
    broker = kernel.broker
    broker._listener = None  # nobody left to deliver to: no drain on stop
    with contextlib.suppress(BaseException):
        await broker.stop()
    for sink in kernel.parts.sinks:
        if isinstance(sink, StoreSink):
            sink._batch = type(sink._batch)()  # unflushed events die with the process
            with contextlib.suppress(BaseException):
                sink.close()
    close = getattr(runtime.feed, "close", None)
    if close is not None:
        with contextlib.suppress(BaseException):
            close()
    store: Store | None = runtime.store
    if store is not None:
        store.close()
