"""The data catalogue: candles in Parquet, one file per product and granularity.

Layout: ``<catalog>/<SYMBOL>/<GRANULARITY>.parquet`` (``BTC-USD/ONE_MINUTE.parquet``), the
catalogue being ``var/research/catalog`` (the research state dir's) unless ``--catalog``
names another. Columns: ``ts`` (bar open time, ns UTC), ``open``/``high``/``low``/
``close``/``volume`` as the exact decimal text the source gave (strings: prices round-trip
to the digit, which a float or a fixed-scale decimal128 would not promise for every
source), and ``no_trade``: a bucket the venue returned no candle for inside a range it was
asked about (Coinbase leaves buckets without trades out: a quiet market, not missing data),
carried as a flat bar at the previous close with volume 0 (OHLC null when no earlier close
is known). The file's metadata keeps ``coverage``, the ranges already asked for or imported,
so a second download of the same range sends no request, and ``sources``.

Every write goes to a temporary file in the same directory, renamed over the old one: a
partition is the old one or the new one, never half of either. This module stores, reads
(``read_bars``, what backtests use), resamples, exports and lists; ``data import`` is
:mod:`gpt_trader_research.catalog_import`, ``data download`` :mod:`gpt_trader_research.data`.
"""

from __future__ import annotations

import gc
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from gpt_trader.config import default_state_dir
from gpt_trader.domain.bars import BarSeries
from gpt_trader.errors import UserError
from gpt_trader_coinbase.candles import GRANULARITIES, granularity, granularity_name

from gpt_trader_research.results import iso

NS = 1_000_000_000
PREFIX = "catalog:"
COLUMNS = ("open", "high", "low", "close", "volume")
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Row = tuple[str | None, str | None, str | None, str | None, str]


def default_catalog() -> Path:
    return default_state_dir("research") / "catalog"


def gran_seconds(text: str) -> tuple[str, int]:
    """``("ONE_MINUTE", 60)`` for ``1m``/``ONE_MINUTE``; ``("120s", 120)`` for ``120s``
    (a bar length Coinbase does not serve, from an import)."""
    raw = text.strip().lower()
    if raw.endswith("s") and raw[:-1].isdigit() and int(raw[:-1]) > 0:
        return granularity_name(int(raw[:-1])), int(raw[:-1])
    return granularity(text)


def check_symbol(symbol: str) -> str:
    if not _SYMBOL.match(symbol):
        raise UserError(f"product {symbol!r}: use letters, digits, '.', '_' and '-' (BTC-USD)")
    return symbol


def partition_path(root: Path, symbol: str, gran_s: int) -> Path:
    return Path(root) / check_symbol(symbol) / f"{granularity_name(gran_s)}.parquet"


# ---- a partition in memory ---------------------------------------------------------------


