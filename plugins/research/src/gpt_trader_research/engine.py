"""Backtests on the live kernel: a profile (or a default one) replayed over a CSV of bars.

The run is what ``gpt-trader run`` would assemble, with three things swapped: the broker is
the ``sim`` broker (fill at the next bar's open, or at the close), the feed is the bars,
and the store is off (``durable=False``). Signals, voter, filters, sizer and guards are the
ones the profile names, so a backtest trades through the same kernel, guards and sizers as
live. The replay driver's vectorised path is used when every signal can ``compute()`` over
the whole series and nothing needs every bar (no runtime guards); otherwise every bar goes
through the kernel.

Futures and perpetuals (e.g. ``BTC-PERP-INTX``, ``BIT-28NOV26-CDE``, the bars being those of
the underlying): the cash is the collateral of the product's margin pool (INTX in USDC, CFM
in USD) and the run's quote currency is the product's; orders carry the ``[run] leverage``
and ``margin_type`` (or ``--leverage`` / ``--margin-type``) and the all-in sizer sizes to
that leverage. Every bar goes through the kernel (funding, liquidations and expiry happen
on bars where the strategy does nothing), and the result has a ``derivatives`` part (see
:mod:`gpt_trader_research.derivatives`).
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.config import BotConfig, load_config
from gpt_trader.config.profiles import describe_validation_error
from gpt_trader.domain import Candle, Fill, GuardTrip, Product, ProductType
from gpt_trader.domain.bars import BarSeries
from gpt_trader.engine.exits import exit_reason
from gpt_trader.engine.kernel import Kernel
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager, make_plugin_manager
from gpt_trader.sim.broker import SimBroker
from pydantic import ValidationError

from gpt_trader_research import incidents
from gpt_trader_research.columns import read_columns
from gpt_trader_research.components import Recorder
from gpt_trader_research.derivatives import MarginWatch, derivatives_report
from gpt_trader_research.results import (
    Curve,
    RoundTrip,
    Units,
    equity_curve,
    iso,
    reported_stats,
    round_trips,
    statistics,
)
from gpt_trader_research.specs import ComponentArg

ZERO = Decimal(0)
DEFAULT_CASH = Decimal(100_000)
DEFAULT_TAKER_BPS = Decimal(60)
DEFAULT_MAKER_BPS = Decimal(40)
RECORDER = "research.recorder"
ALL_IN = "all_in"


@dataclass(frozen=True)
class BacktestSpec:
    """What to backtest. ``None`` means: the profile's value, else the default."""

    data: Path
    symbol: str
    signals: tuple[ComponentArg, ...] = ()
    voter: ComponentArg | None = None
    profile: str | None = None
    cash: Decimal | None = None
    fee_bps: Decimal | None = None
    slippage_bps: Decimal = Decimal(0)
    fill: str = "next_open"
    volume_participation: Decimal | None = None
    leverage: Decimal | None = None
    margin_type: str | None = None
    # ``--entry MODE[:key=value,...]``: the [execution] section (entry mode and its params)
    entry: ComponentArg | None = None
    # ``[exits]`` percentages (None: the profile's, else none)
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    trailing_pct: Decimal | None = None
    max_hold: str | None = None  # a duration, "2h"
    roi: dict[str, str] | None = None  # minutes held -> minimum return in percent


# ``--entry`` params and the [execution] keys they set (``timeout=5m`` is a duration).
ENTRY_KEYS = {
    "offset_bps": "offset_bps",
    "timeout": "timeout_s",
    "timeout_s": "timeout_s",
    "reprice": "reprice",
    "max_reprices": "max_reprices",
    "on_partial": "on_partial",
    "fill_on_touch": "fill_on_touch",
}


def execution_section(spec: BacktestSpec, base: BotConfig | None) -> dict[str, Any]:
    """The profile's [execution] (if any), with ``--entry`` over it."""
    section = base.execution.model_dump(mode="json") if base is not None else {}
    if spec.entry is None:
        return section
    section["entry"] = spec.entry.name
    for key, value in spec.entry.params.items():
        if key not in ENTRY_KEYS:
            raise UserError(
                f"--entry {spec.entry.label()}: unknown parameter {key!r} "
                f"(use {', '.join(ENTRY_KEYS)})"
            )
        section[ENTRY_KEYS[key]] = value
    return section


