"""Parameter search with Optuna; every trial is a backtest through the kernel.

Determinism: the sampler (TPE, seeded) is asked for a *batch* of parameter sets, the batch
is evaluated in parallel (a local process pool, or Ray), and the results are told back in
trial order. Two batches are in flight: batch k + 1 is asked (and queued behind batch k)
once batch k - 1 is told, so the workers wait neither for a batch's slowest trial nor for
the sampler (but at the study's end); a trial's parameters are chosen knowing the results
up to the batch before last. The batch size (``--batch``) and that lookahead are fixed,
not the number of workers, so the same seed gives the same trials and the same best
parameters whatever the backend or ``--jobs``.

A parameter set the signal's own settings model refuses (e.g. ``fast >= slow``) is told as
PRUNED without running. Objectives (maximised): ``sharpe``, ``return`` (total return),
``calmar``; an undefined value (no trades, no drawdown) counts as 0.

Walk-forward (``--walk-forward K``): the bars are cut into K + 1 equal consecutive parts;
fold k optimises on part k - 1 (in-sample) and backtests the best parameters on part k
(out-of-sample). Signals warm up inside each part.

Every trial is stored in ``<state_dir>/research.db`` (tables ``studies`` and ``trials``).
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gpt_trader.components import Kind
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager, make_plugin_manager

from gpt_trader_research.engine import (
    BacktestSpec,
    build_config,
    load_series,
    run_backtest,
    slice_series,
)
from gpt_trader_research.results import iso
from gpt_trader_research.specs import ComponentArg, Dimension

OBJECTIVES = ("sharpe", "return", "calmar")
BACKENDS = ("local", "ray")
DB_NAME = "research.db"
# Batches submitted and not yet told: batch k + 1 is asked once batch k - 1 is told.
IN_FLIGHT = 2


@dataclass(frozen=True)
class OptimizeSpec:
    base: BacktestSpec
    space: tuple[Dimension, ...]
    trials: int = 50
    objective: str = "sharpe"
    walk_forward: int = 0
    backend: str = "local"
    address: str | None = None
    jobs: int = 1
    batch: int = 8
    seed: int = 0
    # a portfolio (the profile's universe): what --data named; empty for one product
    portfolio: tuple[Path, ...] = ()


@dataclass(frozen=True)
class TrialTask:
    """One backtest to run in a worker: picklable, self-contained."""

    base: BacktestSpec
    signals: tuple[ComponentArg, ...]
    start: int
    stop: int
    objective: str
    portfolio: tuple[Path, ...] = ()


def objective_value(stats: dict[str, Any], objective: str) -> float:
    key = {"sharpe": "sharpe", "return": "total_return", "calmar": "calmar"}[objective]
    value = stats.get(key)
    if value is None or not math.isfinite(value):
        return 0.0
    return float(value)


_WORKER_PM: PluginManager | None = None


def _worker_pm() -> PluginManager:
    global _WORKER_PM
    if _WORKER_PM is None:
        _WORKER_PM = make_plugin_manager()
    return _WORKER_PM


def _load(task: TrialTask) -> Any:
    """The bars a trial reads, parsed once per process (the loaders cache them)."""
    if task.portfolio:
        from gpt_trader_research.portfolio import PortfolioSpec, cached_universe, portfolio_config

        spec = PortfolioSpec(task.base, task.portfolio)
        return cached_universe(
            task.portfolio, portfolio_config(spec, _worker_pm()).profile.universe
        )
    return load_series(task.base.data, task.base.symbol)


def _init_worker(pm: PluginManager | None, first: TrialTask) -> None:
    """A pool worker's set-up, before its first trial: the plugins (a forked worker gets
    the parent's, a spawned one builds its own) and the bars (a forked worker finds the
    parent's already parsed), so a trial's task carries its parameters only."""
    global _WORKER_PM
    _WORKER_PM = pm or _worker_pm()
    _load(first)


def evaluate(task: TrialTask, pm: PluginManager | None = None) -> dict[str, Any]:
    """Run one trial's backtest (in whichever process this is) and summarise it."""
    spec = replace(task.base, signals=task.signals)
    pm = pm or _worker_pm()
    result: Any
    if task.portfolio:
        from gpt_trader_research.portfolio import run_window

        result = run_window(spec, task.portfolio, task.start, task.stop, pm)
    else:
        series = _load(task)
        if task.start != 0 or task.stop != len(series):
            series = slice_series(series, task.start, task.stop)
        result = run_backtest(spec, pm, series=series)
    s = result.stats
    return {
        "value": objective_value(s, task.objective),
        "total_return": s["total_return"],
        "sharpe": s["sharpe"],
        "calmar": s["calmar"],
        "max_drawdown": s["max_drawdown"],
        "trades": s["trades"],
        "win_rate": s["win_rate"],
        "final_equity": result.units.cash(result.final_equity),
        "fees": result.units.cash(result.fees),
        "elapsed_s": result.elapsed_s,
    }


