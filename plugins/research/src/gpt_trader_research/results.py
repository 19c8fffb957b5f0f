"""From fills and bars to what a backtest reports: round trips, the equity curve, statistics.

Money (prices, sizes, fees, P&L, equity) stays exact Decimal through the maths; the equity
curve and the statistics are float arrays, because they are maths over every bar. Figures
are rounded once, where they leave (``to_json``, the reports), by :class:`Units`: the
product's increments and the quote currency's, half-even (:mod:`gpt_trader.domain.money`).

The curve is rebuilt from the fills and the bar closes rather than read from the kernel:
the replay driver's vectorised path hands the kernel only the bars where something can
happen, so the kernel never marks the quiet ones. A fill belongs to the bar whose open time
is the latest at or before the fill's time (a next-open fill to the bar it opened; an
at-close fill, stamped with the close time, to the next bar), and equity at a bar's close is
cash plus position times that close.

Futures and perpetuals: money per unit of size is ``price * contract_size``, and a funding
payment is a cash flow of the bar during which it fell due (the first bar closing at or after
its time), which is where the simulated venue pays it. The margined books (cash moves by
realised P&L) and this cash-and-position curve give the same equity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from gpt_trader.domain import Fill, FundingPayment, Product, Side, money
from gpt_trader.domain.bars import BarSeries

ZERO = Decimal(0)
NS = 1_000_000_000
DAY_NS = 86_400 * NS
YEAR_S = 365.25 * 86_400
FloatArray = npt.NDArray[np.float64]


def iso(ts: int) -> str:
    """An int-ns UTC timestamp as ISO-8601 with a Z."""
    dt = datetime.fromtimestamp(ts // NS, tz=UTC).replace(microsecond=(ts % NS) // 1000)
    return dt.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Units:
    """How one product's figures leave a report: prices to its ``price_increment``, sizes
    to its ``base_increment``, money to the quote currency's increment (cents for USD)."""

    price_increment: Decimal
    size_increment: Decimal
    currency: str

    @classmethod
    def of(cls, product: Product) -> Units:
        return cls(product.price_increment, product.base_increment, product.quote)

    def price(self, value: Decimal) -> str:
        return money.at(value, self.price_increment)

    def size(self, value: Decimal) -> str:
        return money.at(value, self.size_increment)

    def cash(self, value: Decimal) -> str:
        return money.text(self.round_cash(value))

    def round_cash(self, value: Decimal) -> Decimal:
        """``value`` as :meth:`cash` prints it, as a number (for sums of printed figures)."""
        return money.quantize(value, money.currency_increment(self.currency))


@dataclass
class RoundTrip:
    """One trade: flat -> position -> flat (or still open at the end)."""

    side: str
    entry_ts: int
    entry_bar: int
    entry_price: Decimal
    size: Decimal
    fees: Decimal
    exit_ts: int | None = None
    exit_bar: int | None = None
    exit_price: Decimal | None = None
    pnl: Decimal = ZERO
    fills: int = 0
    entry_value: Decimal = ZERO
    exit_value: Decimal = ZERO
    exit_size: Decimal = ZERO
    # what closed it (``gpt_trader.engine.exits.ExitReason``); None while open
    exit_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.exit_ts is None

    @property
    def return_pct(self) -> float:
        if not self.entry_value:
            return 0.0
        return float(self.pnl / self.entry_value * 100)

    def to_json(self, units: Units) -> dict[str, Any]:
        """The trade as reported: average prices, size, fees and P&L on their increments."""
        return {
            "side": self.side,
            "entry_time": iso(self.entry_ts),
            "entry_bar": self.entry_bar,
            "entry_price": units.price(self.entry_price),
            "exit_time": None if self.exit_ts is None else iso(self.exit_ts),
            "exit_bar": self.exit_bar,
            "exit_price": None if self.exit_price is None else units.price(self.exit_price),
            "size": units.size(self.size),
            "fees": units.cash(self.fees),
            "pnl": units.cash(self.pnl),
            "return_pct": round(self.return_pct, 6),
            "open": self.is_open,
            "exit_reason": self.exit_reason,
            "fills": self.fills,
        }


