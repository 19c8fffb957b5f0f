"""The exchange gone mid-run: the simulator on loopback killed while the bot trades on it.

The outage shows in the run's summary (time disconnected, share of the run), in ``status``
while it lasts, as ``connection.status`` events (the ops plugin's metrics and alerts read
them), and a run that spent most of its time disconnected exits 3.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cli_helpers import DUMPS_STACKS, REPO, communicate_or_dump, gpt_trader, run_json, wait_for

EXIT_MOSTLY_DISCONNECTED = 3


def serve(state: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpt_trader", "sim", "serve", "--state-dir", str(state),
         "--products", "BTC-USD,ETH-USD", "--tick", "0.2", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )  # fmt: skip
    json.loads(proc.stdout.readline())  # up once it has said where it listens
    return proc, state / "sim.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot(state: Path, sim_json: Path, seconds: int, port: int) -> subprocess.Popen[str]:
    # The shipped coinbase-sim profile, with the ops plugin's alerts written to the state dir.
    profile = state.parent / "coinbase-sim-alerts.toml"
    shipped = (REPO / "config" / "profiles" / "coinbase-sim.toml").read_text()
    profile.write_text(shipped + '\n[[sinks]]\nuse = "alerts"\n')
    return subprocess.Popen(
        [sys.executable, "-m", "gpt_trader", "run", "--profile", str(profile),
         "--state-dir", str(state), "--for", f"{seconds}s", "--json",
         "--metrics-port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, **DUMPS_STACKS, "GPT_TRADER_COINBASE_SIM": str(sim_json)},
    )  # fmt: skip


def link_metric(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
    except OSError:
        return None
    found = re.search(r'gpt_trader_connection_up\{component="coinbase.market"\} (\S+)', text)
    return found.group(1) if found else None


def events(state: Path) -> int:
    proc = gpt_trader("status", "--state-dir", str(state), "--json")
    return json.loads(proc.stdout)["counts"].get("events", 0) if proc.returncode == 0 else 0


def test_a_run_that_lost_the_exchange_says_so_and_exits_3(tmp_path: Path) -> None:
    sim, sim_json = serve(tmp_path / "sim")
    state, port = tmp_path / "bot", free_port()
    run = bot(state, sim_json, seconds=20, port=port)
    try:
        wait_for(lambda: (state / "gpt_trader.db").exists() and events(state) > 5, "market data")
        assert wait_for(lambda: link_metric(port), "the link metric") == "1.0"
        sim.kill()
        sim.wait(timeout=10)
        down = wait_for(
            lambda: run_json("status", "--state-dir", str(state))["connectivity"].get("down"),
            "status to show the lost connection",
        )
        assert "coinbase.market" in down
        wait_for(lambda: link_metric(port) == "0.0", "the metric to show the link down")
        out, err = communicate_or_dump(run, timeout=90)
    finally:
        for proc in (sim, run):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    assert run.returncode == EXIT_MOSTLY_DISCONNECTED, err[-3000:]
    summary = json.loads(out)
    conn = summary["connectivity"]
    assert conn["outages"] >= 1
    assert conn["disconnected_share"] > 0.5
    assert conn["disconnected_s"] > 5
    assert "coinbase.market" in conn["down"]
    assert any("unreachable" in w for w in summary["warnings"])
    lines = [x for x in err.strip().splitlines() if x.startswith("gpt-trader: error:")]
    assert len(lines) == 1
    assert "unreachable" in lines[0]
    after = run_json("status", "--state-dir", str(state))
    assert after["connectivity"]["outages"] >= 1
    assert after["connectivity"]["disconnected_share"] > 0.5
    status_text = gpt_trader("status", "--state-dir", str(state), env={"COLUMNS": "200"}).stdout
    assert "venue unreachable" in status_text
    alerts = [json.loads(x) for x in (state / "alerts.jsonl").read_text().splitlines()]
    lost = [a for a in alerts if a["rule"] == "connection_lost"]
    assert lost
    assert "coinbase.market" in lost[0]["message"]


def test_for_bounds_the_whole_run(tmp_path: Path) -> None:
    # --for counts from the command's start; an order call in flight may add its timeout.
    started = time.monotonic()
    proc = gpt_trader("run", "--profile", "dev", "--state-dir", str(tmp_path / "s"),
                      "--for", "3s", "--json")  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["stop_reason"] == "duration"
    assert elapsed < 3 + 5 + 5, elapsed  # the bound, one in-flight timeout, slack
    help_text = " ".join(gpt_trader("run", "--help", env={"COLUMNS": "200"}).stdout.split())
    assert "this long after the command starts (start-up and reconcile count)" in help_text
    assert "exits 0 when the run ended as asked, 2 on bad input, and 3" in help_text.lower()
