"""Datasette over the store while a bot is writing it: the canned queries answer, the bot
keeps writing (a read-only reader never locks it), and the snapshot mode serves a copy."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import stop, wait_for

pytest.importorskip("datasette", reason="db browse is the [browse] extra")


def fetch(url: str) -> Any:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def start(*args: str, stdout: int = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gpt_trader", *args],
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.fixture
def writing_bot(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    bot = start("run", "--profile", "dev", "--state-dir", str(tmp_path), "--for", "60s",
                stdout=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while not (tmp_path / "gpt_trader.db").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    yield tmp_path, bot
    stop(bot)


@pytest.mark.parametrize("snapshot", [False, True])
def test_browse_while_the_bot_writes(writing_bot: tuple[Path, Any], snapshot: bool) -> None:
    state, bot = writing_bot
    args = ["db", "browse", "--state-dir", str(state)] + (["--snapshot"] if snapshot else [])
    server = start(*args)
    try:
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["url"]
        time.sleep(3)  # let the bot trade a little
        fees = fetch(f"{url}/fees_by_product.json?_shape=array")
        runs = fetch(f"{url}/runs.json?_shape=array")
        assert runs
        assert runs[0]["profile"] == "dev"
        for name in ("pnl_by_day", "slippage", "guard_trips"):
            assert isinstance(fetch(f"{url}/{name}.json?_shape=array"), list)
        if fees:
            assert {"symbol", "fills", "fees"} <= set(fees[0])
        tables = fetch(f"{url}.json")
        assert "fills" in {t["name"] for t in tables["tables"]}
        # Writes never need the server: the bot is still running and its store growing.
        before = len(fetch(f"{url}/events.json?_shape=array&_size=max"))
        assert bot.poll() is None
    finally:
        stop(server)
    assert bot.poll() is None or bot.returncode == 0
    assert before > 0
    # the server went with the command (a SIGTERM once left datasette orphaned on the port)
    wait_for(lambda: not _answers(url), "datasette to stop with the command", timeout=20)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}.json", timeout=2):
            return True
    except OSError:
        return False


def test_browse_without_a_store_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gpt_trader", "db", "browse", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "no store" in proc.stderr
