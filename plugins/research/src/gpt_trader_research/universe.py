"""Bars for a whole universe: one :class:`BarSeries` per product, from the ``--data`` given.

``--data`` may be

- a directory with one file per product, named after it (``BTC-USD.csv``,
  ``ETH-USD.parquet``); other files (a ``products.toml``, a README) are not bars and are left
  alone;
- several files, each one product's (named after it) or a *long* file;
- a long file: a CSV or Parquet file with a ``symbol`` column, every product's rows in one;
- the data catalogue: ``catalog:BTC-USD@1m`` for one product, ``catalog:*@1m`` for every
  product of the universe (``catalog:DIR/*@1m`` for another catalogue).

CSV files of one product are read by the same parser the single-product backtest uses (so
both see the same exact Decimals); Parquet and long files go through pyarrow and are held to
the same rules. Every rule breaks with one line naming the file (and line or row): a file
for a product outside the universe, a product with two sources, no bars for a product,
granularities that differ between products, bars out of order or overlapping, a missing
OHLCV column, a NaN or missing price. Nothing is run until every file has been read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gpt_trader.domain.bars import BarSeries
from gpt_trader.errors import UserError

from gpt_trader_research import catalog

NS = 1_000_000_000
BAR_SUFFIXES = (".csv", ".parquet", ".pq")
COLUMNS = ("open", "high", "low", "close", "volume")
TS_ALIASES = ("timestamp", "time", "date", "datetime", "open_time")


def load_universe(data: Sequence[Path | str], symbols: Sequence[str]) -> dict[str, BarSeries]:
    """Every product of ``symbols`` with its bars, in the order of ``symbols``.

    ``data`` is what ``--data`` named (see the module docstring); each entry is a
    directory, a file or a catalogue reference. Raises :class:`UserError` on the first problem.
    """
    universe = list(symbols)
    found: dict[str, tuple[Path, BarSeries]] = {}
    refs = [d for d in data if catalog.is_ref(d)]
    files = [d for d in data if not catalog.is_ref(d)]
    read = [(Path(str(ref)), s) for ref in refs for s in _from_catalog(str(ref), universe)]
    paths = _files(files) if files or not refs else []
    read += [(path, series) for path in paths for series in _read(path, universe)]
    for path, series in read:
        if series.symbol in found:
            raise UserError(
                f"bars for {series.symbol} come from two files: {found[series.symbol][0]} "
                f"and {path}; keep one"
            )
        found[series.symbol] = (path, series)
    missing = [s for s in universe if s not in found]
    if missing:
        where = ", ".join(str(Path(d)) for d in data)
        raise UserError(
            f"no bars for {', '.join(missing)} in {where} (expected a file named after each "
            f"product, e.g. {missing[0]}.csv, or its rows in a file with a symbol column)"
        )
    intervals = {s: found[s][1].interval_s for s in universe}
    if len(set(intervals.values())) > 1:
        shown = ", ".join(f"{s} {i}s" for s, i in intervals.items())
        raise UserError(f"the products' bars have different granularities ({shown}); use one")
    return {s: found[s][1] for s in universe}


def _from_catalog(ref: str, universe: list[str]) -> list[BarSeries]:
    """``catalog:[DIR/]SYMBOL@GRAN`` is one product; ``catalog:[DIR/]*@GRAN`` every product
    of the universe, from the data catalogue."""
    where, symbol, gran = catalog.parse_ref(ref)
    if symbol == "*":
        return [catalog.read_bars(where, s, gran) for s in universe]
    if symbol not in universe:
        raise _outside(Path(ref), symbol, universe)
    return [catalog.read_bars(where, symbol, gran)]


def _files(data: Sequence[Path | str]) -> list[Path]:
    if not data:
        raise UserError("--data: give a directory or file(s) of bars")
    files: list[Path] = []
    for entry in data:
        path = Path(entry).expanduser()
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in BAR_SUFFIXES
            )
            if not inside:
                raise UserError(f"{path}: no .csv or .parquet files of bars in this directory")
            files += inside
        elif path.is_file():
            if path.suffix.lower() not in BAR_SUFFIXES:
                raise UserError(f"{path}: not a bar file (expected .csv or .parquet)")
            files.append(path)
        else:
            raise UserError(f"--data {path}: no such file or directory")
    return files


def _outside(path: Path, symbol: str, universe: list[str]) -> UserError:
    return UserError(
        f"{path}: {symbol} is not in the profile's universe ({', '.join(universe)}); "
        "remove the file or add the product to the profile"
    )


def _read(path: Path, universe: list[str]) -> list[BarSeries]:
    parquet = path.suffix.lower() != ".csv"
    if not parquet and "symbol" not in _csv_header(path):
        symbol = path.stem
        if symbol not in universe:
            raise _outside(path, symbol, universe)
        from gpt_trader.sim.csvfeed import parse_csv

        return [parse_csv(path, symbol)]
    table = _arrow_table(path, parquet)
    names = {c.lower().strip(): c for c in table.column_names}
    if "symbol" not in names:
        symbol = path.stem
        if symbol not in universe:
            raise _outside(path, symbol, universe)
        return [_series(path, table, names, symbol, np.arange(table.num_rows), parquet)]
    column = np.asarray(table.column(names["symbol"]).to_pylist(), dtype=object)
    out = []
    for symbol in dict.fromkeys(column.tolist()):
        if symbol not in universe:
            raise _outside(path, str(symbol), universe)
        rows = np.flatnonzero(column == symbol)
        out.append(_series(path, table, names, str(symbol), rows, parquet))
    return out


def _first_line(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as f:
            return f.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None


def _header_names(path: Path) -> list[str]:
    return [n.strip().lstrip("\ufeff").strip('"') for n in _first_line(path).split(",")]


def _csv_header(path: Path) -> list[str]:
    return [n.lower() for n in _header_names(path)]


def read_parquet(path: Path) -> Any:
    """A Parquet file as a pyarrow table; an unreadable one is a :class:`UserError`."""
    return _arrow_table(path, parquet=True)


def _arrow_table(path: Path, parquet: bool) -> Any:
    import pyarrow as pa

    try:
        if parquet:
            import pyarrow.parquet as pq

            return pq.read_table(path)
        from pyarrow import csv

        # every column as text: prices keep the file's exact digits (and "nan" is NaN, not
        # a missing value)
        return csv.read_csv(
            path,
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(_header_names(path), pa.string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot read {path}: {first}") from None


def _where(path: Path, row: int, parquet: bool) -> str:
    """A row as a reader finds it: a CSV's line number (after the header), a Parquet row."""
    return f"{path} row {row + 1}" if parquet else f"{path}:{row + 2}"