class BarsFeed:
    """A replayable, series-capable feed over bars already in memory (one symbol)."""

    def __init__(self, series: BarSeries) -> None:
        self.series = series

    def _check(self, symbols: Sequence[str]) -> None:
        if self.series.symbol not in symbols:
            raise UserError(f"the bars are for {self.series.symbol}, not {', '.join(symbols)}")

    def bar_series(self, symbols: Sequence[str]) -> list[BarSeries]:
        self._check(symbols)
        return [self.series]

    def events(self, symbols: Sequence[str]) -> Iterator[Candle]:
        self._check(symbols)
        series = self.series
        for i in range(len(series)):
            yield series.candle(i)


_SERIES_CACHE: dict[tuple[str, str, int, float], BarSeries] = {}


def load_series(path: Path, symbol: str) -> BarSeries:
    """Parse a candle CSV once per process (keyed by path, size and mtime); a
    ``catalog:BTC-USD@1m`` reference reads the data catalogue."""
    from gpt_trader.sim.csvfeed import CsvCandleFeed

    from gpt_trader_research import catalog

    if catalog.is_ref(path):
        root, name, gran = catalog.parse_ref(str(path))
        if name != symbol:
            raise UserError(f"--data {path} holds {name}'s bars, not {symbol}'s")
        return catalog.read_bars(root, symbol, gran)
    path = Path(path).expanduser()
    if path.suffix.lower() in (".parquet", ".pq"):
        raise UserError(f"{path}: parquet is not supported by backtest; use a CSV file")
    feed = CsvCandleFeed(path, symbol)  # a missing file is a UserError here
    stat = path.stat()
    key = (str(path.resolve()), symbol, stat.st_size, stat.st_mtime)
    cached = _SERIES_CACHE.get(key)
    if cached is None:
        # Column-wise when it reads the file exactly as the row parser would; else the row
        # parser, which also names the line of a bad row.
        cached = read_columns(path, symbol) or feed.series()
        _SERIES_CACHE[key] = cached
    return cached


def slice_series(series: BarSeries, start: int, stop: int) -> BarSeries:
    """Bars ``[start, stop)`` as a new series (the lists are copied, the rows shared)."""
    return BarSeries(
        series.symbol,
        series.interval_s,
        series.ts[start:stop],
        series.open[start:stop],
        series.high[start:stop],
        series.low[start:stop],
        series.close[start:stop],
        series.volume[start:stop],
        series.raw[start:stop],
    )


def _ref(ref: Any) -> dict[str, Any]:
    return {"use": ref.use, **ref.params}


def config_json(c: BotConfig) -> dict[str, Any]:
    """The components a backtest ran with, as ``--json`` reports them."""
    return {
        "profile": c.profile.name,
        "signals": [_ref(r) for r in c.signals],
        "voter": _ref(c.voter),
        "filters": [_ref(r) for r in c.filters],
        "sizer": _ref(c.sizer),
        "guards": [_ref(r) for r in c.guards],
        "broker": _ref(c.broker),
    }


def _pool(symbol: str, pm: PluginManager | None) -> tuple[str, str] | None:
    """For a future or perpetual a product catalogue describes (``register_products``): the
    sim broker param that funds its margin pool (``futures_cash`` for a FUTURE,
    ``perps_cash`` for a PERPETUAL, as the sim broker maps them to pools) and the pool's
    currency (the product's quote). None for anything else (the assembly checks the
    symbol)."""
    from gpt_trader.registry import Registry
    from gpt_trader.sim.products import DEV_UNIVERSE, default_products

    if symbol in DEV_UNIVERSE:
        return None
    catalogues = Registry(pm or make_plugin_manager()).catalogues()
    try:
        product = default_products([symbol], catalogues)[symbol]
    except UserError:
        return None
    if not product.is_derivative:
        return None
    param = "futures_cash" if product.product_type is ProductType.FUTURE else "perps_cash"
    return param, product.quote


