"""``gpt-trader db browse``: Datasette over the store, read-only.

By default Datasette reads the live file over read-only connections: in WAL mode a reader
never blocks the bot's writer. ``--snapshot`` serves a consistent copy instead (taken with
SQLite's backup API, served ``--immutable``). The metadata describes each table and adds
the canned queries a trader asks first.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError

from gpt_trader_analysis.tables import DB_FILE

DATABASE = "gpt_trader"
# Canned queries. Sums of decimal text are done by SQLite in floating point and shown
# rounded to the cent; exact figures come from `gpt-trader export`.
QUERIES: dict[str, dict[str, str]] = {
    "pnl_by_day": {
        "title": "P&L by day and product (realised, net of fees)",
        "sql": """
SELECT date(ts / 1000000000, 'unixepoch') AS day,
       json_extract(payload, '$.fill.symbol') AS symbol,
       count(*) AS fills,
       printf('%.2f', sum(CAST(json_extract(payload, '$.realized_pnl') AS REAL))) AS realized,
       printf('%.2f', sum(CAST(json_extract(payload, '$.fill.fee') AS REAL))) AS fees,
       printf('%.2f', sum(CAST(json_extract(payload, '$.realized_pnl') AS REAL))
                    - sum(CAST(json_extract(payload, '$.fill.fee') AS REAL))) AS net
FROM events WHERE type = 'fill'
GROUP BY day, symbol ORDER BY day, symbol""",
    },
    "fees_by_product": {
        "title": "Fees by product",
        "sql": """
SELECT symbol, count(*) AS fills,
       printf('%.2f', sum(CAST(fee AS REAL))) AS fees,
       sum(liquidity = 'MAKER') AS maker_fills, sum(liquidity = 'TAKER') AS taker_fills
FROM fills GROUP BY symbol ORDER BY sum(CAST(fee AS REAL)) DESC""",
    },
    "slippage": {
        "title": "Slippage: fill price against the last market price when the order was decided",
        "sql": """
SELECT trade_id, symbol, side, price, decision_price,
       printf('%.1f', (CAST(price AS REAL) - decision_price) / decision_price * 10000
              * (CASE side WHEN 'BUY' THEN 1 ELSE -1 END)) AS slippage_bps
FROM (
  SELECT f.trade_id, f.symbol, f.side, f.price,
         (SELECT CAST(coalesce(json_extract(e.payload, '$.event.close'),
                               json_extract(e.payload, '$.event.price')) AS REAL)
          FROM events e
          WHERE e.type = 'market' AND e.ts <= o.created_ts
            AND json_extract(e.payload, '$.event.symbol') = f.symbol
          ORDER BY e.id DESC LIMIT 1) AS decision_price
  FROM fills f JOIN orders o ON o.client_order_id = f.client_order_id
) WHERE decision_price IS NOT NULL ORDER BY trade_id""",
    },
    "guard_trips": {
        "title": "Guard trips",
        "sql": """
SELECT datetime(ts / 1000000000, 'unixepoch') AS time,
       json_extract(payload, '$.result.guard') AS guard,
       json_extract(payload, '$.result.severity') AS severity,
       json_extract(payload, '$.stage') AS stage,
       json_extract(payload, '$.result.message') AS message
FROM events WHERE type = 'guard.trip' AND json_extract(payload, '$.result.severity') != 'OK'
ORDER BY id DESC""",
    },
}
TABLES = {
    "runs": "One row per run: profile, mode, start and stop, its summary (JSON).",
    "events": "Append-only log of every domain event (JSON payload), in order.",
    "orders": "Every order the bot placed, its latest state; money as exact decimal text.",
    "fills": "Every fill, exactly once by trade id; immutable.",
    "positions": "Positions as the last run saved them.",
    "operator_actions": "Operator commands (pause, resume, ...) and the run that applied them.",
    "funding": "Perpetual funding payments, exactly once.",
    "inventory_adjustments": "Inventory handed to the bot (adopted) or taken from it.",
    "products": "The products each run traded, with their increments.",
}


def metadata() -> dict[str, Any]:
    return {
        "title": "GPT-Trader store",
        "description": "Read-only. Timestamps are nanoseconds since the epoch, UTC; money is "
        "exact decimal text.",
        "databases": {
            DATABASE: {
                "tables": {name: {"description": text} for name, text in TABLES.items()},
                "queries": QUERIES,
            }
        },
    }


def _datasette() -> str:
    try:
        import datasette  # noqa: F401
    except ImportError:
        raise UserError(
            "db browse needs Datasette: pip install 'gpt-trader-analysis[browse]'"
        ) from None
    return sys.executable


def prepare(state_dir: Path, workdir: Path, snapshot: bool) -> list[str]:
    """The Datasette arguments for ``state_dir``'s store; files go in ``workdir``."""
    db = state_dir / DB_FILE
    if not db.is_file():
        raise UserError(f"no store in {state_dir} (expected {db}); run the bot there first")
    (workdir / "metadata.json").write_text(json.dumps(metadata(), indent=1))
    served = workdir / f"{DATABASE}.db"
    if snapshot:
        source = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)
        target = sqlite3.connect(served)
        try:
            source.backup(target)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"cannot read {db}: {exc}") from None
        finally:
            source.close()
            target.close()
        return ["--immutable", str(served)]
    # Datasette names a database by its file: the store's is gpt_trader.db already.
    return [str(db.resolve())]


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def browse(state_dir: Path, host: str, port: int, snapshot: bool) -> int:
    python = _datasette()
    workdir = Path(tempfile.mkdtemp(prefix="gpt-trader-browse-"))
    try:
        args = prepare(state_dir, workdir, snapshot)
        port = port or _free_port(host)
        ready = {"url": f"http://{host}:{port}/{DATABASE}", "snapshot": snapshot}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        cmd = [python, "-m", "datasette", "serve", *args, "--metadata",
               str(workdir / "metadata.json"), "--host", host, "--port", str(port),
               "--setting", "sql_time_limit_ms", "5000"]  # fmt: skip
        proc = subprocess.Popen(cmd)  # noqa: S603 - our interpreter, our arguments
        # A supervisor's SIGTERM ends the server too, as Ctrl-C does: it once left
        # datasette running, orphaned, on the port.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            return proc.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
