"""Start-up of the ``gpt-trader`` command and the peak RSS of a short dev run (issue 16).

    uv run python bench/startup.py [--quick] [--repeat N] [--json]

Each figure is one whole process of the installed console script (``.venv/bin/gpt-trader``,
no ``uv run`` in front): wall seconds of ``--help``, ``--version`` and ``plugins list``, and
the peak RSS of ``run --profile dev --dev-fast --max-events 3000`` (300 with ``--quick``).
Beside ``--help``, the same for a bare Typer app of two commands: the floor that Python,
typer and rich's help rendering set on this machine. Min/median/max of ``--repeat`` runs;
the machine is shared, so compare figures from one run only. Nothing here asserts a speed.

Each figure is taken twice: as an installed copy runs, its bytecode cached (Python writes
``.pyc`` files on the first run; here into a temporary ``PYTHONPYCACHEPREFIX``, after one
untimed run of each command), and without a bytecode cache, so every module is compiled
from source on every start (what a machine with ``PYTHONDONTWRITEBYTECODE=1`` set pays).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GPT_TRADER = str(Path(sys.executable).with_name("gpt-trader"))
FLOOR_APP = """
import typer
app = typer.Typer(add_completion=True)
@app.command()
def one() -> None:
    "One."
@app.command()
def two() -> None:
    "Two."
app()
"""


def _env(pycache: str | None) -> dict[str, str]:
    """The environment of a run with its bytecode cached under ``pycache``, or never cached."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPYCACHEPREFIX",)}
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _process(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process running ``cmd`` to its end."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd[:4])} failed: {err.read()[-500:].decode()}")
    return wall, usage.ru_maxrss / 1024


def _row(figure: str, unit: str, ours: list[float], aim: str, **peer: object) -> dict[str, object]:
    return {
        "figure": figure,
        "unit": unit,
        "ours": [round(v, 4) for v in ours],
        "peer": peer.get("peer"),
        "peer_values": peer.get("peer_values"),
        "aim": aim,
    }


def measure(repeat: int, events: int, *, cached: bool) -> list[dict[str, object]]:
    walls: dict[str, list[float]] = {"--help": [], "--version": [], "plugins list": [], "floor": []}
    rss: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = _env(f"{tmp}/pycache" if cached else None)
        run = [GPT_TRADER, "run", "--profile", "dev", "--dev-fast", "--max-events", str(events)]
        commands = {args: [GPT_TRADER, *args.split()] for args in ("--help", "--version")}
        commands["plugins list"] = [GPT_TRADER, "plugins", "list"]
        floor = [sys.executable, "-c", FLOOR_APP, "--help"]
        if cached:  # the first run writes the bytecode
            for cmd in (*commands.values(), floor, [*run, "--state-dir", f"{tmp}/warm"]):
                _process(cmd, env)
        for i in range(repeat):
            for args, cmd in commands.items():
                walls[args].append(_process(cmd, env)[0])
            walls["floor"].append(_process(floor, env)[0])
            rss.append(_process([*run, "--state-dir", f"{tmp}/{i}", "--json"], env)[1])
    mode = "bytecode cached" if cached else "no bytecode cache"
    figure = f"`gpt-trader --help`, `--version`, `plugins list` ({mode})"
    return [
        _row(
            f"{figure}: --help",
            "s",
            walls["--help"],
            "<= 0.3 s",
            peer="a bare typer app's --help (the floor)",
            peer_values=[round(v, 4) for v in walls["floor"]],
        ),
        _row(f"{figure}: --version", "s", walls["--version"], "<= 0.3 s"),
        _row(f"{figure}: plugins list", "s", walls["plugins list"], "<= 0.3 s"),
        _row(
            f"peak RSS of `run --profile dev` (--dev-fast --max-events {events}; {mode})",
            "MB",
            rss,
            "<= 50 MB",
        ),
    ]


def _spread(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 300-event run for the RSS")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    events = 300 if args.quick else 3000
    rows = [*measure(args.repeat, events, cached=True), *measure(args.repeat, events, cached=False)]
    if args.json:
        print(json.dumps({"rows": rows}, indent=2))
        return
    print(f"min / median / max of {args.repeat}")
    for row in rows:
        line = f"{row['figure']:75s} {_spread(row['ours'])} {row['unit']}  (aim {row['aim']})"
        if row["peer_values"]:
            line += f"; {row['peer']}: {_spread(row['peer_values'])}"  # type: ignore[arg-type]
        print(line)


if __name__ == "__main__":
    main()