@dataclass
class Frame:
    """One partition: rows keyed by bar open time (ns), plus what the metadata keeps."""

    gran_s: int
    rows: dict[int, tuple[Row, bool]] = field(default_factory=dict)
    coverage: list[tuple[int, int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add_source(self, source: str) -> None:
        if source not in self.sources:
            self.sources.append(source)

    def covered(self, start: int, end: int) -> bool:
        """Is [start, end) inside the union of the coverage ranges?"""
        reach = start
        for a, b in sorted(self.coverage):
            if a > reach:
                break
            reach = max(reach, b)
        return reach >= end

    def last_close(self, before: int) -> str | None:
        known = [ts for ts, (row, _) in self.rows.items() if ts < before and row[3] is not None]
        return self.rows[max(known)][0][3] if known else None


def pa_module() -> Any:
    import pyarrow as pa

    return pa


def _schema() -> Any:
    pa = pa_module()
    return pa.schema(
        [
            ("ts", pa.timestamp("ns", tz="UTC")),
            *((name, pa.string()) for name in COLUMNS),
            ("no_trade", pa.bool_()),
        ]
    )


def read_frame(path: Path, gran_s: int) -> Frame:
    """The partition at ``path`` (an empty frame when there is none yet)."""
    frame = Frame(gran_s)
    if not path.is_file():
        return frame
    table = read_table(path)
    meta = table.schema.metadata or {}
    frame.coverage = [(int(a), int(b)) for a, b in json.loads(meta.get(b"coverage", b"[]"))]
    frame.sources = list(json.loads(meta.get(b"sources", b"[]")))
    cols = [table.column(n).to_pylist() for n in COLUMNS]
    ts = table.column("ts").cast(pa_module().int64()).to_pylist()
    flags = table.column("no_trade").to_pylist()
    for i, t in enumerate(ts):
        frame.rows[t] = ((cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i]), flags[i])
    return frame


def read_table(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable catalogue partition: {exc}") from None


def write_frame(path: Path, frame: Frame) -> None:
    """Write the partition: a temporary file in its directory, renamed over the old one."""
    import pyarrow.parquet as pq

    pa = pa_module()
    order = sorted(frame.rows)
    rows = [frame.rows[t] for t in order]
    columns: dict[str, Any] = {"ts": pa.array(order, pa.int64()).cast(pa.timestamp("ns", "UTC"))}
    for j, name in enumerate(COLUMNS):
        columns[name] = pa.array([r[0][j] for r in rows], pa.string())
    columns["no_trade"] = pa.array([r[1] for r in rows], pa.bool_())
    meta = {
        "coverage": json.dumps(union(frame.coverage)),
        "sources": json.dumps(frame.sources),
        "granularity_s": str(frame.gran_s),
    }
    table = pa.table(columns, schema=_schema().with_metadata(meta))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def union(ranges: Iterable[tuple[int, int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


# ---- the read API backtests use ------------------------------------------------------------


def read_bars(catalog_dir: Path, symbol: str, granularity: str) -> BarSeries:
    """``symbol``'s bars of ``granularity`` (``1m``, ``ONE_HOUR``, ``120s``) from the catalogue,
    as the BarSeries a backtest replays; no-trade buckets are flat, zero-volume bars (those
    before any known close are left out)."""
    import pyarrow.compute as pc

    pa = pa_module()
    name, gran_s = gran_seconds(granularity)
    path = partition_path(catalog_dir, symbol, gran_s)
    if not path.is_file():
        raise UserError(
            f"the catalogue {catalog_dir} has no {name} bars of {symbol}; "
            "`gpt-trader data import` or `data download` them first"
        )
    table = read_table(path)
    table = table.filter(pc.is_valid(table.column("close")))
    if table.num_rows == 0:
        raise UserError(f"{path}: no bars")
    # Hundreds of thousands of new, acyclic objects: the cyclic collector would walk them
    # again and again while they are made, for nothing (it doubled the load time).
    paused = gc.isenabled()
    gc.disable()
    try:
        ts = table.column("ts").cast(pa.int64()).to_numpy().tolist()
        o, h, lo, c, v = (table.column(n).cast(pa.float64()).to_numpy().tolist() for n in COLUMNS)
        raw = list(zip(*(table.column(n).to_pylist() for n in COLUMNS), strict=True))
    finally:
        if paused:
            gc.enable()
    return BarSeries(symbol, gran_s, ts, o, h, lo, c, v, raw)


def parse_ref(text: str) -> tuple[Path, str, str]:
    """``catalog:BTC-USD@1m`` (the default catalogue) or ``catalog:DIR/BTC-USD@1m`` ->
    (catalogue dir, symbol, granularity)."""
    body = text[len(PREFIX) :]
    where, _, leaf = body.rpartition("/")
    symbol, sep, gran = leaf.partition("@")
    if not sep or not symbol or not gran:
        raise UserError(
            f"--data {text!r}: use catalog:SYMBOL@GRANULARITY, e.g. catalog:BTC-USD@1m "
            "(or catalog:DIR/BTC-USD@1m for another catalogue)"
        )
    return (Path(where).expanduser() if where else default_catalog()), symbol, gran


def is_ref(data: Path | str) -> bool:
    return str(data).startswith(PREFIX)


# ---- resample, export, list --------------------------------------------------------------


def resample(symbol: str, src_text: str, dst_text: str, catalog_dir: Path) -> dict[str, Any]:
    """Aggregate a partition into a coarser one (open first, high max, low min, close last,
    volume summed, exactly); only buckets the source covers whole are written."""
    src_name, src = gran_seconds(src_text)
    dst_name, dst = gran_seconds(dst_text)
    if dst <= src or dst % src:
        raise UserError(f"cannot resample {src_name} into {dst_name}: need a multiple of {src}s")
    source = read_frame(partition_path(catalog_dir, symbol, src), src)
    if not source.rows:
        raise UserError(f"the catalogue has no {src_name} bars of {symbol}")
    g = dst * NS
    whole = [(a + (-a) % g, b - b % g) for a, b in union(source.coverage)]
    buckets: dict[int, list[tuple[Row, bool]]] = {}
    for ts in sorted(source.rows):
        bucket = ts - ts % g
        if any(a <= bucket < b for a, b in whole):
            buckets.setdefault(bucket, []).append(source.rows[ts])
    out = Frame(dst, coverage=[(a, b) for a, b in whole if b > a])
    out.add_source(f"resample:{src_name}")
    for bucket, rows in buckets.items():
        priced = [r for r, _ in rows if r[3] is not None]
        if not priced:
            continue
        high = max(priced, key=lambda r: Decimal(r[1] or 0))[1]
        low = min(priced, key=lambda r: Decimal(r[2] or 0))[2]
        volume = sum((Decimal(r[4]) for r in priced), Decimal(0))
        quiet = all(flag for _, flag in rows)
        out.rows[bucket] = ((priced[0][0], high, low, priced[-1][3], str(volume)), quiet)
    target = partition_path(catalog_dir, symbol, dst)
    write_frame(target, out)
    return {
        "symbol": symbol,
        "from": src_name,
        "to": dst_name,
        "bars": len(out.rows),
        "file": str(target),
    }


def export_csv(symbol: str, gran_text: str, out_file: Path, catalog_dir: Path) -> dict[str, Any]:
    """The partition as a CSV ``backtest --data`` reads (no-trade buckets as flat bars)."""
    series = read_bars(catalog_dir, symbol, gran_text)
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{iso(t)},{','.join(r)}" for t, r in zip(series.ts, series.raw, strict=True)]
    out_file = Path(out_file)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out_file.name}.", dir=out_file.parent or ".")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, out_file)
    except OSError as exc:
        raise UserError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    return {"symbol": symbol, "rows": len(series), "file": str(out_file)}


def summary(catalog_dir: Path) -> list[dict[str, Any]]:
    """Per partition: bars, no-trade buckets, the range and the gaps (missing buckets)."""
    root = Path(catalog_dir)
    if not root.is_dir():
        return []
    by_name = dict(GRANULARITIES)
    out = []
    for path in sorted(root.glob("*/*.parquet")):
        stem = path.stem
        gran = by_name.get(stem) or (int(stem[:-1]) if stem[:-1].isdigit() else None)
        if gran is None:
            continue
        frame = read_frame(path, gran)
        ts = sorted(frame.rows)
        if not ts:
            continue
        g = gran * NS
        holes = [(a + g, b) for a, b in pairwise(ts) if b - a > g]
        gaps = [{"start": iso(a), "end": iso(b), "bars": (b - a) // g} for a, b in holes]
        out.append(
            {
                "symbol": path.parent.name,
                "granularity": stem,
                "bars": len(ts),
                "no_trade": sum(1 for _, flag in frame.rows.values() if flag),
                "start": iso(ts[0]),
                "end": iso(ts[-1] + g),
                "gaps": gaps,
                "missing": sum((b - a) // g for a, b in holes),
                "sources": frame.sources,
                "file": str(path),
            }
        )
    return out
