"""The candle cache: ``<state_dir>/candles.db`` (SQLite), filled by import or download.

Table ``candles``: one row per (symbol, granularity, bucket open time in ns), prices and
volume as the exact text the source gave, ``no_trade`` 1 for a bucket the venue returned no
candle for inside a range it was asked about (Coinbase leaves buckets without trades out of
its answers: that is a quiet market, not missing data). A no-trade bucket carries the
previous close as its OHLC and volume 0 (OHLC empty when no earlier close is known).
Table ``coverage``: the ranges already asked for (or imported), so a second download of the
same range sends no request.

Download speaks the Coinbase REST candles endpoint through the official SDK
(``coinbase-advanced-py``'s ``RESTClient.get_public_candles``, reached through the Coinbase
adapter's :mod:`gpt_trader_coinbase.sdk`, as are Coinbase's granularity names): pages of at most 300
buckets, ``start``/``end`` as UNIX-second strings, candles newest first. ``--sim-json``
points it at the Coinbase-protocol simulator (its ``rest_base_url``, trusting its
``cert_file`` through ``REQUESTS_CA_BUNDLE``). The bucket still forming is never stored.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError
from gpt_trader_coinbase.candles import granularity, granularity_name
from gpt_trader_coinbase.sdk import response_data, rest_client, trusting
from gpt_trader_coinbase.target import read_sim_json

from gpt_trader_research.results import iso

NS = 1_000_000_000
DB_NAME = "candles.db"
PAGE = 300


def parse_time(text: str, option: str) -> int:
    """ISO-8601 (UTC when naive) or UNIX seconds -> int ns."""
    raw = text.strip()
    try:
        if raw.isdigit():
            return int(raw) * NS
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{option} {text!r}: use ISO-8601 (2025-05-20T00:00Z) or UNIX seconds"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * NS + dt.microsecond * 1000


# ---- the database ------------------------------------------------------------------------


def open_cache(state_dir: Path) -> sqlite3.Connection:
    try:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(Path(state_dir) / DB_NAME)
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS candles (
                symbol TEXT NOT NULL,
                granularity_s INTEGER NOT NULL,
                ts INTEGER NOT NULL,
                open TEXT,
                high TEXT,
                low TEXT,
                close TEXT,
                volume TEXT NOT NULL,
                no_trade INTEGER NOT NULL DEFAULT 0,
                source TEXT NOT NULL,
                PRIMARY KEY (symbol, granularity_s, ts)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS coverage (
                symbol TEXT NOT NULL,
                granularity_s INTEGER NOT NULL,
                start_ts INTEGER NOT NULL,
                end_ts INTEGER NOT NULL,
                source TEXT NOT NULL,
                recorded_ts INTEGER NOT NULL
            );
            """
        )
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"cannot open the candle cache in {state_dir}: {exc}") from None
    return conn


_UPSERT = (
    "INSERT OR REPLACE INTO candles (symbol, granularity_s, ts, open, high, low, close, volume,"
    " no_trade, source) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def _cover(
    conn: sqlite3.Connection, symbol: str, gran: int, start: int, end: int, source: str
) -> None:
    conn.execute(
        "INSERT INTO coverage VALUES (?,?,?,?,?,?)",
        (symbol, gran, start, end, source, time.time_ns()),
    )


def _covered(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    """Is [start, end) inside the union of ``intervals`` (sorted by start)?"""
    reach = start
    for a, b in intervals:
        if a > reach:
            break
        reach = max(reach, b)
        if reach >= end:
            return True
    return reach >= end


# ---- import ------------------------------------------------------------------------------


def _parquet_rows(path: Path) -> Iterator[tuple[int, str, str, str, str, str]]:
    from gpt_trader_research.universe import read_parquet

    table = read_parquet(path)
    cols = {c.lower(): c for c in table.column_names}
    ts_col = next((cols[c] for c in ("timestamp", "time", "date", "open_time") if c in cols), None)
    if ts_col is None or any(c not in cols for c in ("open", "high", "low", "close", "volume")):
        raise UserError(f"{path}: needs columns timestamp,open,high,low,close,volume")
    data = {
        k: table.column(cols[k]).to_pylist() for k in ("open", "high", "low", "close", "volume")
    }
    for i, t in enumerate(table.column(ts_col).to_pylist()):
        if isinstance(t, datetime):
            ts = int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp() * NS)
        else:
            ts = int(t) * (1_000_000 if int(t) >= 100_000_000_000 else NS)
        yield ts, *(str(data[k][i]) for k in ("open", "high", "low", "close", "volume"))  # type: ignore[misc]


