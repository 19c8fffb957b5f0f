"""A ``$GPT_TRADER_COINBASE_SIM`` that names an unusable sim.json is one line and exit 2, at
once: a closed port (it used to retry for ten seconds and end in a traceback), a cert file
that is gone, a file holding a JSON list or lacking fields. The CLI runs as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import FAST, assert_refused

BIN = Path(sys.executable).parent / "gpt-trader"


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sim.json of a simulator that ran and stopped: its port is closed."""
    sim = SimulatorThread(tmp_path_factory.mktemp("sim"), products=["BTC-USD"], **FAST)
    sim.start()
    sim.stop()
    path = Path(sim.info.state_dir) / "sim.json"
    return {"path": str(path), **json.loads(path.read_text())}


def account(sim_json: Path | str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "account", "--profile", "coinbase-sim", "--state-dir", str(state_dir)],
        env={**os.environ, "GPT_TRADER_COINBASE_SIM": str(sim_json)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_closed_port_is_one_line_at_once(stopped, tmp_path):
    began = time.monotonic()
    run = account(stopped["path"], tmp_path / "bot")
    took = time.monotonic() - began
    assert_refused(
        run, stopped["path"], stopped["rest_base_url"], "Connection refused", "sim serve"
    )
    # No retries: the refusal is the probe's, not the end of ten REST attempts.
    assert "gave up after" not in run.stderr, took
    assert not (tmp_path / "bot").exists()


def test_a_missing_cert_file(stopped, tmp_path):
    info = {k: v for k, v in stopped.items() if k != "path"}
    info["cert_file"] = str(tmp_path / "gone" / "cert.pem")
    path = tmp_path / "sim.json"
    path.write_text(json.dumps(info))
    run = account(path, tmp_path / "bot")
    assert_refused(run, str(path), "cert_file", info["cert_file"], "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.json"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[1, 2]", ("holds a JSON list", "not a sim.json object")),
        ('"text"', ("holds a JSON str",)),
        ("{}", ("lacks rest_base_url, ws_url", "a sim.json has")),
        ('{"rest_base_url": 5}', ("lacks rest_base_url",)),
        ('{"rest_base_url": "127', ("is not JSON",)),
        ("", ("is not JSON",)),
    ],
    ids=["list", "string", "empty-object", "wrong-type", "truncated", "empty-file"],
)
def test_a_malformed_sim_json(tmp_path, content, words):
    path = tmp_path / "sim.json"
    path.write_text(content)
    run = account(path, tmp_path / "bot")
    assert_refused(run, str(path), *words)
    assert "indices must be integers" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.json"]


def test_run_against_a_closed_port_leaves_no_store(stopped, tmp_path):
    """`run` opens the store before it builds the broker; refused, it takes it back."""
    run = subprocess.run(
        [str(BIN), "run", "--profile", "coinbase-sim", "--state-dir", str(tmp_path / "bot"),
         "--for", "5s"],
        env={**os.environ, "GPT_TRADER_COINBASE_SIM": stopped["path"]},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert_refused(run, stopped["path"], "Connection refused")
    assert not (tmp_path / "bot").exists()
    # A state dir the bot already had keeps its store.
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    subprocess.run(
        [str(BIN), "run", "--profile", "coinbase-sim", "--state-dir", str(kept), "--for", "5s"],
        env={**os.environ, "GPT_TRADER_COINBASE_SIM": stopped["path"]},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
