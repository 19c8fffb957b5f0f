"""Assembly: a profile plus the installed plugins become one runnable kernel.

This is the only place that turns configuration into objects; drivers and the CLI take
the :class:`Runtime` it returns. The ``Runtime`` is also what ``startup``/``shutdown``
hooks receive.
"""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpt_trader.components import BuildContext, Kind
from gpt_trader.config import BotConfig
from gpt_trader.config.settings import ExitsSection
from gpt_trader.control import apply_pending
from gpt_trader.domain import MarginType, Product, TradingState
from gpt_trader.domain.events import RunStarted, RunStopped
from gpt_trader.engine.clock import SimClock, WallClock
from gpt_trader.engine.execution import ExecutionPolicy
from gpt_trader.engine.exits import ExitPlan
from gpt_trader.engine.guards import DEFAULT_BUDGET_S, GuardStack
from gpt_trader.engine.journal import MemoryJournal
from gpt_trader.engine.kernel import Kernel, KernelParts
from gpt_trader.errors import UserError
from gpt_trader.logs import set_run_id
from gpt_trader.plugins import PluginManager
from gpt_trader.protocols import (
    AttachableFeed,
    ClosingSink,
    OrderJournal,
    PreTradeGuard,
    ReplayableFeed,
    RuntimeGuard,
    Sink,
    TimedFeed,
)
from gpt_trader.registry import Registry
from gpt_trader.store import Store, StoreSink, intents_path


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the second plus 24 random bits."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _is_new(path: Path) -> bool:
    """Whether ``path`` does not exist yet (False for a name the system refuses:
    :func:`ensure_state_dir` says so in one line)."""
    try:
        return not path.exists()
    except OSError:
        return False


def _forget_new_store(db: Path | None, state_dir: Path | None) -> None:
    """Remove the store (and the state dir) this command created, when it is refused
    before the run began: nothing but an empty schema was ever written to them."""
    if db is not None:
        for base in (db, intents_path(db)):
            for path in (
                base,
                base.with_name(base.name + "-wal"),
                base.with_name(base.name + "-shm"),
            ):
                path.unlink(missing_ok=True)
    if state_dir is not None:
        with contextlib.suppress(OSError):
            state_dir.rmdir()  # only if empty: a component may have written its own files


def ensure_state_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"state dir {path} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"state dir {path} is not writable")
    probe = path / ".write-test"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"state dir {path} is not writable: {exc.strerror}") from None
    return path


@dataclass
class Runtime:
    config: BotConfig
    registry: Registry
    kernel: Kernel
    store: Store | None
    feed: Any
    state_dir: Path
    run_id: str
    mode: str
    resumed_from: str = ""
    clock: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> str:
        return self.config.profile.name

    @property
    def symbols(self) -> list[str]:
        return list(self.config.profile.universe)