def build_config(spec: BacktestSpec, pm: PluginManager | None = None) -> BotConfig:
    """The profile for this backtest (see the module docstring); ``pm`` gives the product
    catalogues a derivative symbol is looked up in (the installed plugins' by default)."""
    base = load_config(spec.profile) if spec.profile else None
    pool = _pool(spec.symbol, pm)
    run = base.run if base is not None else None
    leverage, margin_type = spec.leverage, spec.margin_type
    if run is not None:
        leverage = run.leverage if leverage is None else leverage
        margin_type = margin_type or run.margin_type
    signals = [s.ref() for s in spec.signals]
    if not signals and base is not None:
        signals = [_ref(r) for r in base.signals]
    if not signals:
        raise UserError(
            "nothing to trade on: give at least one --signal (or a --profile with signals)"
        )
    broker_base: dict[str, Any] = {}
    if base is not None and base.broker.use == "sim":
        broker_base = base.broker.params
    maker = spec.fee_bps if spec.fee_bps is not None else broker_base.get("maker_fee_bps")
    taker = spec.fee_bps if spec.fee_bps is not None else broker_base.get("taker_fee_bps")
    taker_bps = Decimal(str(taker)) if taker is not None else DEFAULT_TAKER_BPS
    cash_key = pool[0] if pool is not None else "starting_cash"
    cash = broker_base.get(cash_key, broker_base.get("starting_cash", DEFAULT_CASH))
    if spec.cash is not None:
        cash = spec.cash
    if spec.fill not in ("next_open", "close"):
        raise UserError(f"--fill must be next_open or close, not {spec.fill!r}")
    broker: dict[str, Any] = {
        "use": "sim",
        # a derivative trades on its pool's collateral only: no spot wallet to count
        "starting_cash": "0" if pool is not None else str(cash),
        "maker_fee_bps": str(maker if maker is not None else DEFAULT_MAKER_BPS),
        "taker_fee_bps": str(taker_bps),
        "market_fill": "next_open" if spec.fill == "next_open" else "immediate",
        "slippage_bps": str(spec.slippage_bps),
        "persist": False,
    }
    if pool is not None:
        broker[cash_key] = str(cash)
    if spec.volume_participation is not None:
        broker["volume_participation"] = str(spec.volume_participation)
    if base is not None and "sizer" in base.model_fields_set:
        sizer = _ref(base.sizer)
    else:
        # Room for the fee and the slippage the sim broker holds against the cash at submit.
        sizer = {"use": ALL_IN, "fee_bps": str(taker_bps), "buffer_bps": str(spec.slippage_bps)}
        if pool is not None and leverage is not None:
            sizer["leverage"] = str(leverage)
    if spec.voter is not None:
        voter = spec.voter.ref()
    elif base is not None:
        voter = _ref(base.voter)
    else:
        voter = {"use": "majority"}
    quote = run.quote_currency if run is not None else "USD"
    data: dict[str, Any] = {
        "profile": {
            "name": base.profile.name if base is not None else "backtest",
            "mode": "sim",
            "universe": [spec.symbol],
            "seed": base.profile.seed if base is not None else 0,
        },
        "broker": broker,
        "feed": {"use": "csv", "path": str(spec.data), "symbol": spec.symbol},
        "signals": signals,
        "voter": voter,
        "filters": [_ref(r) for r in base.filters] if base is not None else [],
        "sizer": sizer,
        "guards": [_ref(r) for r in base.guards] if base is not None else [],
        "sinks": [{"use": RECORDER}],
        "run": {
            "record_market": False,
            "on_stop": "cancel",
            "allow_short": run.allow_short if run is not None else False,
            "guard_interval_s": run.guard_interval_s if run is not None else 1.0,
            # a derivative's cash is its pool's, in the product's quote (USDC for INTX)
            "quote_currency": pool[1] if pool is not None else quote,
            "leverage": None if leverage is None else str(leverage),
            "margin_type": margin_type,
        },
        "execution": execution_section(spec, base),
        "exits": _exits(spec, base),
        "logging": {"level": "WARNING"},
    }
    try:
        return BotConfig(**data)
    except ValidationError as exc:
        raise UserError(f"backtest: {describe_validation_error(exc)}") from None


def _exits(spec: BacktestSpec, base: BotConfig | None) -> dict[str, Any]:
    """``[exits]``: the flags win over the profile's section."""
    exits = base.exits.model_dump(exclude_none=True) if base is not None else {}
    for key, value in (
        ("stop_loss_pct", spec.stop_loss_pct),
        ("take_profit_pct", spec.take_profit_pct),
        ("trailing_pct", spec.trailing_pct),
    ):
        if value is not None:
            exits[key] = str(value)
    if spec.max_hold is not None:
        exits["max_hold"] = spec.max_hold
    if spec.roi is not None:
        exits["roi"] = spec.roi
    return exits


