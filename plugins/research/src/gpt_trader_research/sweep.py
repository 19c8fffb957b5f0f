"""A vectorised SMA-cross parameter sweep, re-checked through the kernel.

Every (fast, slow) pair of a grid is evaluated over one series in numpy: the SMAs come from
:func:`~gpt_trader_strategies.indicators.sma_array` (bit-equal to the signal's, so every
crossing is the one the signal emits), each fast line is compared with all the slow lines
at once, and the crossings, the emissions the signal would make (alternating, a first FLAT
dropped: long-only and flat) and the round trips follow by array maths. A trade is the
backtest's: decided at a bar's close, filled at the next bar's open, all-in sized at the
deciding close with room for the taker fee, the fee charged on each side; a position still
open after the last bar is marked at its close, an order decided on the last bar never fills.

The grid is ranked by a float estimate of the final equity (the compounded trades). The
best candidates are then replayed exactly, trade by trade in Decimal as the kernel books
them (size rounded down to the base increment, each fee rounded up to the cent, the
two-cent reserve of the all-in sizer), re-ranked on that, and the top ``k`` are run through
:func:`~gpt_trader_research.engine.run_backtest` with the same parameters: each result
says whether the kernel's round trips and final equity (to the cent) are the sweep's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_trader.domain import Product
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.money import currency_increment, fee_amount, quantize, text
from gpt_trader.errors import UserError

from gpt_trader_research.engine import (
    DEFAULT_CASH,
    DEFAULT_TAKER_BPS,
    BacktestSpec,
    load_series,
    run_backtest,
)
from gpt_trader_research.specs import ComponentArg

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]

BPS = Decimal(10_000)
# The pool of float-ranked candidates replayed exactly, per result asked for: the float
# estimate only ranks; near-ties are settled by the exact figures.
CANDIDATES_PER_RESULT = 4
# Cells (pairs x bars) compared at a time: small enough for the temporaries to stay cached.
BLOCK_CELLS = 1 << 16


def parse_range(option: str, text: str) -> list[int]:
    """``START:STOP[:STEP]`` (STOP included) or ``A,B,C`` or one period, as bar counts."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop, step = parts[0], parts[1], parts[2] if len(parts) == 3 else 1
            if step <= 0 or stop < start:
                raise ValueError
            values = list(range(start, stop + 1, step))
        else:
            values = sorted({int(p) for p in text.split(",")})
    except ValueError:
        raise UserError(
            f"{option} {text!r}: expected START:STOP[:STEP] with STOP >= START and STEP > 0, "
            "or A,B,C (periods in bars)"
        ) from None
    if not values or values[0] < 1:
        raise UserError(f"{option} {text!r}: periods must be at least 1 bar")
    return values


def grid(fasts: list[int], slows: list[int]) -> list[tuple[int, int]]:
    """The pairs with fast < slow (the signal refuses the others)."""
    pairs = [(f, s) for f in fasts for s in slows if f < s]
    if not pairs:
        raise UserError("the grid has no pair with fast < slow")
    return pairs


@dataclass(frozen=True)
class Costs:
    """What the backtest charges: starting cash and the taker fee rate (as a fraction)."""

    cash: Decimal
    fee_rate: Decimal


@dataclass
class PairResult:
    fast: int
    slow: int
    trades: int
    estimate: float  # the float pass's final equity (ranking only)
    final_equity: Decimal | None = None  # the exact replay's
    fees: Decimal | None = None
    kernel: dict[str, Any] | None = None  # the kernel's figures, when re-checked
    matches: bool | None = None

    def to_json(self, cash: Decimal, currency: str) -> dict[str, Any]:
        out: dict[str, Any] = {"fast": self.fast, "slow": self.slow, "trades": self.trades}
        if self.final_equity is not None and self.fees is not None:
            out["final_equity"] = str(quantize(self.final_equity, currency_increment(currency)))
            out["return_pct"] = f"{(self.final_equity / cash - 1) * 100:.4f}"
            out["fees"] = str(quantize(self.fees, currency_increment(currency)))
        else:
            out["estimate"] = round(self.estimate, 2)
        if self.kernel is not None:
            out["kernel"] = self.kernel
            out["matches_kernel"] = self.matches
        return out


