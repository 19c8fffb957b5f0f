"""A process killed with SIGKILL right after ``record_intent`` returns keeps the intent."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.domain import OrderStatus
from gpt_trader.store import Store, intents_path

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
    # The intent is in the intent file, committed; the batched event log is what a kill
    # may lose, by design.
    conn = sqlite3.connect(intents_path(db))
    try:
        kept = conn.execute(
            "SELECT run_id, row FROM intents WHERE client_order_id = 'kill-1'"
        ).fetchone()
    finally:
        conn.close()
    assert kept is not None
    assert kept[0] == "run-k"
    intent = json.loads(kept[1])
    assert (intent["status"], intent["size"], intent["limit_price"]) == (
        "PENDING",
        "0.00000001",
        "105573.73",
    )
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    finally:
        conn.close()
    # The next store to open it (a restart) finds the order PENDING among the orders.
    with Store(db) as store:
        order = store.order("kill-1")
        assert order is not None
        assert (order.status, order.size, order.limit_price) == (
            OrderStatus.PENDING,
            Decimal("0.00000001"),
            Decimal("105573.73"),
        )
        assert [o.client_order_id for o in store.working_orders()] == ["kill-1"]
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT status, run_id FROM orders WHERE client_order_id = 'kill-1'"
        ).fetchone()
    finally:
        conn.close()
    assert row == ("PENDING", "run-k")