def import_file(path: Path, symbol: str, state_dir: Path) -> dict[str, Any]:
    """Import a CSV (the format ``backtest`` reads) or a parquet file into the cache."""
    from gpt_trader.sim.csvfeed import parse_csv

    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        rows = list(_parquet_rows(path))
        if len(rows) < 2:
            raise UserError(f"{path}: fewer than two rows")
        gran = (rows[1][0] - rows[0][0]) // NS
    else:
        series = parse_csv(path, symbol)
        gran = series.interval_s
        rows = [(ts, *raw) for ts, raw in zip(series.ts, series.raw, strict=True)]
    source = f"import:{path.name}"
    conn = open_cache(state_dir)
    try:
        with conn:
            conn.executemany(
                _UPSERT,
                [(symbol, gran, ts, o, h, lo, c, v, 0, source) for ts, o, h, lo, c, v in rows],
            )
            _cover(conn, symbol, gran, rows[0][0], rows[-1][0] + gran * NS, source)
    finally:
        conn.close()
    return {
        "symbol": symbol,
        "granularity": granularity_name(gran),
        "granularity_s": gran,
        "rows": len(rows),
        "start": iso(rows[0][0]),
        "end": iso(rows[-1][0] + gran * NS),
        "db": str(Path(state_dir) / DB_NAME),
    }


# ---- download ----------------------------------------------------------------------------


def _client(sim_json: Path | None) -> tuple[Any, str | None, str]:
    # The SDK logs every HTTP error through a stderr handler of its own; the command
    # reports failures itself, in one line.
    logging.getLogger("coinbase.RESTClient").setLevel(logging.CRITICAL)
    if sim_json is None:
        return rest_client(timeout=30), None, "coinbase"
    try:
        sim = read_sim_json(sim_json)
    except UserError as exc:
        raise UserError(f"--sim-json: {exc}") from None
    return rest_client(base_url=sim.rest_host, timeout=30), sim.ca_file, f"sim:{sim.rest_host}"


def _fetch(client: Any, symbol: str, name: str, start_s: int, end_s: int) -> list[dict[str, Any]]:
    """One page, with a few retries on rate limits and server errors."""
    delay = 0.5
    for attempt in range(4):
        try:
            resp = client.get_public_candles(
                product_id=symbol, start=str(start_s), end=str(end_s), granularity=name
            )
            break
        except Exception as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status in (429, 500, 502, 503, 504) and attempt < 3:
                time.sleep(delay)
                delay *= 2
                continue
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"candles {symbol} {name} {start_s}..{end_s}: {text}") from None
    return list(response_data(resp).get("candles") or [])


def _dec_text(value: Any, what: str) -> str:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise UserError(f"the venue sent a candle {what} that is not a number: {value!r}") from None
    if not d.is_finite():
        raise UserError(f"the venue sent a candle {what} that is not finite: {value!r}")
    return str(value)