async def assemble(
    config: BotConfig,
    pm: PluginManager,
    state_dir: Path,
    *,
    replay: bool = False,
    options: dict[str, Any] | None = None,
    run_id: str | None = None,
    feed_override: Any = None,
    durable: bool = True,
) -> Runtime:
    """Build every component the profile names and the kernel that runs them.

    Raises :class:`UserError` for anything the user must fix (unknown component, bad
    param, unknown symbol, unusable state dir); nothing has been written to the store yet
    when it does, and a store (and state dir) this call created is removed again.
    """
    registry = Registry(pm)
    # Validate every component before anything touches the state dir, network or store.
    registry.validate_components(component_refs(config))
    fresh_dir = _is_new(state_dir)
    ensure_state_dir(state_dir)
    universe = tuple(config.profile.universe)
    db = state_dir / "gpt_trader.db"
    fresh_db = _is_new(db)
    # The run's own connection never checkpoints on commit (the intent write is on the
    # tick-to-order path); the store sink's writer thread does it instead.
    store = Store(db, autocheckpoint=False) if durable else None
    opts = dict(options or {})
    opts.setdefault("replay", replay)
    # [execution] settings a broker applies: adapters preview live submits, the simulated
    # exchange fills limits on a touch.
    opts.setdefault("preview", config.execution.preview)
    opts.setdefault("fill_on_touch", config.execution.fill_on_touch)
    opts.setdefault("start_ts", 0 if replay else _minute_floor(time.time_ns()))
    if store is not None:
        last_market = store.events(types=["market"], limit=1, newest_first=True)
        if last_market:
            opts.setdefault("resume_after_ts", int(last_market[0].payload["event"]["ts"]))
    ctx = BuildContext(
        profile=config.profile.name,
        mode=config.profile.mode,
        universe=universe,
        products={},
        state_dir=state_dir,
        seed=config.profile.seed,
        options=opts,
        catalogues=registry.catalogues(),
    )

    try:
        broker = registry.build(Kind.BROKER, config.broker.use, config.broker.params, ctx)
    except BaseException:
        # A broker that cannot be built (an unreachable simulator, a bad sim.json): a
        # refused command leaves no store behind.
        if store is not None:
            store.close()
        _forget_new_store(db if fresh_db else None, state_dir if fresh_dir else None)
        raise
    try:
        products = await _products(broker, universe)
    except BaseException:
        # A refused universe or account: let go of the broker's sessions (and any
        # simulator it started) and the store before the error reaches the user.
        with contextlib.suppress(Exception):
            await broker.stop()
        if store is not None:
            store.close()
        _forget_new_store(db if fresh_db else None, state_dir if fresh_dir else None)
        raise
    ctx = BuildContext(
        profile=ctx.profile,
        mode=ctx.mode,
        universe=universe,
        products=products,
        state_dir=state_dir,
        seed=ctx.seed,
        options=ctx.options,
        catalogues=ctx.catalogues,
    )
    feed = feed_override or registry.build(Kind.FEED, config.feed.use, config.feed.params, ctx)
    signals: dict[str, list[Any]] = {s: [] for s in universe}
    for ref in config.signals:
        spec = registry.get(Kind.SIGNAL, ref.use)
        if spec.per_symbol:
            for symbol in universe:
                signals[symbol].append(
                    registry.build(Kind.SIGNAL, ref.use, ref.params, ctx.for_symbol(symbol))
                )
        else:
            shared = registry.build(Kind.SIGNAL, ref.use, ref.params, ctx)
            for symbol in universe:
                signals[symbol].append(shared)
    voter = registry.build(Kind.VOTER, config.voter.use, config.voter.params, ctx)
    filters = [registry.build(Kind.FILTER, r.use, r.params, ctx) for r in config.filters]
    sizer = registry.build(Kind.SIZER, config.sizer.use, config.sizer.params, ctx)
    pre: list[PreTradeGuard] = []
    runtime_guards: list[RuntimeGuard] = []
    for ref in config.guards:
        guard = registry.build(Kind.GUARD, ref.use, ref.params, ctx)
        if isinstance(guard, PreTradeGuard):
            pre.append(guard)
        if isinstance(guard, RuntimeGuard):
            runtime_guards.append(guard)
        if not isinstance(guard, PreTradeGuard | RuntimeGuard):
            raise UserError(f"guard {ref.use!r} has neither check() nor evaluate()")
    extra_sinks: list[Sink] = [
        registry.build(Kind.SINK, r.use, r.params, ctx) for r in config.sinks
    ]

    run_id = run_id or new_run_id()
    sinks: list[Sink] = list(extra_sinks)
    journal: OrderJournal = MemoryJournal()
    if store is not None:
        journal = store
        sinks.insert(
            0, StoreSink(store, run_id, record_market=config.run.record_market and not replay)
        )
    # A simulated or replayed market keeps its own time: the kernel's clock starts where
    # the feed's market does (a synthetic start in the past, a CSV's first bar) and follows
    # the events, so time-based guards judge each bar at its own time, not at "now".
    own_time = replay or config.profile.mode == "sim" or isinstance(feed, ReplayableFeed)
    feed_start = feed.start_ts if isinstance(feed, TimedFeed) else 0
    start_at = feed_start if isinstance(feed_start, int) and feed_start > 0 else opts["start_ts"]
    clock: Any = SimClock(start_at) if own_time else WallClock()
    parts = KernelParts(
        run_id=run_id,
        products=products,
        signals=signals,
        voter=voter,
        sizer=sizer,
        broker=broker,
        journal=journal,
        clock=clock,
        filters=filters,
        guards=GuardStack(pre, runtime_guards, budget_s=None if replay else DEFAULT_BUDGET_S),
        sinks=sinks,
        critical_sinks=frozenset({0}) if durable else frozenset(),
        record_market=config.run.record_market and not replay,
        equity_every_s=config.run.equity_every_s if durable and not replay else None,
        allow_short=config.run.allow_short,
        quote_currency=config.run.quote_currency,
        leverage=config.run.leverage,
        margin_type=MarginType(config.run.margin_type) if config.run.margin_type else None,
        adopt_holdings={
            symbol: (h.size, h.cost)
            for symbol, h in config.run.adopt_holdings.items()
            if h.cost is not None
        },
        execution=ExecutionPolicy(
            entry=config.execution.entry,
            offset_bps=config.execution.offset_bps,
            timeout_s=config.execution.timeout_s,
            reprice=config.execution.reprice,
            max_reprices=config.execution.max_reprices,
            on_partial=config.execution.on_partial,
            cancel_retries=config.execution.cancel_retries,
            cancel_give_up_s=config.execution.cancel_give_up_s,
        ),
        exits=exit_plan(config.exits),
    )
    last = store.last_run() if store is not None else None
    return Runtime(
        config=config,
        registry=registry,
        kernel=Kernel(parts),
        store=store,
        feed=feed,
        state_dir=state_dir,
        run_id=run_id,
        mode="replay" if replay else config.profile.mode,
        resumed_from=last.run_id if last else "",
        clock=clock,
        extra={"options": opts},
    )


