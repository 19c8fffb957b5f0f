"""Portfolio backtests: a profile's whole universe replayed, time-aligned, through one kernel.

The run is the single-product backtest's (:mod:`gpt_trader_research.engine`: the profile's
signals, voter, filters, sizer, guards and exits, the sim broker, no store) with the
profile's universe instead of one symbol. Every product's bars are merged into one stream
in time order (bars closing together go in the universe's order) and fed event by event,
as ``gpt-trader run`` feeds the kernel live: one cash, one ledger, so the guards that look
across products (exposure, correlation, notional caps, daily loss, drawdown) judge each
order against every position, as they do live.

The report (:class:`PortfolioResult`) has the portfolio's equity, drawdown and gross
exposure over the merged timeline, each product's contribution, and each product's trades
and statistics. A product's statistics are those of its own book on the whole starting cash
(its P&L added to the starting cash), so its ``total_return`` is its contribution to the
portfolio's return.
"""

from __future__ import annotations

import asyncio
import bisect
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from gpt_trader.config import BotConfig, load_config
from gpt_trader.domain import Candle, Fill, GuardTrip, Product
from gpt_trader.domain.bars import BarSeries
from gpt_trader.engine.exits import exit_reason
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager, make_plugin_manager

from gpt_trader_research import incidents
from gpt_trader_research.components import Recorder
from gpt_trader_research.engine import (
    BacktestSpec,
    Progress,
    _pool,
    build_config,
    config_json,
    slice_series,
    with_progress,
)
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
from gpt_trader_research.universe import load_universe

ZERO = Decimal(0)
NS = 1_000_000_000
CURVE_POINTS = 1_000  # points of the curves in --json (the HTML report plots more)
PORTFOLIO = "portfolio"  # the symbol a runtime guard's trip is reported under


@dataclass(frozen=True)
class PortfolioSpec:
    """A portfolio backtest: ``base`` is every setting a single-product backtest takes
    (its ``data`` and ``symbol`` are unused), ``data`` what ``--data`` named."""

    base: BacktestSpec
    data: tuple[Path, ...]

    def symbols(self) -> list[str]:
        """The profile's universe."""
        if self.base.profile is None:
            raise UserError("a portfolio backtest needs --profile (its universe is the products)")
        return list(load_config(self.base.profile).profile.universe)


def refuse_derivatives(symbols: Sequence[str], pm: PluginManager | None = None) -> None:
    derivatives = [s for s in symbols if _pool(s, pm) is not None]
    if derivatives:
        raise UserError(
            f"{', '.join(derivatives)}: futures and perpetuals backtest one at a time "
            "(--symbol), not in a portfolio"
        )


def portfolio_config(spec: PortfolioSpec, pm: PluginManager | None = None) -> BotConfig:
    """The single-product backtest's profile (see :func:`build_config`) on the whole universe."""
    symbols = spec.symbols()
    refuse_derivatives(symbols, pm)
    config = build_config(replace(spec.base, symbol=symbols[0]), pm)
    profile = config.profile.model_copy(update={"universe": symbols})
    return config.model_copy(update={"profile": profile})


class UniverseFeed:
    """Every product's bars as one replayable stream, in time order."""

    def __init__(self, bars: Mapping[str, BarSeries]) -> None:
        self.bars = dict(bars)

    def __len__(self) -> int:
        return sum(len(s) for s in self.bars.values())

    def events(self, symbols: Sequence[str]) -> Iterator[Candle]:
        series = [self.bars[s] for s in symbols]
        ts = np.concatenate([np.asarray(s.ts, dtype=np.int64) for s in series])
        which = np.concatenate([np.full(len(s), k, dtype=np.int64) for k, s in enumerate(series)])
        at = np.concatenate([np.arange(len(s), dtype=np.int64) for s in series])
        # by open time (one granularity: the same order as close time), then universe order
        order = np.lexsort((which, ts))
        for k, i in zip(which[order].tolist(), at[order].tolist(), strict=True):
            yield series[k].candle(i)


@dataclass
class ProductResult:
    """One product's part of a portfolio backtest."""

    product: Product
    bars: BarSeries
    fills: list[Fill]
    trips: list[RoundTrip]
    curve: Curve
    stats: dict[str, Any]
    pnl: Decimal
    fees: Decimal

    @property
    def units(self) -> Units:
        return Units.of(self.product)

    def to_json(self, *, with_trades: bool = True) -> dict[str, Any]:
        u, bars = self.units, self.bars
        out: dict[str, Any] = {
            "symbol": bars.symbol,
            "bars": len(bars),
            "start": iso(bars.ts[0]),
            "end": iso(bars.ts[-1] + bars.interval_s * NS),
            "pnl": u.cash(self.pnl),
            "fees": u.cash(self.fees),
            "fills": len(self.fills),
            "stats": reported_stats(self.stats, u),
        }
        if with_trades:
            out["trades"] = [t.to_json(u) for t in self.trips]
        return out