@dataclass
class BacktestResult:
    """Everything a backtest reports; ``to_json`` is the ``--json`` form.

    The figures here are exact; ``to_json`` and the reports round each one where it is
    printed (:attr:`units`). ``reconciliation`` says how the printed trades add up to the
    printed equity change.
    """

    spec: BacktestSpec
    config: BotConfig
    product: Product
    bars: BarSeries
    path: str
    kernel_bars: int
    elapsed_s: float
    starting_cash: Decimal
    final_equity: Decimal
    fees: Decimal
    trips: list[RoundTrip]
    curve: Curve
    stats: dict[str, Any]
    summary: dict[str, Any]
    recorder: Recorder
    trips_by_guards: list[GuardTrip] = field(default_factory=list)
    derivatives: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run formats its main task (and so this, its result) when
        # it restores the SIGINT handler; the default dataclass repr would print every bar.
        return (
            f"BacktestResult({self.bars.symbol}, {len(self.bars)} bars, "
            f"final_equity={self.final_equity}, trades={len(self.trips)})"
        )

    @property
    def fills(self) -> list[Any]:
        return [e.fill for e in self.recorder.fills]

    @property
    def bars_per_s(self) -> float:
        return len(self.bars) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def units(self) -> Units:
        return Units.of(self.product)

    def reconciliation(self) -> dict[str, str]:
        """Printed starting cash + the printed trades' P&L + funding + ``rounding`` = printed
        final equity, to the cent. Each trade's P&L is its exact value rounded half-even,
        so their sum can miss the equity change by up to half a cent per rounded figure;
        ``rounding`` is that gap, stated rather than spread over the trades."""
        u = self.units
        start, final = u.round_cash(self.starting_cash), u.round_cash(self.final_equity)
        trades = sum((u.round_cash(t.pnl) for t in self.trips), ZERO)
        funding = u.round_cash(sum((e.payment.amount for e in self.recorder.funding), ZERO))
        return {
            "starting_cash": u.cash(start),
            "trades_pnl": u.cash(trades),
            "funding": u.cash(funding),
            "rounding": u.cash(final - start - trades - funding),
            "final_equity": u.cash(final),
        }

    def guard_trips(self) -> list[dict[str, Any]]:
        return incidents.guard_trips(self.trips_by_guards, self.bars.symbol)

    def guard_warnings(self) -> list[dict[str, Any]]:
        return incidents.guard_warnings(self.recorder.trips, self.bars.symbol)

    def rejections(self) -> list[dict[str, Any]]:
        return incidents.rejections(self.recorder.rejections, self.units)

    def to_json(self, *, with_trades: bool = True) -> dict[str, Any]:
        bars = self.bars
        c = self.config
        u = self.units
        out: dict[str, Any] = {
            "data": str(self.spec.data),
            "symbol": bars.symbol,
            "bars": len(bars),
            "interval_s": bars.interval_s,
            "start": iso(bars.ts[0]) if len(bars) else None,
            "end": iso(bars.ts[-1] + bars.interval_s * 1_000_000_000) if len(bars) else None,
            "path": self.path,
            "kernel_bars": self.kernel_bars,
            "elapsed_s": round(self.elapsed_s, 6),
            "bars_per_s": round(self.bars_per_s, 1),
            "config": config_json(c),
            "currency": u.currency,
            "starting_cash": u.cash(self.starting_cash),
            "final_equity": u.cash(self.final_equity),
            "fees": u.cash(self.fees),
            "reconciliation": self.reconciliation(),
            "stats": reported_stats(self.stats, u),
            "orders": self.summary.get("orders", 0),
            "orders_by_status": self.summary.get("orders_by_status", {}),
            "fills": self.summary.get("fills", 0),
            "decisions": self.summary.get("decisions", 0),
            "trading_state": self.summary.get("trading_state", ""),
            "guard_trips": self.guard_trips(),
            "guard_warnings": self.guard_warnings(),
            "rejections": self.rejections(),
            "component_failures": [
                {"component": f.component, "error": f.error} for f in self.recorder.failures
            ],
            "derivatives": self.derivatives,
        }
        if with_trades:
            out["trades"] = [t.to_json(u) for t in self.trips]
        out.update(self.extra)
        return out


Progress = Callable[[int, int], None]