def _series(
    path: Path, table: Any, names: dict[str, str], symbol: str, rows: Any, parquet: bool
) -> BarSeries:
    ts_name = next((names[a] for a in TS_ALIASES if a in names), None)
    need = [c for c in COLUMNS if c not in names]
    if ts_name is None or need:
        lacking = ", ".join((["timestamp"] if ts_name is None else []) + need)
        raise UserError(f"{path}: no {lacking} column (needs timestamp,open,high,low,close,volume)")
    if len(rows) < 2:
        raise UserError(f"{path}: {symbol} has {len(rows)} bar(s); need two to know the interval")
    take = table.take(rows) if len(rows) != table.num_rows else table
    ts = _timestamps(path, take.column(ts_name), rows, parquet)
    values: dict[str, Any] = {}
    texts: dict[str, list[str]] = {}
    for name in COLUMNS:
        texts[name], values[name] = _numbers(path, name, take.column(names[name]), rows, parquet)
    o, h, lo, c, v = (values[k] for k in COLUMNS)
    bad = ~((lo > 0) & (lo <= o) & (o <= h) & (lo <= c) & (c <= h) & (v >= 0) & np.isfinite(h))
    bad |= ~np.isfinite(v)
    if bad.any():
        i = int(np.argmax(bad))
        raise UserError(
            f"{_where(path, int(rows[i]), parquet)}: {symbol}: inconsistent OHLCV "
            "(need 0 < low <= open, close <= high, volume >= 0)"
        )
    step = np.diff(ts)
    if (step <= 0).any():
        i = int(np.argmax(step <= 0)) + 1
        raise UserError(
            f"{_where(path, int(rows[i]), parquet)}: {symbol}: bars out of order or overlapping "
            "(the timestamp is not after the previous bar's)"
        )
    interval = int(step[0])
    if interval % NS or (step % interval).any():
        i = int(np.argmax(step % interval != 0)) + 1 if interval % NS == 0 else 1
        raise UserError(
            f"{_where(path, int(rows[i]), parquet)}: {symbol}: off the {interval / NS:g}s "
            "interval grid of its first two bars"
        )
    raw = list(zip(*(texts[k] for k in COLUMNS), strict=True))
    return BarSeries(
        symbol,
        interval // NS,
        ts.tolist(),
        o.tolist(),
        h.tolist(),
        lo.tolist(),
        c.tolist(),
        v.tolist(),
        raw,
    )