# ---- backends ------------------------------------------------------------------------------

# A backend's ``submit(tasks)`` starts the tasks and returns this: the call that waits for
# their results, in task order.
Collect = Callable[[], list[dict[str, Any]]]


class LocalBackend:
    """In this process (``jobs == 1``) or a process pool of ``jobs`` workers, each set up
    once (:func:`_init_worker`) from ``first``, a task like every one it will run."""

    name = "local"

    def __init__(self, jobs: int, pm: PluginManager, first: TrialTask) -> None:
        self.pm = pm
        self.pool: ProcessPoolExecutor | None = None
        if jobs > 1:
            methods = multiprocessing.get_all_start_methods()
            fork = "fork" in methods
            ctx = multiprocessing.get_context("fork" if fork else "spawn")
            self.pool = ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(pm if fork else None, first),  # a plugin manager does not pickle
            )

    def submit(self, tasks: Sequence[TrialTask]) -> Collect:
        if self.pool is None:
            # run when collected: the study asks the same trials in the same order anyway
            return lambda: [evaluate(t, self.pm) for t in tasks]
        futures = [self.pool.submit(evaluate, t) for t in tasks]
        return lambda: [f.result() for f in futures]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class RayBackend:
    """Ray tasks. Joins a running Ray (``ray.init`` already called, or ``address``) or
    starts a local one with ``jobs`` CPUs, and shuts down only what it started. Workers
    read the data file by path: on a cluster it must exist at that path on every node."""

    name = "ray"

    def __init__(self, jobs: int, address: str | None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError(
                "--backend ray needs the ray package (install gpt-trader-research[ray])"
            ) from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = jobs
            try:
                ray.init(**kwargs)
            except Exception as exc:
                raise UserError(f"cannot start or join Ray: {exc}") from None
            self.started = True
        self.remote = ray.remote(evaluate)

    def submit(self, tasks: Sequence[TrialTask]) -> Collect:
        refs = [self.remote.remote(t) for t in tasks]
        return lambda: list(self.ray.get(refs))

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def make_backend(spec: OptimizeSpec, pm: PluginManager) -> LocalBackend | RayBackend:
    if spec.backend == "ray":
        return RayBackend(spec.jobs, spec.address)
    first = TrialTask(spec.base, spec.base.signals, 0, 0, spec.objective, spec.portfolio)
    return LocalBackend(spec.jobs, pm, first)


# ---- results -------------------------------------------------------------------------------


@dataclass
class TrialRecord:
    number: int
    params: dict[str, Any]
    state: str
    value: float | None
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {
            "number": self.number,
            "params": self.params,
            "state": self.state,
            "value": self.value,
        }
        out.update(self.metrics)
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class FoldResult:
    fold: int
    start: int
    stop: int
    start_ts: int
    end_ts: int
    trials: list[TrialRecord]
    best: TrialRecord | None
    oos: dict[str, Any] | None = None
    oos_range: tuple[int, int, int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fold": self.fold,
            "in_sample": {
                "bars": self.stop - self.start,
                "start": iso(self.start_ts),
                "end": iso(self.end_ts),
            },
            "best": None if self.best is None else self.best.to_json(),
            "complete": sum(1 for t in self.trials if t.state == "COMPLETE"),
            "pruned": sum(1 for t in self.trials if t.state == "PRUNED"),
        }
        if self.oos is not None and self.oos_range is not None:
            a, b, ts0, ts1 = self.oos_range
            out["out_of_sample"] = {"bars": b - a, "start": iso(ts0), "end": iso(ts1), **self.oos}
        return out


@dataclass
class OptimizeResult:
    spec: OptimizeSpec
    study_id: int
    db: Path
    labels: list[str]
    folds: list[FoldResult]
    elapsed_s: float

    @property
    def best(self) -> TrialRecord | None:
        return self.folds[-1].best if self.folds else None

    def to_json(self) -> dict[str, Any]:
        s = self.spec
        out: dict[str, Any] = {
            "study_id": self.study_id,
            "db": str(self.db),
            "data": [str(d) for d in s.portfolio] if s.portfolio else str(s.base.data),
            "symbol": _symbol(s),
            "signals": [a.label() for a in s.base.signals],
            "space": self.labels,
            "objective": s.objective,
            "seed": s.seed,
            "backend": s.backend,
            "jobs": s.jobs,
            "batch": s.batch,
            "trials_per_study": s.trials,
            "elapsed_s": round(self.elapsed_s, 3),
        }
        if s.walk_forward:
            folds = [f.to_json() for f in self.folds]
            oos = [f.oos for f in self.folds if f.oos is not None]
            growth = 1.0
            for o in oos:
                growth *= 1.0 + o["total_return"]
            out["walk_forward"] = {
                "folds": folds,
                "oos_mean_value": sum(o["value"] for o in oos) / len(oos) if oos else None,
                "oos_compounded_return": growth - 1.0 if oos else None,
                "is_mean_value": (
                    sum(f.best.value or 0.0 for f in self.folds if f.best) / len(self.folds)
                    if self.folds
                    else None
                ),
            }
        else:
            fold = self.folds[0]
            out["best"] = None if fold.best is None else fold.best.to_json()
            out["trials"] = [t.to_json() for t in fold.trials]
        return out


# ---- the store -----------------------------------------------------------------------------


def open_db(state_dir: Path) -> sqlite3.Connection:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(state_dir / DB_NAME)
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open {state_dir / DB_NAME}: {exc}") from None
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS studies (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_ts INTEGER NOT NULL,
            data TEXT NOT NULL,
            symbol TEXT NOT NULL,
            signals TEXT NOT NULL,
            space TEXT NOT NULL,
            objective TEXT NOT NULL,
            trials INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            backend TEXT NOT NULL,
            jobs INTEGER NOT NULL,
            batch INTEGER NOT NULL,
            walk_forward INTEGER NOT NULL,
            elapsed_s REAL,
            result TEXT
        );
        CREATE TABLE IF NOT EXISTS trials (
            study_id INTEGER NOT NULL REFERENCES studies(id),
            fold INTEGER NOT NULL,
            phase TEXT NOT NULL,
            number INTEGER NOT NULL,
            params TEXT NOT NULL,
            state TEXT NOT NULL,
            value REAL,
            total_return REAL,
            sharpe REAL,
            calmar REAL,
            max_drawdown REAL,
            trades INTEGER,
            final_equity TEXT,
            fees TEXT,
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            PRIMARY KEY (study_id, fold, phase, number)
        );
        """
    )
    return conn


_INSERT_TRIAL = "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _store_trials(
    conn: sqlite3.Connection,
    study_id: int,
    fold: int,
    phase: str,
    records: Sequence[TrialRecord],
    start_ts: int,
    end_ts: int,
) -> None:
    rows = [
        (
            study_id,
            fold,
            phase,
            r.number,
            json.dumps(r.params, sort_keys=True),
            r.state,
            r.value,
            r.metrics.get("total_return"),
            r.metrics.get("sharpe"),
            r.metrics.get("calmar"),
            r.metrics.get("max_drawdown"),
            r.metrics.get("trades"),
            r.metrics.get("final_equity"),
            r.metrics.get("fees"),
            start_ts,
            end_ts,
        )
        for r in records
    ]
    with conn:
        conn.executemany(_INSERT_TRIAL, rows)


# ---- the search ----------------------------------------------------------------------------


def _labels(spec: OptimizeSpec) -> list[str]:
    names = [s.name for s in spec.base.signals]
    unique = len(set(names)) == len(names)
    return [f"{names[d.target]}.{d.key}" if unique else d.label for d in spec.space]


def _distribution(dim: Dimension) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if dim.kind == "int":
        step = int(dim.step) if dim.step else 1
        if dim.log and step != 1:
            raise UserError(f"--space {dim.key}: a log range cannot have a step")
        return IntDistribution(int(dim.low), int(dim.high), log=dim.log, step=step)
    if dim.kind == "float":
        if dim.log and dim.step:
            raise UserError(f"--space {dim.key}: a log range cannot have a step")
        return FloatDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
    return CategoricalDistribution(list(dim.choices))


def _apply(
    signals: tuple[ComponentArg, ...],
    space: Sequence[Dimension],
    labels: list[str],
    params: dict[str, Any],
) -> tuple[ComponentArg, ...]:
    out = [dict(s.params) for s in signals]
    for dim, label in zip(space, labels, strict=True):
        out[dim.target][dim.key] = params[label]
    return tuple(ComponentArg(s.name, p) for s, p in zip(signals, out, strict=True))


def _invalid(registry: Any, signals: tuple[ComponentArg, ...]) -> str:
    for s in signals:
        try:
            registry.validate(Kind.SIGNAL, s.name, s.params)
        except UserError as exc:
            return str(exc)
    return ""


def _study(
    spec: OptimizeSpec,
    registry: Any,
    backend: LocalBackend | RayBackend,
    labels: list[str],
    start: int,
    stop: int,
    seed: int,
    tick: Callable[[int], None],
) -> tuple[list[TrialRecord], TrialRecord | None]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    dists = {label: _distribution(d) for label, d in zip(labels, spec.space, strict=True)}
    records: list[TrialRecord] = []
    in_flight: deque[tuple[list[Any], list[str], Collect]] = deque()
    left = spec.trials
    while left > 0 or in_flight:
        # Ask (and submit) up to IN_FLIGHT batches ahead of the results: the workers go on
        # to the next batch while the last trials of one finish and while this process
        # tells and asks.
        while left > 0 and len(in_flight) < IN_FLIGHT:
            asked = [study.ask(dists) for _ in range(min(spec.batch, left))]
            left -= len(asked)
            tasks: list[TrialTask] = []
            verdicts: list[str] = []
            for trial in asked:
                signals = _apply(spec.base.signals, spec.space, labels, trial.params)
                why = _invalid(registry, signals)
                verdicts.append(why)
                if not why:
                    tasks.append(
                        TrialTask(spec.base, signals, start, stop, spec.objective, spec.portfolio)
                    )
            in_flight.append((asked, verdicts, backend.submit(tasks)))
        asked, verdicts, collect = in_flight.popleft()
        outcomes = iter(collect())
        for trial, why in zip(asked, verdicts, strict=True):
            if why:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                records.append(
                    TrialRecord(trial.number, dict(trial.params), "PRUNED", None, reason=why)
                )
            else:
                out = next(outcomes)
                study.tell(trial, out["value"])
                metrics = {k: v for k, v in out.items() if k != "value"}
                records.append(
                    TrialRecord(trial.number, dict(trial.params), "COMPLETE", out["value"], metrics)
                )
            tick(1)
    complete = [r for r in records if r.state == "COMPLETE"]
    # Ties go to the earliest trial, as Optuna's best_trial does.
    best = max(complete, key=lambda r: (r.value or 0.0, -r.number)) if complete else None
    return records, best


def _symbol(spec: OptimizeSpec) -> str:
    """What the study is over: the product, or ``portfolio:<profile>``."""
    return f"portfolio:{spec.base.profile}" if spec.portfolio else spec.base.symbol


def run_optimize(
    spec: OptimizeSpec,
    state_dir: Path,
    *,
    pm: PluginManager | None = None,
    progress: Callable[[int], None] | None = None,
) -> OptimizeResult:
    from gpt_trader.registry import Registry

    if spec.objective not in OBJECTIVES:
        raise UserError(
            f"--objective must be one of {', '.join(OBJECTIVES)}, not {spec.objective!r}"
        )
    if spec.backend not in BACKENDS:
        raise UserError(f"--backend must be one of {', '.join(BACKENDS)}, not {spec.backend!r}")
    if not spec.space:
        raise UserError("nothing to search: give at least one --space key=low:high")
    if not spec.base.signals:
        raise UserError("optimize needs --signal (the parameters searched belong to it)")
    pm = pm or make_plugin_manager()
    registry = Registry(pm)
    if spec.portfolio:
        from gpt_trader_research.portfolio import PortfolioSpec, portfolio_config, timeline

        # every other option, and every file, is checked once, up front
        portfolio = PortfolioSpec(spec.base, spec.portfolio)
        series = timeline(portfolio, portfolio_config(portfolio, pm))
    else:
        build_config(spec.base)  # every other option is checked once, up front
        series = load_series(spec.base.data, spec.base.symbol)
    for s in spec.base.signals:
        registry.get(Kind.SIGNAL, s.name)
    labels = _labels(spec)
    dupes = {label for label in labels if labels.count(label) > 1}
    if dupes:
        raise UserError(f"--space names {', '.join(sorted(dupes))} more than once")
    for _ in map(_distribution, spec.space):
        pass
    n = len(series)
    k = spec.walk_forward
    if k:
        bounds = [round(i * n / (k + 1)) for i in range(k + 2)]
        if min(b - a for a, b in itertools.pairwise(bounds)) < 2:
            raise UserError(f"--walk-forward {k}: {n} bars are too few for {k + 1} parts")
        ranges = [(bounds[i - 1], bounds[i], bounds[i], bounds[i + 1]) for i in range(1, k + 1)]
    else:
        ranges = [(0, n, 0, 0)]
    step_ns = series.interval_s * 1_000_000_000

    def ts_range(a: int, b: int) -> tuple[int, int]:
        return series.ts[a], series.ts[b - 1] + step_ns

    conn = open_db(state_dir)
    t0 = time.perf_counter()
    tick = progress or (lambda _n: None)
    backend = make_backend(spec, pm)
    try:
        with conn:
            cur = conn.execute(
                "INSERT INTO studies (created_ts, data, symbol, signals, space, objective, trials,"
                " seed, backend, jobs, batch, walk_forward) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    time.time_ns(),
                    json.dumps([str(d) for d in spec.portfolio])
                    if spec.portfolio
                    else str(spec.base.data),
                    _symbol(spec),
                    json.dumps([a.ref() for a in spec.base.signals]),
                    json.dumps(labels),
                    spec.objective,
                    spec.trials,
                    spec.seed,
                    spec.backend,
                    spec.jobs,
                    spec.batch,
                    k,
                ),
            )
            study_id = int(cur.lastrowid or 0)
        folds: list[FoldResult] = []
        for fold, (a, b, oa, ob) in enumerate(ranges, start=1 if k else 0):
            records, best = _study(spec, registry, backend, labels, a, b, spec.seed + fold, tick)
            ts0, ts1 = ts_range(a, b)
            _store_trials(conn, study_id, fold, "search", records, ts0, ts1)
            result = FoldResult(fold, a, b, ts0, ts1, records, best)
            if k and best is not None:
                signals = _apply(spec.base.signals, spec.space, labels, best.params)
                oos = TrialTask(spec.base, signals, oa, ob, spec.objective, spec.portfolio)
                out = backend.submit([oos])()[0]
                o0, o1 = ts_range(oa, ob)
                result.oos = out
                result.oos_range = (oa, ob, o0, o1)
                oos_record = TrialRecord(best.number, best.params, "COMPLETE", out["value"], out)
                _store_trials(conn, study_id, fold, "oos", [oos_record], o0, o1)
            folds.append(result)
        elapsed = time.perf_counter() - t0
        opt = OptimizeResult(spec, study_id, state_dir / DB_NAME, labels, folds, elapsed)
        with conn:
            conn.execute(
                "UPDATE studies SET elapsed_s = ?, result = ? WHERE id = ?",
                (elapsed, json.dumps(opt.to_json(), default=str), study_id),
            )
    finally:
        backend.close()
        conn.close()
    return opt


def optimize_cli(spec: OptimizeSpec, state_dir: Path, *, progress: bool) -> OptimizeResult:
    if not progress:
        return run_optimize(spec, state_dir)
    from gpt_trader.output import stderr
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = spec.trials * max(1, spec.walk_forward)
    bar = Progress(
        TextColumn("optimize"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("trials"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    task = bar.add_task("trials", total=total)
    with bar:
        return run_optimize(spec, state_dir, progress=lambda n: bar.advance(task, n))


def show_optimize(result: OptimizeResult, console: Any, top: int) -> None:
    from rich.table import Table

    def fmt(x: Any, pct: bool = False) -> str:
        if x is None:
            return "n/a"
        return f"{x * 100:,.2f} %" if pct else f"{x:,.4f}"

    spec = result.spec
    console.print(
        f"study {result.study_id}: {spec.objective} over {', '.join(result.labels)}; "
        f"{spec.trials} trials per study, seed {spec.seed}, backend {spec.backend}, "
        f"{result.elapsed_s:,.1f} s; stored in {result.db}"
    )
    if spec.walk_forward:
        table = Table(
            "Fold",
            "In-sample",
            "Best params",
            "IS value",
            "OOS value",
            "OOS return",
            "OOS trades",
            title="walk-forward",
        )
        for f in result.folds:
            params = (
                "" if f.best is None else ", ".join(f"{k}={v}" for k, v in f.best.params.items())
            )
            oos = f.oos or {}
            table.add_row(
                str(f.fold),
                f"{iso(f.start_ts)[:16]} .. {iso(f.end_ts)[:16]}",
                params,
                fmt(None if f.best is None else f.best.value),
                fmt(oos.get("value")),
                fmt(oos.get("total_return"), pct=True),
                str(oos.get("trades", "")),
            )
        console.print(table)
        wf = result.to_json()["walk_forward"]
        console.print(
            f"out-of-sample: mean {spec.objective} {fmt(wf['oos_mean_value'])}, "
            f"compounded return {fmt(wf['oos_compounded_return'], pct=True)}"
        )
        return
    fold = result.folds[0]
    ranked = sorted(
        (t for t in fold.trials if t.state == "COMPLETE"),
        key=lambda t: (-(t.value or 0.0), t.number),
    )
    table = Table(
        "#",
        *result.labels,
        spec.objective,
        "return",
        "max DD",
        "trades",
        title=f"top {min(top, len(ranked))} of {len(fold.trials)} trials "
        f"({sum(t.state == 'PRUNED' for t in fold.trials)} pruned)",
    )
    for t in ranked[:top]:
        m = t.metrics
        table.add_row(
            str(t.number),
            *(str(t.params[label]) for label in result.labels),
            fmt(t.value),
            fmt(m.get("total_return"), pct=True),
            fmt(m.get("max_drawdown"), pct=True),
            str(m.get("trades")),
        )
    console.print(table)
    if fold.best is not None:
        params = ", ".join(f"{k}={v}" for k, v in fold.best.params.items())
        console.print(
            f"best: trial {fold.best.number}: {params} -> {spec.objective} {fmt(fold.best.value)}"
        )
