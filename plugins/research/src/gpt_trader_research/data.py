"""Coinbase public candles, a page at a time: what ``data download`` asks the venue.

Download speaks the Coinbase REST candles endpoint through the official SDK
(``coinbase-advanced-py``'s ``RESTClient.get_public_candles``, reached through the Coinbase
adapter's :mod:`gpt_trader_coinbase.sdk`): pages of at most 300 buckets, ``start``/``end``
as UNIX-second strings, candles newest first. ``--sim-json`` points it at the
Coinbase-protocol simulator (its ``rest_base_url``, trusting its ``cert_file`` through
``REQUESTS_CA_BUNDLE``). The catalogue that keeps the bars is :mod:`gpt_trader_research.catalog`.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError
from gpt_trader_coinbase.sdk import response_data, rest_client
from gpt_trader_coinbase.target import read_sim_json

NS = 1_000_000_000


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
