"""A process killed with SIGKILL right after ``record_intent`` returns keeps the intent."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    """
    import sys, time
    from decimal import Decimal
    from gpt_trader.domain import OrderRequest, OrderType, Side
    from gpt_trader.domain.events import RunStarted
    from gpt_trader.store import Store, StoreSink

    store = Store(sys.argv[1])
    store.start_run("run-k", "dev", "live", 1)
    sink = StoreSink(store, "run-k", max_delay_s=3600)
    sink.handle(RunStarted(1, "run-k", "dev", "live"))  # buffered, never flushed
    request = OrderRequest(
        "kill-1", "BTC-USD", Side.BUY, Decimal("0.00000001"), OrderType.LIMIT,
        limit_price=Decimal("105573.73"),
    )
    store.record_intent(request, 2)
    print("ok", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_intent_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "state" / "gpt_trader.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ok", proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT status, size, limit_price, run_id FROM orders WHERE client_order_id = 'kill-1'"
        ).fetchone()
        buffered = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()
    assert row == ("PENDING", "0.00000001", "105573.73", "run-k")
    assert buffered == 0  # the batched event log is what a kill may lose, by design