@dataclass
class PortfolioCurve:
    """The portfolio over the merged timeline (every bar close of any product): equity,
    drawdown and gross exposure (the sum of the positions' absolute values at their last
    close), as floats for statistics and plots."""

    close_ts: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray
    exposure: np.ndarray


@dataclass
class PortfolioResult:
    spec: PortfolioSpec
    config: BotConfig
    products: dict[str, ProductResult]
    curve: PortfolioCurve
    stats: dict[str, Any]
    kernel_bars: int
    path: str
    elapsed_s: float
    starting_cash: Decimal
    final_equity: Decimal
    fees: Decimal
    summary: dict[str, Any]
    recorder: Recorder
    trips_by_guards: list[GuardTrip] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Short on purpose (asyncio.run may format the result; the default repr prints bars).
        return (
            f"PortfolioResult({len(self.products)} products, {self.bars} bars, "
            f"final_equity={self.final_equity})"
        )

    @property
    def bars(self) -> int:
        return sum(len(p.bars) for p in self.products.values())

    @property
    def bars_per_s(self) -> float:
        return self.bars / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def units(self) -> Units:
        """The portfolio's money: the quote currency's increment (prices are per product)."""
        quote = self.config.run.quote_currency
        return Units(Decimal(1), Decimal(1), quote)

    @property
    def interval_s(self) -> int:
        return next(iter(self.products.values())).bars.interval_s

    def contribution(self) -> list[dict[str, Any]]:
        """Each product's P&L (its trades', an open one marked at its last close), its
        share of the portfolio's change and its return on the starting cash."""
        u = self.units
        change = self.final_equity - self.starting_cash
        return [
            {
                "symbol": s,
                "pnl": u.cash(p.pnl),
                "share": float(p.pnl / change) if change else None,
                "return": float(p.pnl / self.starting_cash) if self.starting_cash else 0.0,
                "trades": p.stats["trades"],
                "fees": u.cash(p.fees),
            }
            for s, p in self.products.items()
        ]

    def reconciliation(self) -> dict[str, str]:
        """Printed starting cash + every printed trade's P&L + ``rounding`` = printed final
        equity (as :meth:`BacktestResult.reconciliation`, over every product)."""
        u = self.units
        start, final = u.round_cash(self.starting_cash), u.round_cash(self.final_equity)
        trades = sum((u.round_cash(t.pnl) for p in self.products.values() for t in p.trips), ZERO)
        return {
            "starting_cash": u.cash(start),
            "trades_pnl": u.cash(trades),
            "funding": u.cash(ZERO),  # spot only: no funding (the single backtest's shape)
            "rounding": u.cash(final - start - trades),
            "final_equity": u.cash(final),
        }

    def guard_trips(self) -> list[dict[str, Any]]:
        return incidents.guard_trips(self.trips_by_guards, PORTFOLIO)

    def guard_warnings(self) -> list[dict[str, Any]]:
        return incidents.guard_warnings(self.recorder.trips, PORTFOLIO)

    def rejections(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for symbol, p in self.products.items():
            mine = [e for e in self.recorder.rejections if e.request.symbol == symbol]
            out += incidents.rejections(mine, p.units)
        return sorted(out, key=lambda r: r["time"])

    def curve_json(self, points: int = CURVE_POINTS) -> dict[str, list[Any]]:
        c = self.curve
        n = len(c.close_ts)
        pick: list[int] = np.unique(np.linspace(0, n - 1, min(n, points)).astype(int)).tolist()
        u = self.units
        return {
            "time": [iso(int(c.close_ts[i])) for i in pick],
            "equity": [u.cash(Decimal(repr(float(c.equity[i])))) for i in pick],
            "drawdown": [round(float(c.drawdown[i]), 6) for i in pick],
            "exposure": [u.cash(Decimal(repr(float(c.exposure[i])))) for i in pick],
        }

    def to_json(self, *, with_trades: bool = True) -> dict[str, Any]:
        c = self.config
        u = self.units
        first = min(p.bars.ts[0] for p in self.products.values())
        last = max(p.bars.ts[-1] for p in self.products.values())

        out: dict[str, Any] = {
            "data": [str(d) for d in self.spec.data],
            "symbols": list(self.products),
            "bars": self.bars,
            "interval_s": self.interval_s,
            "start": iso(first),
            "end": iso(last + self.interval_s * NS),
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
            "contribution": self.contribution(),
            "orders": self.summary.get("orders", 0),
            "fills": self.summary.get("fills", 0),
            "decisions": self.summary.get("decisions", 0),
            "trading_state": self.summary.get("trading_state", ""),
            "guard_trips": self.guard_trips(),
            "guard_warnings": self.guard_warnings(),
            "rejections": self.rejections(),
            "component_failures": [
                {"component": f.component, "error": f.error} for f in self.recorder.failures
            ],
            "curve": self.curve_json(),
            "products": {s: p.to_json(with_trades=with_trades) for s, p in self.products.items()},
        }
        out.update(self.extra)
        return out


async def run_portfolio_async(
    spec: PortfolioSpec,
    pm: PluginManager | None = None,
    *,
    bars: Mapping[str, BarSeries] | None = None,
    progress: Progress | None = None,
    config: BotConfig | None = None,
    vectorise: bool = True,
) -> PortfolioResult:
    """Run one portfolio backtest. ``bars`` (already loaded) win over ``spec.data``;
    ``vectorise=False`` keeps the event path (every bar through the kernel)."""
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.runtime.replay import run_events

    from gpt_trader_research.portfolio_replay import fewer_collections, run_universe, why_not

    pm = pm or make_plugin_manager()
    config = config or portfolio_config(spec, pm)
    symbols = list(config.profile.universe)
    if bars is None:
        bars = load_universe(spec.data, symbols)
    empty = [s for s in symbols if not len(bars[s])]
    if empty:
        raise UserError(f"no bars for {', '.join(empty)} in this time range")
    feed = UniverseFeed(bars)
    with tempfile.TemporaryDirectory(prefix="gpt-trader-portfolio-") as tmp:
        runtime = await assemble(
            config, pm, Path(tmp), replay=True, durable=False, feed_override=feed
        )
        kernel = runtime.kernel
        recorder = next(s for s in kernel.parts.sinks if isinstance(s, Recorder))
        recorder.kernel = kernel
        t0 = time.perf_counter()
        await start(runtime, hooks=False)
        reason = "error"
        try:
            interval = config.run.guard_interval_s
            with fewer_collections():
                if vectorise and not why_not(kernel, bars):
                    replayed = await run_universe(
                        kernel, runtime.clock, bars, symbols, guard_interval_s=interval
                    )
                    if progress is not None:
                        progress(len(feed), len(feed))
                else:
                    events = with_progress(feed.events(symbols), len(feed), progress)
                    replayed = await run_events(
                        kernel, runtime.clock, events, guard_interval_s=interval
                    )
            reason = "end_of_data"
        finally:
            summary = await finish(runtime, reason, hooks=False)
        elapsed = time.perf_counter() - t0
    starting = kernel.ledger.starting_equity
    orders = kernel.orders

    def why(fill: Fill) -> str:
        return exit_reason(orders.get(fill.client_order_id), fill.price).value

    arrived = {e.fill.trade_id: e.ts for e in recorder.fills}
    products = {
        s: _product(kernel.products[s], bars[s], recorder, starting, why, arrived) for s in symbols
    }
    curve = _portfolio_curve(products, starting)
    final = kernel.ledger.equity
    fees = kernel.ledger.fees
    trips = [t for p in products.values() for t in p.trips]
    timeline = _timeline_series(curve, next(iter(bars.values())).interval_s)
    curve_for_stats = Curve(curve.equity, curve.exposure, curve.drawdown, curve.equity)
    stats = statistics(curve_for_stats, timeline, trips, starting, final, fees)
    # buy & hold of the portfolio: the products' own, equally weighted
    stats["buy_and_hold_return"] = float(
        np.mean([p.stats["buy_and_hold_return"] for p in products.values()])
    )
    return PortfolioResult(
        spec=spec,
        config=config,
        products=products,
        curve=curve,
        stats=stats,
        kernel_bars=replayed.kernel_bars,
        path=replayed.path,
        elapsed_s=elapsed,
        starting_cash=starting,
        final_equity=final,
        fees=fees,
        summary=summary,
        recorder=recorder,
        trips_by_guards=list(kernel.guard_trips),
    )


def _product(
    product: Product,
    series: BarSeries,
    recorder: Recorder,
    starting: Decimal,
    why: Callable[[Fill], str],
    arrived: dict[str, int],
) -> ProductResult:
    fills = [e.fill for e in recorder.fills if e.fill.symbol == series.symbol]
    trips = round_trips(fills, series, product.contract_size, why, arrived)
    curve = equity_curve(fills, series, starting, product.contract_size)
    pnl = sum((t.pnl for t in trips), ZERO)
    fees = sum((f.fee for f in fills), ZERO)
    stats = statistics(curve, series, trips, starting, starting + pnl, fees)
    return ProductResult(product, series, fills, trips, curve, stats, pnl, fees)


def _portfolio_curve(products: Mapping[str, ProductResult], starting: Decimal) -> PortfolioCurve:
    """Each product's P&L and position value, carried forward from its last close, summed
    over the union of every product's bar closes."""
    closes = []
    for p in products.values():
        closes.append(np.asarray(p.bars.ts, dtype=np.int64) + p.bars.interval_s * NS)
    timeline = np.unique(np.concatenate(closes))
    start = float(starting)
    pnl = np.zeros(len(timeline))
    exposure = np.zeros(len(timeline))
    for p, close_ts in zip(products.values(), closes, strict=True):
        at = np.searchsorted(close_ts, timeline, side="right") - 1
        seen = at >= 0
        idx = np.clip(at, 0, None)
        unit = float(p.product.contract_size)
        pnl += np.where(seen, p.curve.equity[idx] - start, 0.0)
        exposure += np.where(seen, np.abs(p.curve.position[idx] * p.curve.close[idx] * unit), 0.0)
    equity = start + pnl
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, equity / peak - 1.0, 0.0)
    return PortfolioCurve(timeline, equity, drawdown, exposure)