def round_trips(
    fills: list[Fill],
    bars: BarSeries,
    contract_size: Decimal = Decimal(1),
    reason: Callable[[Fill], str] | None = None,
    arrived: Mapping[str, int] | None = None,
) -> list[RoundTrip]:
    """Group fills into round trips; a fill that flips the position is split in two.
    ``reason`` names what closed a trip, from its closing fill. ``arrived`` (trade id ->
    the kernel's time when the fill reached it, a replayed bar's close) puts a fill made
    inside a bar, which the sim stamps with the bar's close, in that bar, not the next.

    ``pnl`` of a closed trip = side * (exit value - entry value) * contract size - every
    fee on the way (funding is reported apart); of an open one it is marked at the last
    bar's close, as the kernel marks its equity. Exact: nothing is rounded here.
    """
    trips: list[RoundTrip] = []
    pos = ZERO
    cur: RoundTrip | None = None
    # Every fill's bar in one search (a search per fill cost more than the trips).
    at = [f.ts for f in fills]
    if arrived is not None:
        at = [
            min(t, arrived[f.trade_id] - 1) if f.trade_id in arrived else t
            for t, f in zip(at, fills, strict=True)
        ]
    found = np.searchsorted(np.asarray(bars.ts, dtype=np.int64), np.asarray(at, np.int64), "right")
    fill_bars = np.maximum(found - 1, 0).tolist()

    for k, fill in enumerate(fills):
        signed = fill.size if fill.side is Side.BUY else -fill.size
        remaining, fee = signed, fill.fee
        while remaining:
            if cur is None or pos == 0:
                cur = RoundTrip(
                    side="long" if remaining > 0 else "short",
                    entry_ts=fill.ts,
                    entry_bar=fill_bars[k],
                    entry_price=fill.price,
                    size=ZERO,
                    fees=ZERO,
                )
                trips.append(cur)
            adding = (pos >= 0 and remaining > 0) or (pos <= 0 and remaining < 0)
            qty = abs(remaining) if adding else min(abs(remaining), abs(pos))
            share = fee if qty == abs(remaining) else fee * qty / abs(remaining)
            cur.fees += share
            cur.fills += 1
            fee -= share
            step = qty if remaining > 0 else -qty
            if adding:
                cur.entry_value += fill.price * qty
                cur.size += qty
                cur.entry_price = cur.entry_value / cur.size
            else:
                cur.exit_value += fill.price * qty
                cur.exit_size += qty
                cur.exit_price = cur.exit_value / cur.exit_size
            pos += step
            remaining -= step
            if pos == 0 and not adding:
                cur.exit_ts = fill.ts
                cur.exit_reason = reason(fill) if reason is not None else None
                cur.exit_bar = fill_bars[k]
                sign = 1 if cur.side == "long" else -1
                cur.pnl = sign * (cur.exit_value - cur.entry_value) * contract_size - cur.fees
    if trips and trips[-1].is_open and len(bars):
        last = trips[-1]
        close = Decimal(bars.raw[-1][3])
        open_size = last.size - last.exit_size
        sign = 1 if last.side == "long" else -1
        value = last.exit_value + open_size * close
        last.pnl = sign * (value - last.entry_value) * contract_size - last.fees
    return trips


@dataclass
class Curve:
    """Per-bar position and equity at each bar's close (floats, for statistics and plots)."""

    equity: FloatArray
    position: FloatArray
    drawdown: FloatArray
    close: FloatArray
    fill_bars: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))


def equity_curve(
    fills: list[Fill],
    bars: BarSeries,
    starting_cash: Decimal,
    contract_size: Decimal = Decimal(1),
    funding: list[FundingPayment] | None = None,
) -> Curve:
    n = len(bars)
    close = np.asarray(bars.close, dtype=np.float64)
    bar_ts = np.asarray(bars.ts, dtype=np.int64)
    cash0 = float(starting_cash)
    paid = np.zeros(n)
    if funding:
        close_ts = bar_ts + bars.interval_s * NS
        due = np.fromiter((p.ts for p in funding), dtype=np.int64, count=len(funding))
        at = np.minimum(np.searchsorted(close_ts, due, side="left"), n - 1)
        amounts = np.fromiter((float(p.amount) for p in funding), np.float64, len(funding))
        paid = np.cumsum(np.bincount(at, weights=amounts, minlength=n))
    if not fills:
        equity = np.full(n, cash0) + paid
        return Curve(equity, np.zeros(n), _drawdown(equity), close)
    ts = np.fromiter((f.ts for f in fills), dtype=np.int64, count=len(fills))
    idx = np.clip(np.searchsorted(bar_ts, ts, side="right") - 1, 0, max(n - 1, 0))
    signed = np.fromiter(
        (float(f.size) if f.side is Side.BUY else -float(f.size) for f in fills),
        dtype=np.float64,
        count=len(fills),
    )
    price = np.fromiter((float(f.price) for f in fills), dtype=np.float64, count=len(fills))
    fee = np.fromiter((float(f.fee) for f in fills), dtype=np.float64, count=len(fills))
    unit = float(contract_size)
    flow = -signed * price * unit - fee
    cash = cash0 + np.cumsum(np.bincount(idx, weights=flow, minlength=n)) + paid
    position: FloatArray = np.cumsum(np.bincount(idx, weights=signed, minlength=n)).astype(
        np.float64
    )
    # Float residue of a closed position (e.g. 1e-17) must not count as exposure.
    position[np.abs(position) < 1e-12] = 0.0
    equity = (cash + position * close * unit).astype(np.float64)
    return Curve(equity, position, _drawdown(equity), close, idx.astype(np.int64))


def _drawdown(equity: FloatArray) -> FloatArray:
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, equity / peak - 1.0, 0.0)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _ratio(returns: FloatArray, periods_per_year: float, downside: bool) -> float | None:
    if returns.shape[0] < 2:
        return None
    mean = float(returns.mean())
    if downside:
        dev = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    else:
        dev = float(returns.std(ddof=1))
    if dev == 0.0:
        return None
    return _finite(mean / dev * math.sqrt(periods_per_year))


def period_returns(curve: Curve, bars: BarSeries, starting: float) -> tuple[FloatArray, float]:
    """Daily returns (UTC days, last equity of each day) when the data spans two days or
    more, else per-bar returns; with the number of such periods per year."""
    n = len(bars)
    if n == 0:
        return np.zeros(0), 1.0
    close_ts = np.asarray(bars.ts, dtype=np.int64) + bars.interval_s * NS
    day = (close_ts - 1) // DAY_NS
    if int(day[-1] - day[0]) >= 2:
        last_of_day = np.flatnonzero(np.diff(day)) if n > 1 else np.zeros(0, np.int64)
        ends = np.append(last_of_day, n - 1)
        levels = np.concatenate(([starting], curve.equity[ends]))
        periods = 365.0
    else:
        levels = np.concatenate(([starting], curve.equity))
        periods = YEAR_S / bars.interval_s
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.diff(levels) / levels[:-1]
    rets = rets[np.isfinite(rets)]
    return rets, periods


#: The statistics that are money (Decimal), in the quote currency.
MONEY_STATS = ("best_trade", "worst_trade", "fees")


def reported_stats(stats: dict[str, Any], units: Units) -> dict[str, Any]:
    """``stats`` as printed: the money among them on the quote increment, ratios as they are."""
    return {k: units.cash(v) if k in MONEY_STATS else v for k, v in stats.items()}


def statistics(
    curve: Curve,
    bars: BarSeries,
    trips: list[RoundTrip],
    starting_cash: Decimal,
    final_equity: Decimal,
    fees: Decimal,
) -> dict[str, Any]:
    """The report's numbers. Ratios are floats (None when undefined); money (best and
    worst trade, fees) is exact Decimal, rounded where it is printed (:data:`MONEY_STATS`).

    Sharpe and Sortino: mean over standard (downside) deviation of daily returns times
    sqrt(365) (crypto trades every day), per-bar returns annualised when the data spans
    less than two days; risk-free rate 0. CAGR over the data's span. Max drawdown from the
    per-bar equity curve, as a negative fraction. Calmar = CAGR / |max drawdown|. Win rate
    and profit factor over closed round trips. Exposure: the share of bars that end with a
    position.
    """
    n = len(bars)
    start = float(starting_cash)
    total_return = float(final_equity / starting_cash - 1) if starting_cash else 0.0
    span_s = (bars.ts[-1] - bars.ts[0]) / NS + bars.interval_s if n else 0.0
    years = span_s / YEAR_S
    ratio = float(final_equity / starting_cash) if starting_cash else 0.0
    if years <= 0:
        cagr: float | None = None
    elif ratio <= 0:
        cagr = -1.0
    else:
        try:
            cagr = _finite(ratio ** (1.0 / years) - 1.0)
        except OverflowError:
            cagr = None
    rets, periods = period_returns(curve, bars, start)
    max_dd = float(curve.drawdown.min()) if n else 0.0
    calmar = cagr / abs(max_dd) if cagr is not None and max_dd < 0 else None
    closed = [t for t in trips if not t.is_open]
    wins = [t.pnl for t in closed if t.pnl > 0]
    losses = [t.pnl for t in closed if t.pnl < 0]
    gross_win = sum(wins, ZERO)
    gross_loss = -sum(losses, ZERO)
    first, last = (float(bars.close[0]), float(bars.close[-1])) if n else (0.0, 0.0)
    return {
        "total_return": total_return,
        "cagr": cagr,
        "sharpe": _ratio(rets, periods, downside=False),
        "sortino": _ratio(rets, periods, downside=True),
        "max_drawdown": max_dd,
        "calmar": _finite(calmar) if calmar is not None else None,
        "win_rate": len(wins) / len(closed) if closed else None,
        "profit_factor": float(gross_win / gross_loss) if gross_loss else None,
        "exposure": float(np.count_nonzero(curve.position) / n) if n else 0.0,
        "trades": len(closed),
        "open_trades": len(trips) - len(closed),
        "best_trade": max((t.pnl for t in closed), default=ZERO),
        "worst_trade": min((t.pnl for t in closed), default=ZERO),
        "fees": fees,
        "buy_and_hold_return": last / first - 1.0 if first else 0.0,
        "years": years,
    }