@dataclass
class SweepResult:
    symbol: str
    bars: int
    pairs: int
    elapsed_s: float
    costs: Costs
    currency: str
    top: list[PairResult] = field(default_factory=list)
    recheck_s: float = 0.0

    @property
    def all_match(self) -> bool:
        return all(r.matches for r in self.top if r.kernel is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "bars": self.bars,
            "pairs": self.pairs,
            "sweep_s": round(self.elapsed_s, 6),
            "pairs_per_s": round(self.pairs / self.elapsed_s, 1) if self.elapsed_s else None,
            "recheck_s": round(self.recheck_s, 6),
            "starting_cash": str(self.costs.cash),
            "fee_bps": text((self.costs.fee_rate * BPS).normalize()),
            "currency": self.currency,
            "all_match_kernel": self.all_match,
            "top": [r.to_json(self.costs.cash, self.currency) for r in self.top],
        }


# ---- the float pass ------------------------------------------------------------------------


@dataclass
class _Events:
    """Emissions of every pair, in pair-then-bar order: the pair's row, the bar, +1 LONG /
    -1 FLAT. Alternating within a row, never starting with FLAT."""

    row: IntArray
    bar: IntArray
    action: npt.NDArray[np.int8]


def _starts(a: Any, lines: Any) -> tuple[Any, Any, Any]:
    """Where line ``a`` starts to be above (+1, LONG) or below (-1, FLAT) each row of
    ``lines``: the signal's comparison (equal or undefined, NaN, is neither), per bar."""
    import numpy as np

    above = np.greater(a, lines)
    below = np.less(a, lines)
    starts = np.greater(above[:, 1:], above[:, :-1])
    starts |= np.greater(below[:, 1:], below[:, :-1])
    r, c = np.nonzero(starts)
    bar = c + 1
    return r, bar, np.where(above[r, bar], 1, -1).astype(np.int8)