def exit_plan(exits: ExitsSection) -> ExitPlan | None:
    """The kernel's exit plan from the profile's ``[exits]`` (None: nothing asked)."""
    return ExitPlan.from_pcts(
        exits.stop_loss_pct,
        exits.take_profit_pct,
        trailing_pct=exits.trailing_pct,
        trailing_activation_pct=exits.trailing_activation_pct,
        max_hold_s=exits.max_hold_s,
        roi=exits.roi,
    )


def _minute_floor(ts: int) -> int:
    return ts - ts % 60_000_000_000


def component_refs(config: BotConfig) -> list[tuple[Kind, Any]]:
    out: list[tuple[Kind, Any]] = [
        (Kind.BROKER, config.broker),
        (Kind.FEED, config.feed),
        (Kind.VOTER, config.voter),
        (Kind.SIZER, config.sizer),
    ]
    out += [(Kind.SIGNAL, r) for r in config.signals]
    out += [(Kind.FILTER, r) for r in config.filters]
    out += [(Kind.GUARD, r) for r in config.guards]
    out += [(Kind.SINK, r) for r in config.sinks]
    return out


async def _products(broker: Any, universe: tuple[str, ...]) -> dict[str, Product]:
    available = {p.symbol: p for p in await broker.products()}
    missing = [s for s in universe if s not in available]
    if missing:
        raise UserError(
            f"unknown symbol(s) {', '.join(missing)} for this broker "
            f"(it offers: {', '.join(sorted(available)[:20])})"
        )
    return {s: available[s] for s in universe}


async def start(runtime: Runtime, *, hooks: bool = True) -> None:
    """Record the run, restore the last run's positions and state, reconcile, and (unless
    ``hooks`` is False, as for backtest and optimisation trials) call the startup hooks."""
    store, kernel = runtime.store, runtime.kernel
    set_run_id(runtime.run_id)
    restored_state = TradingState.ACTIVE
    if store is None:
        now = kernel.clock.now()
        kernel.emit(RunStarted(now, runtime.run_id, runtime.profile, runtime.mode))
        await kernel.start()
        if hooks:
            runtime.registry.startup(runtime)
        return
    last = store.last_run()
    if last is not None and not last.finished:
        # The previous process died without finishing its run: close the record honestly.
        store.finish_run(last.run_id, kernel.clock.now(), "crashed", {})
        last = store.run(last.run_id)
    if last is not None:
        changes = store.events(
            run_id=last.run_id, types=["trading_state"], limit=1, newest_first=True
        )
        state_name = str(changes[0].payload.get("new", "ACTIVE")) if changes else "ACTIVE"
        if state_name in TradingState.__members__:
            restored_state = TradingState[state_name]
    now = kernel.clock.now()
    store.start_run(
        runtime.run_id, runtime.profile, runtime.mode, now, resumed_from=runtime.resumed_from
    )
    store.save_products(kernel.products.values(), now)
    kernel.emit(
        RunStarted(now, runtime.run_id, runtime.profile, runtime.mode, runtime.resumed_from)
    )
    if isinstance(runtime.feed, AttachableFeed):
        runtime.feed.attach(kernel)  # a feed that resyncs pauses entries through the kernel
    await kernel.start(trading_state=restored_state)
    await apply_pending(kernel, store, runtime.run_id, None, at_start=True)
    if hooks:
        runtime.registry.startup(runtime)
    # What a durable run has assembled lives as long as the run: kept out of the cyclic
    # GC's walks, so a full collection no longer stalls a tick (~100 ms in
    # bench/orders.py, ~2 ms after). finish() hands it back, for a process that runs more.
    gc.collect()
    gc.freeze()


async def finish(runtime: Runtime, reason: str, *, hooks: bool = True) -> dict[str, Any]:
    """Stop the kernel (cancel open orders if the profile says so), flush, record, summarise."""
    kernel = runtime.kernel
    try:
        await kernel.stop(cancel_open=runtime.config.run.on_stop == "cancel")
    finally:
        summary = kernel.summary()
        summary.update(
            profile=runtime.profile,
            mode=runtime.mode,
            state_dir=str(runtime.state_dir),
            stop_reason=reason,
            resumed_from=runtime.resumed_from,
        )
        now = kernel.clock.now()
        kernel.emit(RunStopped(now, runtime.run_id, reason, summary))
        store = runtime.store
        if store is not None:
            store.save_positions(kernel.reported_positions(), runtime.run_id, now, kernel.holdings)
        for sink in kernel.parts.sinks:
            if isinstance(sink, ClosingSink):
                with contextlib.suppress(Exception):
                    sink.close()
        if store is not None:
            store.finish_run(runtime.run_id, now, reason, summary)
        if hooks:
            with contextlib.suppress(UserError):
                runtime.registry.shutdown(runtime)
        if store is not None:
            store.close()
            gc.unfreeze()
        set_run_id(None)
    return summary