def download_candles(
    symbol: str,
    gran_text: str,
    start_text: str,
    end_text: str,
    state_dir: Path,
    *,
    sim_json: Path | None = None,
    refresh: bool = False,
    now_ns: int | None = None,
) -> dict[str, Any]:
    """Fill the cache with ``symbol``'s buckets whose open time is in [start, end)."""
    name, gran = granularity(gran_text)
    g = gran * NS
    start = parse_time(start_text, "--start")
    end = parse_time(end_text, "--end")
    if end <= start:
        raise UserError("--end must be after --start")
    start -= start % g
    now = time.time_ns() if now_ns is None else now_ns
    forming = now - now % g  # the bucket still forming opens here: not stored
    clamped = end > forming
    end = min(end, forming)
    if end % g:
        end += g - end % g
    client, cert, source = _client(sim_json)
    conn = open_cache(state_dir)
    pages = fetched = cached = candles = no_trade = 0
    try:
        intervals = sorted(
            conn.execute(
                "SELECT start_ts, end_ts FROM coverage WHERE symbol = ? AND granularity_s = ?",
                (symbol, gran),
            ).fetchall()
        )
        prev = conn.execute(
            "SELECT close FROM candles WHERE symbol = ? AND granularity_s = ? AND ts < ? "
            "AND close IS NOT NULL ORDER BY ts DESC LIMIT 1",
            (symbol, gran, start),
        ).fetchone()
        last_close: str | None = prev[0] if prev else None
        with trusting(cert):
            p0 = start
            while p0 < end:
                p1 = min(p0 + PAGE * g, end)
                pages += 1
                if not refresh and _covered(intervals, p0, p1):
                    cached += 1
                    row = conn.execute(
                        "SELECT close FROM candles WHERE symbol = ? AND granularity_s = ? AND ts < ?"
                        " AND close IS NOT NULL ORDER BY ts DESC LIMIT 1",
                        (symbol, gran, p1),
                    ).fetchone()
                    last_close = row[0] if row else last_close
                    p0 = p1
                    continue
                got = _fetch(client, symbol, name, p0 // NS, (p1 - 1) // NS)
                fetched += 1
                by_ts: dict[int, dict[str, Any]] = {}
                for c in got:
                    ts = int(c["start"]) * NS
                    if p0 <= ts < p1 and ts % g == 0:
                        by_ts[ts] = c
                rows = []
                for ts in range(p0, p1, g):
                    bucket = by_ts.get(ts)
                    if bucket is None:
                        no_trade += 1
                        rows.append(
                            (
                                symbol,
                                gran,
                                ts,
                                last_close,
                                last_close,
                                last_close,
                                last_close,
                                "0",
                                1,
                                source,
                            )
                        )
                        continue
                    o, h, lo, cl = (
                        _dec_text(bucket[k], k) for k in ("open", "high", "low", "close")
                    )
                    rows.append(
                        (
                            symbol,
                            gran,
                            ts,
                            o,
                            h,
                            lo,
                            cl,
                            _dec_text(bucket["volume"], "volume"),
                            0,
                            source,
                        )
                    )
                    last_close = cl
                    candles += 1
                with conn:
                    conn.executemany(_UPSERT, rows)
                    _cover(conn, symbol, gran, p0, p1, source)
                p0 = p1
    finally:
        conn.close()
    return {
        "symbol": symbol,
        "granularity": name,
        "start": iso(start),
        "end": iso(end),
        "clamped_to_last_complete_bucket": clamped,
        "pages": pages,
        "pages_fetched": fetched,
        "pages_cached": cached,
        "candles": candles,
        "no_trade": no_trade,
        "source": source,
        "db": str(Path(state_dir) / DB_NAME),
    }


# ---- export and summary ------------------------------------------------------------------


def export_csv(
    symbol: str,
    gran_text: str,
    out_file: Path,
    state_dir: Path,
    *,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """Write the cached bars (no-trade buckets as flat, zero-volume bars) as a CSV."""
    name, gran = granularity(gran_text)
    db = Path(state_dir) / DB_NAME
    if not db.is_file():
        raise UserError(f"no candle cache in {state_dir}; import or download first")
    lo = parse_time(start, "--start") if start else 0
    hi = parse_time(end, "--end") if end else 2**62
    conn = open_cache(state_dir)
    try:
        rows = conn.execute(
            "SELECT ts, open, high, low, close, volume FROM candles WHERE symbol = ? AND "
            "granularity_s = ? AND ts >= ? AND ts < ? AND open IS NOT NULL ORDER BY ts",
            (symbol, gran, lo, hi),
        ).fetchall()
    finally:
        conn.close()
    if not rows:
        raise UserError(f"the cache has no {name} bars of {symbol} in that range")
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{iso(ts)},{o},{h},{lo_},{c},{v}" for ts, o, h, lo_, c, v in rows]
    try:
        Path(out_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    return {"symbol": symbol, "granularity": name, "rows": len(rows), "file": str(out_file)}


def cache_summary(state_dir: Path) -> list[dict[str, Any]]:
    db = Path(state_dir) / DB_NAME
    if not db.is_file():
        return []
    conn = open_cache(state_dir)
    try:
        rows = conn.execute(
            "SELECT symbol, granularity_s, COUNT(*), SUM(no_trade), MIN(ts), MAX(ts), "
            "GROUP_CONCAT(DISTINCT source) FROM candles GROUP BY symbol, granularity_s "
            "ORDER BY symbol, granularity_s"
        ).fetchall()
    finally:
        conn.close()
    return [
        {
            "symbol": s,
            "granularity": granularity_name(g),
            "bars": n,
            "no_trade": int(nt or 0),
            "start": iso(a),
            "end": iso(b + g * NS),
            "sources": sorted(str(src).split(",")),
        }
        for s, g, n, nt, a, b, src in rows
    ]