def _emissions(close: Any, pairs: list[tuple[int, int]]) -> _Events:
    import numpy as np
    from gpt_trader_strategies.indicators import sma_array

    fasts = {f: sma_array(close, f) for f in sorted({f for f, _ in pairs})}
    slow_periods = sorted({s for _, s in pairs})
    slow_row = {s: k for k, s in enumerate(slow_periods)}
    slows = np.empty((len(slow_periods), close.shape[0]))
    for k, s in enumerate(slow_periods):
        slows[k] = sma_array(close, s)
    n = close.shape[0]
    rows, bars, acts = [], [], []
    by_fast: dict[int, list[tuple[int, int]]] = {}
    for i, (f, s) in enumerate(pairs):
        by_fast.setdefault(f, []).append((i, s))
    for f, members in by_fast.items():
        idx = np.array([i for i, _ in members], dtype=np.int64)
        periods = np.array([s for _, s in members], dtype=np.int64)
        at = np.array([slow_row[s] for _, s in members], dtype=np.int64)
        contiguous = bool(np.all(np.diff(at) == 1))
        lines = slows[at[0] : at[-1] + 1] if contiguous else slows[at]
        a = fasts[f]
        # In blocks of bars, so each block's temporaries stay in the CPU cache.
        step = max(1, BLOCK_CELLS // len(members))
        for lo in range(0, n - 1, step):
            hi = min(n, lo + step + 1)
            r, bar, act = _starts(a[lo:hi], lines[:, lo:hi])
            bar += lo
            # Both lines defined now and at the bar before: the slow one (fast < slow)
            # from bar ``slow - 1`` on.
            ok = bar >= periods[r]
            rows.append(idx[r[ok]])
            bars.append(bar[ok])
            acts.append(act[ok])
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    bar = np.concatenate(bars) if bars else np.zeros(0, dtype=np.int64)
    act = np.concatenate(acts) if acts else np.zeros(0, dtype=np.int8)
    order = np.lexsort((bar, row))
    row, bar, act = row[order], bar[order], act[order]
    # Emitted only on a change of view; with two actions, a change from the row's last event.
    first = np.ones(row.shape[0], dtype=np.bool_)
    first[1:] = row[1:] != row[:-1]
    keep = first.copy()
    keep[1:] |= act[1:] != act[:-1]
    row, bar, act, first = row[keep], bar[keep], act[keep], first[keep]
    # Flat to start with: a row's first FLAT does nothing.
    drop = first & (act == -1)
    return _Events(row[~drop], bar[~drop], act[~drop])


def _estimate(events: _Events, n_pairs: int, open_: Any, close: Any, costs: Costs) -> Any:
    """Each pair's float final equity."""
    import numpy as np

    n = close.shape[0]
    row, bar, act = events.row, events.bar, events.action
    f = float(costs.fee_rate)
    entries = np.flatnonzero((act == 1) & (bar + 1 < n))
    fill_at = bar[entries] + 1
    has_exit = entries + 1 < row.shape[0]
    nxt = np.minimum(entries + 1, max(row.shape[0] - 1, 0))
    has_exit &= row[nxt] == row[entries]
    exit_bar = np.where(has_exit, bar[nxt] + 1, n)
    exits_filled = exit_bar < n
    exit_value = np.where(exits_filled, open_[np.minimum(exit_bar, n - 1)] * (1 - f), close[n - 1])
    entry_cost = open_[fill_at] * (1 + f)
    # All in at the deciding close, so each trade scales the cash by this factor.
    factor = 1.0 + (exit_value - entry_cost) / (close[bar[entries]] * (1 + f))
    logs = np.bincount(row[entries], weights=np.log(np.maximum(factor, 1e-300)), minlength=n_pairs)
    return float(costs.cash) * np.exp(logs)


# ---- the exact replay ------------------------------------------------------------------------


def exact(
    bars: BarSeries, product: Product, costs: Costs, events: list[tuple[int, int]]
) -> tuple[int, Decimal, Decimal]:
    """Round trips, final equity and fees of one pair's emissions ``(bar, action)``, booked
    as the kernel books them (all-in sizer, sim fills at the next open, fees rounded up)."""
    inc = currency_increment(product.quote)
    reserve = 2 * inc
    rate = costs.fee_rate
    cash, size, fees, trips = costs.cash, Decimal(0), Decimal(0), 0
    n = len(bars)
    raw = bars.raw
    for i, action in events:
        if i + 1 >= n:
            break  # decided on the last bar: the order never fills
        if action == 1 and not size:
            spend = cash - reserve
            if spend <= 0:
                continue
            want = product.quantize_size(spend / (Decimal(raw[i][3]) * (1 + rate)))
            if product.size_error(want):
                continue
            notional = Decimal(raw[i + 1][0]) * want
            fee = fee_amount(notional, rate, inc)
            cash -= notional + fee
            fees += fee
            size = want
            trips += 1
        elif action == -1 and size:
            notional = Decimal(raw[i + 1][0]) * size
            fee = fee_amount(notional, rate, inc)
            cash += notional - fee
            fees += fee
            size = Decimal(0)
    return trips, cash + size * Decimal(raw[n - 1][3]), fees


def _pair_events(events: _Events, row: int) -> list[tuple[int, int]]:
    import numpy as np

    lo, hi = np.searchsorted(events.row, [row, row + 1])
    return list(zip(events.bar[lo:hi].tolist(), events.action[lo:hi].tolist(), strict=True))


# ---- the sweep -------------------------------------------------------------------------------


def sweep(
    bars: BarSeries,
    product: Product,
    pairs: list[tuple[int, int]],
    costs: Costs,
    *,
    top: int = 5,
) -> tuple[list[PairResult], float]:
    """The ``top`` pairs by final equity (exact figures) and the seconds the sweep took."""
    import time

    import numpy as np

    if len(bars) < 2:
        raise UserError("sweep: need at least two bars")
    t0 = time.perf_counter()
    if not bool(np.all(np.diff(np.asarray(bars.ts, dtype=np.int64)) > 0)):
        raise UserError("sweep: the bars' timestamps must be strictly increasing")
    close = np.asarray(bars.close, dtype=np.float64)
    open_ = np.asarray(bars.open, dtype=np.float64)
    events = _emissions(close, pairs)
    estimate = _estimate(events, len(pairs), open_, close, costs)
    pool = np.argsort(-estimate, kind="stable")[: max(top * CANDIDATES_PER_RESULT, top)]
    results = []
    for row in pool.tolist():
        f, s = pairs[row]
        n_trips, equity, fees = exact(bars, product, costs, _pair_events(events, row))
        results.append(PairResult(f, s, n_trips, float(estimate[row]), equity, fees))
    results.sort(key=lambda r: (-(r.final_equity or 0), r.fast, r.slow))
    return results[:top], time.perf_counter() - t0


def recheck(spec: BacktestSpec, bars: BarSeries, result: PairResult, pm: Any = None) -> None:
    """Run ``result``'s pair through the kernel; record its figures and whether they match."""
    signal = ComponentArg("sma_cross", {"fast": result.fast, "slow": result.slow})
    run = run_backtest(replace(spec, signals=(signal,)), pm, series=bars)
    u = run.units
    result.kernel = {
        "trades": len(run.trips),
        "final_equity": u.cash(run.final_equity),
        "fees": u.cash(run.fees),
    }
    mine = u.cash(result.final_equity) if result.final_equity is not None else None
    result.matches = result.trades == len(run.trips) and mine == result.kernel["final_equity"]


def fee_rate(bps: Decimal) -> Decimal:
    return bps / BPS


def run_sweep(
    data: Path,
    symbol: str,
    pairs: list[tuple[int, int]],
    *,
    top: int = 5,
    cash: Decimal = DEFAULT_CASH,
    fee_bps: Decimal = DEFAULT_TAKER_BPS,
    pm: Any = None,
) -> SweepResult:
    """Sweep ``pairs`` over the bars in ``data`` and re-check the best ``top`` in the kernel
    (a spot product: all-in, next-open fills, the fee on both sides, as ``backtest``)."""
    import time

    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader.registry import Registry
    from gpt_trader.sim.products import default_products

    pm = pm or make_plugin_manager()
    product = default_products([symbol], Registry(pm).catalogues())[symbol]
    if product.is_derivative:
        raise UserError(f"sweep: {symbol} is a future or perpetual; the sweep models spot only")
    bars = load_series(data, symbol)
    costs = Costs(cash, fee_bps / BPS)
    best, elapsed = sweep(bars, product, pairs, costs, top=top)
    out = SweepResult(symbol, len(bars), len(pairs), elapsed, costs, product.quote, best)
    spec = BacktestSpec(data=data, symbol=symbol, cash=cash, fee_bps=fee_bps)
    t0 = time.perf_counter()
    for result in best:
        recheck(spec, bars, result, pm)
    out.recheck_s = time.perf_counter() - t0
    return out


def show(result: SweepResult, console: Any) -> None:
    from rich.table import Table

    table = Table(
        title=f"{result.symbol}: {result.pairs} SMA pairs over {result.bars} bars in "
        f"{result.elapsed_s:.3f} s (kernel re-check {result.recheck_s:.2f} s)"
    )
    for name in ("fast", "slow", "trades", "final equity", "return %", "fees", "kernel"):
        table.add_column(name, justify="right")
    for row in (r.to_json(result.costs.cash, result.currency) for r in result.top):
        kernel = row.get("kernel")
        verdict = "-" if kernel is None else "same" if row["matches_kernel"] else "DIFFERS"
        if kernel is not None and not row["matches_kernel"]:
            verdict += f" ({kernel['trades']} trades, {kernel['final_equity']})"
        table.add_row(
            str(row["fast"]),
            str(row["slow"]),
            str(row["trades"]),
            row["final_equity"],
            row["return_pct"],
            row["fees"],
            verdict,
        )
    console.print(table)
