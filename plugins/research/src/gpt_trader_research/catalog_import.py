"""``data import``: bars from a CSV or Parquet file anywhere, checked row by row, into the
catalogue (:mod:`gpt_trader_research.catalog`).

Every row is read as text and checked: numbers, no NaN, ``0 < low <= open, close <= high``,
volume >= 0, timestamps sorted, unique and on one bar grid. One bad row imports nothing; the
error is one line naming each bad line (``row N`` in a Parquet file), the first few in full.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError
from gpt_trader_coinbase.candles import granularity_name

from gpt_trader_research.catalog import (
    COLUMNS,
    NS,
    Row,
    check_symbol,
    gran_seconds,
    pa_module,
    partition_path,
    read_frame,
    read_table,
    write_frame,
)
from gpt_trader_research.results import iso

_TS_ALIASES = ("timestamp", "time", "date", "datetime", "open_time")
_SHOWN_ERRORS = 5


def parse_ts(text: str) -> int:
    """ISO-8601 (UTC when naive, a date alone being midnight) or UNIX seconds/ms -> ns."""
    raw = text.strip()
    if raw.isdigit():
        value = int(raw)
        return value * 1_000_000 if value >= 100_000_000_000 else value * NS
    dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * NS + dt.microsecond * 1000


def _columns(path: Path, names: list[str]) -> list[int]:
    """Where the timestamp and OHLCV columns are; an unnamed first column is the timestamp
    (a pandas index written to CSV)."""
    lowered = [n.strip().lower().lstrip("\ufeff") for n in names]
    found: list[int] = []
    missing: list[str] = []
    for column in ("timestamp", *COLUMNS):
        aliases = _TS_ALIASES if column == "timestamp" else (column,)
        at = next((i for i, n in enumerate(lowered) if n in aliases), None)
        if at is None and column == "timestamp" and lowered and lowered[0] == "":
            at = 0
        if at is None:
            missing.append(column)
        found.append(-1 if at is None else at)
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(missing)}; the header is "
            f"{','.join(names)!r} (need timestamp,open,high,low,close,volume)"
        )
    return found


def _csv_rows(path: Path) -> Iterator[tuple[str, list[str]]]:
    """(where, [ts, o, h, l, c, v]) per data row, ``where`` being ``line N``."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header:
                raise UserError(f"{path}: empty file; expected a header timestamp,open,...")
            index = _columns(path, header)
            for row in reader:
                if not row:
                    continue
                where = f"line {reader.line_num}"
                if len(row) != len(header):
                    yield where, []
                    continue
                yield where, [row[i] for i in index]
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parquet_rows(path: Path) -> Iterator[tuple[str, list[str]]]:
    pa = pa_module()
    table = read_table(path)
    index = _columns(path, list(table.column_names))
    ts_col = table.column(index[0])
    if pa.types.is_timestamp(ts_col.type):
        unit = {"s": NS, "ms": 1_000_000, "us": 1000, "ns": 1}[ts_col.type.unit]
        ts = [
            None if t is None else str(t * unit) + "ns" for t in ts_col.cast(pa.int64()).to_pylist()
        ]
    else:
        ts = [None if t is None else str(t) for t in ts_col.to_pylist()]
    cols = [[None if v is None else str(v) for v in table.column(i).to_pylist()] for i in index[1:]]
    for i in range(table.num_rows):
        yield f"row {i + 1}", [ts[i] or "", *(c[i] or "" for c in cols)]


def _validate(
    rows: Iterable[tuple[str, list[str]]], gran_s: int | None
) -> tuple[list[tuple[int, Row]], int, list[str]]:
    """The rows as (ts, text) and the bar length, with every bad row's complaint."""
    good: list[tuple[int, Row]] = []
    errors: list[str] = []
    seen: dict[int, str] = {}
    prev = -1
    for where, fields in rows:
        if not fields:
            errors.append(f"{where}: wrong number of fields")
            continue
        ts_text, *values = fields
        try:
            ts = int(ts_text[:-2]) if ts_text.endswith("ns") else parse_ts(ts_text)
        except ValueError:
            errors.append(f"{where}: timestamp {ts_text!r} is not ISO-8601 or UNIX time")
            continue
        problem = _ohlcv_problem(values)
        if problem:
            errors.append(f"{where}: {problem}")
            continue
        if ts in seen:
            errors.append(f"{where}: duplicate timestamp {iso(ts)} (also {seen[ts]})")
            continue
        if ts < prev:
            errors.append(f"{where}: timestamp {iso(ts)} is before the previous row's (unsorted)")
            continue
        seen[ts] = where
        prev = ts
        o, h, lo, c, v = (x.strip() for x in values)
        good.append((ts, (o, h, lo, c, v)))
    step = gran_s * NS if gran_s else _step([t for t, _ in good])
    if step:
        first = good[0][0] if good else 0
        errors += [
            f"{seen[t]}: {iso(t)} is off the {step // NS}s grid"
            for t, _ in good
            if (t - first) % step
        ]
    return good, step // NS, errors


def _step(ts: list[int]) -> int:
    gaps = [b - a for a, b in pairwise(ts) if b > a]
    return min(gaps) if gaps else 0


def _ohlcv_problem(values: list[str]) -> str | None:
    try:
        o, h, lo, c, v = (Decimal(x.strip()) for x in values)
    except InvalidOperation:
        bad = next(n for n, x in zip(COLUMNS, values, strict=True) if not _is_decimal(x))
        return f"{bad} {values[COLUMNS.index(bad)]!r} is not a number"
    for name, d in zip(COLUMNS, (o, h, lo, c, v), strict=True):
        if d.is_nan():
            return f"{name} is NaN"
        if not d.is_finite():
            return f"{name} is not finite"
    if not (0 < lo <= min(o, c) and max(o, c) <= h):
        return f"inconsistent OHLC (need 0 < low <= open, close <= high): {','.join(values)}"
    if v < 0:
        return f"negative volume {values[4]}"
    return None


def _is_decimal(text: str) -> bool:
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return True


def import_file(
    file: Path, symbol: str, catalog_dir: Path, gran_text: str | None = None
) -> dict[str, Any]:
    """Validate a CSV or Parquet file of bars and merge it into the catalogue (its rows win
    over the partition's). A bad row anywhere imports nothing."""
    check_symbol(symbol)
    path = Path(file).expanduser()
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    gran_s = gran_seconds(gran_text)[1] if gran_text else None
    parquet = path.suffix.lower() in (".parquet", ".pq")
    rows, step, errors = _validate(_parquet_rows(path) if parquet else _csv_rows(path), gran_s)
    if errors:
        shown = "; ".join(errors[:_SHOWN_ERRORS])
        more = f"; and {len(errors) - _SHOWN_ERRORS} more" if len(errors) > _SHOWN_ERRORS else ""
        raise UserError(f"{path}: {len(errors)} bad row(s), nothing imported: {shown}{more}")
    if not step:
        raise UserError(f"{path}: fewer than two bars; give --granularity")
    target = partition_path(catalog_dir, symbol, step)
    frame = read_frame(target, step)
    for ts, row in rows:
        frame.rows[ts] = (row, False)
    source = f"import:{path.name}"
    frame.coverage.append((rows[0][0], rows[-1][0] + step * NS))
    frame.add_source(source)
    write_frame(target, frame)
    return {
        "symbol": symbol,
        "granularity": granularity_name(step),
        "rows": len(rows),
        "start": iso(rows[0][0]),
        "end": iso(rows[-1][0] + step * NS),
        "file": str(target),
    }