def _timeline_series(curve: PortfolioCurve, interval_s: int) -> BarSeries:
    """The merged timeline as a series (open times; the close is the portfolio's equity),
    which is what :func:`statistics` reads time and buy & hold from."""
    opens = (curve.close_ts - interval_s * NS).tolist()
    eq = curve.equity.tolist()
    return BarSeries(PORTFOLIO, interval_s, opens, eq, eq, eq, eq, [0.0] * len(eq), [])


_UNIVERSE_CACHE: dict[tuple[Any, ...], dict[str, BarSeries]] = {}


def cached_universe(data: Sequence[Path], symbols: Sequence[str]) -> dict[str, BarSeries]:
    """:func:`load_universe`, once per process for the same files (an optimisation's trials
    share them); keyed by every file's path, size and mtime."""
    stats = []
    for entry in data:
        path = Path(entry).expanduser()
        for f in sorted(path.iterdir()) if path.is_dir() else [path]:
            if f.is_file():
                st = f.stat()
                stats.append((str(f.resolve()), st.st_size, st.st_mtime))
    key = (tuple(stats), tuple(symbols))
    bars = _UNIVERSE_CACHE.get(key)
    if bars is None:
        bars = _UNIVERSE_CACHE[key] = load_universe(data, symbols)
    return bars


