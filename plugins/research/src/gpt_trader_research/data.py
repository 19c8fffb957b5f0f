"""``data download``: Coinbase public candles into the catalogue, a page at a time.

Download speaks the Coinbase REST candles endpoint through the official SDK
(``coinbase-advanced-py``'s ``RESTClient.get_public_candles``, reached through the Coinbase
adapter's :mod:`gpt_trader_coinbase.sdk`): pages of at most 300 buckets, ``start``/``end``
as UNIX-second strings, candles newest first. ``--sim-json`` points it at the
Coinbase-protocol simulator (its ``rest_base_url``, trusting its ``cert_file`` through
``REQUESTS_CA_BUNDLE``). The bucket still forming is never stored. Pages the catalogue
(:mod:`gpt_trader_research.catalog`) already covers are not asked again, so a second run
fetches only what is missing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError
from gpt_trader_coinbase.candles import granularity
from gpt_trader_coinbase.sdk import response_data, rest_client, trusting
from gpt_trader_coinbase.target import read_sim_json

from gpt_trader_research import catalog
from gpt_trader_research.results import iso

NS = 1_000_000_000
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


def client_for(sim_json: Path | None) -> tuple[Any, str | None, str]:
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


def fetch_page(
    client: Any, symbol: str, name: str, start_s: int, end_s: int
) -> list[dict[str, Any]]:
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


def dec_text(value: Any, what: str) -> str:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise UserError(f"the venue sent a candle {what} that is not a number: {value!r}") from None
    if not d.is_finite():
        raise UserError(f"the venue sent a candle {what} that is not finite: {value!r}")
    return str(value)


def download(
    symbol: str,
    gran_text: str,
    start_text: str,
    end_text: str,
    catalog_dir: Path,
    *,
    sim_json: Path | None = None,
    refresh: bool = False,
    now_ns: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fill the catalogue with ``symbol``'s buckets whose open time is in [start, end), a
    page of 300 at a time, skipping the pages already covered (unless ``refresh``)."""
    catalog.check_symbol(symbol)
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
    client, cert, source = client_for(sim_json)
    target = catalog.partition_path(catalog_dir, symbol, gran)
    frame = catalog.read_frame(target, gran)
    frame.add_source(source)
    pages = fetched = cached = candles = no_trade = 0
    total_pages = -(-(end - start) // (PAGE * g)) if end > start else 0
    tick = progress or (lambda _done, _total: None)
    try:
        with trusting(cert):
            last_close = frame.last_close(start)
            p0 = start
            while p0 < end:
                p1 = min(p0 + PAGE * g, end)
                pages += 1
                tick(pages, total_pages)
                if not refresh and frame.covered(p0, p1):
                    cached += 1
                    last_close = frame.last_close(p1) or last_close
                    p0 = p1
                    continue
                got = fetch_page(client, symbol, name, p0 // NS, (p1 - 1) // NS)
                fetched += 1
                by_ts = {int(c["start"]) * NS: c for c in got}
                for ts in range(p0, p1, g):
                    bucket = by_ts.get(ts)
                    if bucket is None:
                        no_trade += 1
                        quiet = last_close
                        frame.rows[ts] = ((quiet, quiet, quiet, quiet, "0"), True)
                        continue
                    o, h, lo, c, v = (dec_text(bucket[k], k) for k in catalog.COLUMNS)
                    frame.rows[ts] = ((o, h, lo, c, v), False)
                    last_close = c
                    candles += 1
                frame.coverage.append((p0, p1))
                p0 = p1
    finally:
        # what was fetched is kept even when a later page fails: the next run resumes there
        if fetched:
            catalog.write_frame(target, frame)
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
        "file": str(target),
    }
