"""A plugin that fails to load is logged, and a component it would have offered is
reported as unknown naming it: the CLI as a subprocess, the plugin installed through a
real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import gpt_trader
from gpt_trader.testing import install_plugin

BROKEN = """
import numpyy  # a typo in the plugin's dependency: it cannot be imported

from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_signals():
    yield ComponentSpec("momentum.rsi", Kind.SIGNAL, lambda p, ctx: None, per_symbol=True)
"""

PROFILE = """
[profile]
universe = ["BTC-USD"]
[broker]
use = "sim"
persist = false
[feed]
use = "synthetic"
pace_s = 0
[[signals]]
use = "momentum.rsi"
[voter]
use = "consensus"
[sizer]
use = "fixed"
size = "0.001"
"""

UNKNOWN = (
    "unknown signal 'momentum.rsi' (plugin 'momentum' failed to load: "
    "ModuleNotFoundError: No module named 'numpyy'"
)


@pytest.fixture
def broken(tmp_path: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": install_plugin(
            tmp_path / "site", "momentum", BROKEN, distribution="momentum-signals", version="2.0"
        )
    }


@pytest.mark.parametrize(
    "command", [["config", "show"], ["run", "--max-events", "10"]], ids=["config-show", "run"]
)
def test_a_component_of_a_plugin_that_failed_names_the_plugin(
    command: list[str], broken: dict[str, str], tmp_path: Path
) -> None:
    profile = tmp_path / "rsi.toml"
    profile.write_text(PROFILE)
    args = [*command, "--profile", str(profile)]
    if command[0] == "run":
        args += ["--state-dir", str(tmp_path / "state")]
    proc = gpt_trader(*args, env=broken)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    warning, error = proc.stderr.strip().splitlines()
    assert warning == (
        "plugin 'momentum' (momentum-signals 2.0) failed and is skipped: "
        "ModuleNotFoundError: No module named 'numpyy'"
    )
    assert error.startswith(f"gpt-trader: error: {UNKNOWN}"), error


def test_plugins_list_shows_it_failed_and_logs_it(broken: dict[str, str]) -> None:
    proc = gpt_trader("plugins", "list", "--json", env=broken)
    assert proc.returncode == 0, proc.stderr
    assert "plugin 'momentum' (momentum-signals 2.0) failed and is skipped" in proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["momentum"]["status"] == "failed"
    assert rows["momentum"]["error"] == "ModuleNotFoundError: No module named 'numpyy'"
