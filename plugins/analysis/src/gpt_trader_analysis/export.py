"""``gpt-trader export``: one table of the store to CSV, JSONL or Parquet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gpt_trader.errors import UserError

from gpt_trader_analysis.tables import TABLES, read_only, read_table
from gpt_trader_analysis.writers import FORMATS, write


def parse_since(text: str) -> int:
    """A UTC date or date-time as nanoseconds since the epoch."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--since {text!r} is not a date or date-time (e.g. 2026-12-01 or 2026-12-01T10:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ns = int(when.timestamp() * 1_000_000_000)
    if not 0 <= ns < 2**63:
        raise UserError(f"--since {text!r} is outside the store's time range (1970 to 2262)")
    return ns


def export_table(
    state_dir: Path, fmt: str, table: str, since: str | None, run: str | None, out: Path | None
) -> None:
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if table not in TABLES:
        raise UserError(f"--table {table!r} is not one of {', '.join(TABLES)}")
    since_ns = parse_since(since) if since else None
    with read_only(state_dir) as conn:
        data = read_table(conn, table, since_ns, run)
    write(data, fmt, out)
