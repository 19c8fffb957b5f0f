"""Starting and stopping the web server as a user does (``gpt-trader web``)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cli_helpers import stop

__all__ = ["WebServer", "dev_bot", "start_web", "stop"]


@dataclass
class WebServer:
    url: str
    token_file: Path
    proc: subprocess.Popen[str]

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()


def start_web(state_dir: Path, *args: str) -> WebServer:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpt_trader", "web", "--state-dir", str(state_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=10)
        raise AssertionError(f"web did not start: {proc.stderr.read() if proc.stderr else ''}")
    ready = json.loads(line)
    return WebServer(ready["url"], Path(ready["token_file"]), proc)


def dev_bot(state_dir: Path, *args: str, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """``gpt-trader run --profile dev`` in the background on ``state_dir``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpt_trader",
            "run",
            "--profile",
            "dev",
            "--state-dir",
            str(state_dir),
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )
