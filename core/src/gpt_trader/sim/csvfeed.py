"""Historical candles from a CSV file (one symbol), for backtests and replays.

The format is the one of the shared Binance export::

    timestamp,open,high,low,close,volume
    2025-05-20T00:00:00Z,105573.73,105597.1,105554.31,105554.32,10.82647

``timestamp`` is the bar's open time, ISO-8601 UTC (``Z`` or ``+00:00``; a naive time is
read as UTC) or epoch seconds/milliseconds; columns may come in any order. The file is
parsed once, on first use, into a :class:`~gpt_trader.domain.bars.BarSeries` that keeps the
exact source text of every value, so Candles carry the file's Decimals unchanged.

Parsing is built for speed (130k rows in well under a second): each row is split once, the
date part and the time-of-day part of a timestamp are each parsed once and then looked up,
and the floats double as the number-format check. A missing or unreadable file, a bad
header or a malformed row (field count, number, timestamp, OHLC consistency, order, off
the interval grid) raises :class:`~gpt_trader.errors.UserError` with one line naming the
file and the line number.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from gpt_trader.domain import Candle
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.market import NS, datetime_to_ts
from gpt_trader.errors import UserError

_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
_TS_ALIASES = ("timestamp", "time", "date", "datetime", "open_time")
_DAY_NS = 86_400 * NS


class _TimestampParser:
    """ISO-8601 (cached by date and by time of day) or epoch s/ms timestamps, to int ns."""

    def __init__(self) -> None:
        self._days: dict[str, int] = {}
        self._times: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        day = self._days.get(text[:10])
        tod = self._times.get(text[10:])
        if day is not None and tod is not None:
            return day + tod
        return self._slow(text)

    def _slow(self, text: str) -> int:
        stripped = text.strip()
        if stripped.isdigit():
            value = int(stripped)
            return value * 1_000_000 if value >= 100_000_000_000 else value * NS
        dt = datetime.fromisoformat(stripped)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        ts = datetime_to_ts(dt)
        if stripped == text and len(text) > 10 and text[10] in "T ":
            day_ts = datetime_to_ts(
                datetime.combine(date.fromisoformat(text[:10]), datetime.min.time(), UTC)
            )
            self._days[text[:10]] = day_ts
            self._times[text[10:]] = ts - day_ts
        return ts


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"candle file {path} not found") from None
    except IsADirectoryError:
        raise UserError(f"candle file {path} is a directory") from None
    except OSError as exc:
        raise UserError(f"cannot read candle file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"candle file {path} is not UTF-8 text") from None
    return text.splitlines()


def header_columns(path: Path, line: str) -> tuple[int, list[int]]:
    names = [n.strip().lower().lstrip("\ufeff") for n in line.split(",")]
    index: list[int] = []
    for column in _COLUMNS:
        aliases = _TS_ALIASES if column == "timestamp" else (column,)
        found = next((i for i, n in enumerate(names) if n in aliases), None)
        if found is None:
            raise UserError(
                f"{path}:1: header must name the columns {','.join(_COLUMNS)}; found {line.strip()!r}"
            )
        index.append(found)
    return len(names), index


def parse_csv(path: str | Path, symbol: str, interval_s: int | None = None) -> BarSeries:
    """Read ``path`` into a BarSeries for ``symbol`` (interval inferred from the first two
    rows when not given)."""
    path = Path(path)
    lines = _read_lines(path)
    if not lines or not lines[0].strip():
        raise UserError(f"{path}: empty file; expected a header {','.join(_COLUMNS)}")
    ncols, (i_ts, i_o, i_h, i_l, i_c, i_v) = header_columns(path, lines[0])
    parse_ts = _TimestampParser()
    ts_col: list[int] = []
    opens: list[float] = []
    highs: list[float] = []
    lows: list[float] = []
    closes: list[float] = []
    volumes: list[float] = []
    raw: list[tuple[str, str, str, str, str]] = []
    step = 0 if interval_s is None else interval_s * NS
    prev = -1
    isfinite = math.isfinite
    lineno = 1
    try:
        for lineno, line in enumerate(lines, start=1):
            if lineno == 1 or not line:
                continue
            parts = line.split(",")
            if len(parts) != ncols:
                raise ValueError(f"expected {ncols} fields, found {len(parts)}")
            o_s, h_s, l_s, c_s, v_s = parts[i_o], parts[i_h], parts[i_l], parts[i_c], parts[i_v]
            o, h, lo, c, v = float(o_s), float(h_s), float(l_s), float(c_s), float(v_s)
            if not (0 < lo <= o <= h and lo <= c <= h and v >= 0 and isfinite(h) and isfinite(v)):
                raise ValueError(
                    "inconsistent OHLCV (need 0 < low <= open, close <= high, volume >= 0)"
                )
            ts = parse_ts(parts[i_ts])
            if prev >= 0:
                if ts <= prev:
                    raise ValueError("timestamp is not after the previous row's")
                if step == 0:
                    step = ts - prev
                    if step % NS:
                        raise ValueError("interval between the first two rows is not whole seconds")
                elif (ts - prev) % step:
                    raise ValueError(f"timestamp is off the {step // NS}s interval grid")
            prev = ts
            ts_col.append(ts)
            opens.append(o)
            highs.append(h)
            lows.append(lo)
            closes.append(c)
            volumes.append(v)
            raw.append((o_s, h_s, l_s, c_s, v_s))
    except ValueError as exc:
        raise UserError(f"{path}:{lineno}: malformed row: {exc}") from None
    if not ts_col:
        raise UserError(f"{path}: no rows after the header")
    if step == 0:
        raise UserError(f"{path}: one row only; cannot infer the bar interval, set interval_s")
    return BarSeries(symbol, step // NS, ts_col, opens, highs, lows, closes, volumes, raw)


class CsvCandleFeed:
    """Candles of one symbol from a CSV file (a ReplayableFeed, SeriesFeed and live Feed).

    ``symbol`` is the product the file's bars are for (e.g. ``"BTC-USD"`` for the Binance
    BTCUSDT file). ``pace_s`` is the pause between bars in :meth:`stream`.
    """

    def __init__(
        self,
        path: str | Path,
        symbol: str,
        interval_s: int | None = None,
        *,
        pace_s: float = 0.0,
    ) -> None:
        self.path = Path(path)
        self.symbol = symbol
        self.interval_s = interval_s
        self.pace_s = pace_s
        if not self.path.is_file():
            what = "is not a file" if self.path.exists() else "not found"
            raise UserError(f"candle file {self.path} {what}")
        self._series: BarSeries | None = None

    def _check(self, symbols: Sequence[str]) -> None:
        if self.symbol not in symbols:
            raise UserError(
                f"csv feed {self.path.name} has bars for {self.symbol} only, "
                f"not for {', '.join(symbols) or 'no symbol'}"
            )

    def series(self) -> BarSeries:
        """The parsed bars (parsed on first use, then shared: do not mutate)."""
        if self._series is None:
            self._series = parse_csv(self.path, self.symbol, self.interval_s)
        return self._series

    @property
    def start_ts(self) -> int:
        """When the file's market opens: its first bar's time (the run's clock starts there)."""
        series = self.series()
        return series.ts[0] if len(series) else 0

    def bar_series(self, symbols: Sequence[str]) -> list[BarSeries]:
        self._check(symbols)
        return [self.series()]

    def events(self, symbols: Sequence[str]) -> Iterator[Candle]:
        self._check(symbols)
        series = self.series()
        for i in range(len(series)):
            yield series.candle(i)

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Candle]:
        for n, candle in enumerate(self.events(symbols)):
            if n:
                await asyncio.sleep(self.pace_s)
            yield candle