def timeline(spec: PortfolioSpec, config: BotConfig) -> BarSeries:
    """Every open time of any product's bars, in order, as a series (no prices): what an
    optimisation's walk-forward cuts into parts, by index."""
    bars = cached_universe(spec.data, list(config.profile.universe))
    ts = sorted({t for series in bars.values() for t in series.ts})
    return BarSeries(PORTFOLIO, next(iter(bars.values())).interval_s, ts)


def run_window(
    base: BacktestSpec, data: tuple[Path, ...], start: int, stop: int, pm: PluginManager
) -> PortfolioResult:
    """The portfolio backtest over the bars opening between the :func:`timeline`'s
    ``start`` and ``stop`` (exclusive) indices (an optimisation trial)."""
    spec = PortfolioSpec(base, data)
    config = portfolio_config(spec, pm)
    bars = cached_universe(data, list(config.profile.universe))
    times = timeline(spec, config).ts
    if (start, stop) != (0, len(times)):
        lo, hi = times[start], times[stop - 1]
        window = {}
        for symbol, series in bars.items():
            a, b = bisect.bisect_left(series.ts, lo), bisect.bisect_right(series.ts, hi)
            window[symbol] = slice_series(series, a, b)
        bars = window
    return run_portfolio(spec, pm, bars=bars, config=config)


def run_portfolio(
    spec: PortfolioSpec, pm: PluginManager | None = None, **kw: Any
) -> PortfolioResult:
    """Synchronous wrapper of :func:`run_portfolio_async` (not from a running event loop)."""
    return asyncio.run(run_portfolio_async(spec, pm, **kw))