def _first_null(path: Path, name: str, column: Any, rows: Any, parquet: bool) -> None:
    if column.null_count:
        i = next(j for j, x in enumerate(column.is_null().to_pylist()) if x)
        raise UserError(f"{_where(path, int(rows[i]), parquet)}: no value in column {name}")


def _numbers(path: Path, name: str, column: Any, rows: Any, parquet: bool) -> tuple[list[str], Any]:
    """A price or volume column: its exact text per row, and floats for the checks."""
    import pyarrow as pa
    import pyarrow.compute as pc

    _first_null(path, name, column, rows, parquet)
    try:
        floats = np.asarray(pc.cast(column, pa.float64()), dtype=np.float64)
    except pa.ArrowException:
        text = column.cast(pa.string()).to_pylist()
        i = next(j for j, x in enumerate(text) if not _is_number(x))
        raise UserError(
            f"{_where(path, int(rows[i]), parquet)}: {name} {text[i]!r} is not a number"
        ) from None
    nan = np.isnan(floats)
    if nan.any():
        i = int(np.argmax(nan))
        raise UserError(f"{_where(path, int(rows[i]), parquet)}: {name} is NaN")
    if pa.types.is_floating(column.type):
        # a float column's exact value is its shortest round-trip text
        text = [repr(x) for x in floats.tolist()]
    else:
        text = [str(x).strip() for x in column.to_pylist()]
    return text, floats


def _is_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def _timestamps(path: Path, column: Any, rows: Any, parquet: bool) -> Any:
    """Bar open times as int64 ns UTC: a timestamp column (naive = UTC), ISO-8601 text, or
    epoch seconds / milliseconds (as the CSV parser reads them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    _first_null(path, "timestamp", column, rows, parquet)
    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        stamped = column.cast(pa.timestamp("ns", kind.tz if pa.types.is_timestamp(kind) else None))
        return np.asarray(stamped.cast(pa.int64()), dtype=np.int64)
    if pa.types.is_integer(kind):
        epoch = np.asarray(column, dtype=np.int64)
        return np.where(epoch >= 100_000_000_000, epoch * 1_000_000, epoch * NS)
    text = column.cast(pa.string())
    try:
        if str(text[0]).strip().isdigit():
            return _timestamps(path, pc.cast(text, pa.int64()), rows, parquet)
        stamped = pc.cast(text, pa.timestamp("ns", "UTC"))
    except pa.ArrowException:
        try:
            stamped = pc.cast(text, pa.timestamp("ns"))
        except pa.ArrowException:
            values = text.to_pylist()
            i = next(j for j, x in enumerate(values) if not _is_time(x))
            raise UserError(
                f"{_where(path, int(rows[i]), parquet)}: timestamp {values[i]!r} is not "
                "ISO-8601 or epoch seconds"
            ) from None
    return np.asarray(stamped.cast(pa.int64()), dtype=np.int64)


def _is_time(text: str | None) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.cast(pa.array([text]), pa.timestamp("ns", "UTC"))
    except pa.ArrowException:
        return False
    return True