def with_progress(
    events: Iterator[Candle], total: int, progress: Progress | None
) -> Iterator[Candle]:
    if progress is None:
        yield from events
        return
    step = max(1, total // 200)
    for i, event in enumerate(events, start=1):
        if i % step == 0:
            progress(i, total)
        yield event
    progress(total, total)


async def run_backtest_async(
    spec: BacktestSpec,
    pm: PluginManager | None = None,
    *,
    series: BarSeries | None = None,
    progress: Progress | None = None,
    config: BotConfig | None = None,
    vectorise: bool = True,
) -> BacktestResult:
    """Run one backtest. ``series`` (bars already loaded) wins over ``spec.data``."""
    with _collector_paused():
        return await _run_backtest(spec, pm, series, progress, config, vectorise)


async def _run_backtest(
    spec: BacktestSpec,
    pm: PluginManager | None,
    series: BarSeries | None,
    progress: Progress | None,
    config: BotConfig | None,
    vectorise: bool,
) -> BacktestResult:
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.runtime.replay import can_vectorise, run_events, run_series

    pm = pm or make_plugin_manager()
    config = config or build_config(spec, pm)
    if series is None:
        series = load_series(spec.data, spec.symbol)
    elif series.symbol != spec.symbol:
        raise UserError(f"the bars are for {series.symbol}, not {spec.symbol}")
    if not len(series):
        raise UserError(f"{spec.data}: no bars to backtest")
    feed = BarsFeed(series)
    with tempfile.TemporaryDirectory(prefix="gpt-trader-backtest-") as tmp:
        runtime = await assemble(
            config, pm, Path(tmp), replay=True, durable=False, feed_override=feed
        )
        kernel = runtime.kernel
        product = kernel.products[spec.symbol]
        recorder = next(s for s in kernel.parts.sinks if isinstance(s, Recorder))
        recorder.kernel = kernel
        watch = _margin_watch(kernel, spec.symbol) if product.is_derivative else None
        t0 = time.perf_counter()
        await start(runtime, hooks=False)
        reason = "error"
        try:
            # A derivative needs every bar: funding, margin and expiry do not wait for signals.
            if vectorise and watch is None and can_vectorise(kernel, [series]):
                stats = await run_series(kernel, runtime.clock, series)
            else:
                events = with_progress(feed.events([spec.symbol]), len(series), progress)
                if watch is not None:
                    events = watch.watch(events)
                stats = await run_events(
                    kernel, runtime.clock, events, guard_interval_s=config.run.guard_interval_s
                )
            reason = "end_of_data"
        finally:
            summary = await finish(runtime, reason, hooks=False)
        elapsed = time.perf_counter() - t0
    fills = [e.fill for e in recorder.fills]
    starting = kernel.ledger.starting_equity
    final = kernel.ledger.equity
    fees = kernel.ledger.fees
    orders = kernel.orders

    def why(fill: Fill) -> str:
        return exit_reason(orders.get(fill.client_order_id), fill.price).value

    arrived = {e.fill.trade_id: e.ts for e in recorder.fills}
    trips = round_trips(fills, series, product.contract_size, why, arrived)
    funding = [e.payment for e in recorder.funding]
    curve = equity_curve(fills, series, starting, product.contract_size, funding)
    stats_out = statistics(curve, series, trips, starting, final, fees)
    return BacktestResult(
        spec=spec,
        config=config,
        product=product,
        bars=series,
        path=stats.path,
        kernel_bars=stats.kernel_bars,
        elapsed_s=elapsed,
        starting_cash=starting,
        final_equity=final,
        fees=fees,
        trips=trips,
        curve=curve,
        stats=stats_out,
        summary=summary,
        recorder=recorder,
        trips_by_guards=list(kernel.guard_trips),
        derivatives=(
            None if watch is None else derivatives_report(product, kernel, recorder, watch)
        ),
    )


_paused = 0
_paused_lock = threading.Lock()
_thresholds = gc.get_threshold()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Everything alive before the run (modules, plugins, the bars) outlives it, and the run
    makes few reference cycles: the cyclic collector walking the old objects again and
    again took a third of a backtest. Freeze them and collect young objects less often for
    the run; the first run in sets this, the last one out restores it."""
    global _paused, _thresholds
    with _paused_lock:
        if not _paused:
            _thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_thresholds[0], 20_000), *_thresholds[1:])
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if not _paused:
                gc.set_threshold(*_thresholds)
                gc.unfreeze()


def _margin_watch(kernel: Kernel, symbol: str) -> MarginWatch:
    broker = kernel.parts.broker
    if not isinstance(broker, SimBroker):
        raise UserError("a backtest of futures or perpetuals needs the sim broker")
    return MarginWatch(broker.exchange, kernel, symbol)


def run_backtest(spec: BacktestSpec, pm: PluginManager | None = None, **kw: Any) -> BacktestResult:
    """Synchronous wrapper of :func:`run_backtest_async` (not from a running event loop)."""
    return asyncio.run(run_backtest_async(spec, pm, **kw))
