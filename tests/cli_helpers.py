"""Helpers for cross-package tests: run the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
T = TypeVar("T")


def gpt_trader(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess exactly as `uv run gpt-trader ...` would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gpt_trader", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_json(*args: str, **kw: Any) -> dict[str, Any]:
    proc = gpt_trader(*args, "--json", **kw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@contextmanager
def running_bot(*args: str, cwd: Path = REPO) -> Iterator[subprocess.Popen[str]]:
    """``gpt-trader run ARGS`` in the background; terminated (then killed) if still running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpt_trader", "run", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Terminate ``proc`` if it still runs; kill it when it does not stop in ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# A bot started with this in its environment prints every thread's stack on SIGABRT.
DUMPS_STACKS = {"PYTHONFAULTHANDLER": "1"}


def communicate_or_dump(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """``proc.communicate(timeout)``; a process still running then is aborted and the test
    fails with where each of its threads was stuck (start it with :data:`DUMPS_STACKS`)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _out, err = proc.communicate(timeout=30)
        raise AssertionError(
            f"still running after {timeout:g}s; its threads:\n{err[-6000:]}"
        ) from None


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 90.0) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
