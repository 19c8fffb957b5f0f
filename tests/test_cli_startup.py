"""Start-up is lazy: `--version` and `--help` import no plugin's modules (each plugin's command
table only); every table entry is the command it names; bench/startup.py emits its rows."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import typer
from cli_helpers import REPO
from gpt_trader.cli.main import build_app
from gpt_trader.cli.table import declared_commands
from typer.testing import CliRunner

# The CLI's entry function on ARGS, then the names of every module imported, as JSON.
IMPORTED = """
import json, sys
from gpt_trader.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _imported(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTED, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def _plugin_modules(modules: set[str]) -> set[str]:
    # The modules of plugin distributions, beside their packages and command tables.
    tables = {ep.value.partition(":")[0] for ep in entry_points(group="gpt_trader.commands")}
    packages = {t.rsplit(".", i)[0] for t in tables for i in range(1, t.count(".") + 1)}
    return {m for m in modules if m.startswith("gpt_trader_")} - tables - packages


def test_version_imports_no_plugin_nor_the_cli_framework() -> None:
    modules = _imported("--version")
    assert not {m for m in modules if m.startswith("gpt_trader_")}
    assert not {"typer", "pluggy", "gpt_trader.plugins", "gpt_trader.cli.table"} & modules


def test_help_imports_command_tables_only() -> None:
    modules = _imported("--help")
    assert "gpt_trader_research.commands" in modules  # the tables are read
    assert _plugin_modules(modules) == set()
    plugins = {ep.value for ep in entry_points(group="gpt_trader")}
    assert not plugins & modules
    assert not {"gpt_trader.plugins", "gpt_trader.registry", "pydantic"} & modules


def test_a_command_loads_its_own_plugin_only() -> None:
    modules = _imported("tui", "--help")
    assert "gpt_trader_tui.cli" in modules
    assert not {"gpt_trader_research.cli", "gpt_trader_web.cli"} & modules


TABLE = sorted(declared_commands().items())


@pytest.mark.parametrize(("name", "declared"), TABLE, ids=[name for name, _ in TABLE])
def test_each_table_entry_is_the_command_it_names(name: str, declared: tuple) -> None:
    _plugin, ref = declared
    group = typer.main.get_command(build_app())
    ctx = typer.Context(group)
    _, command, _ = group.resolve_command(ctx, [name])
    # `gpt-trader --help` shows the table's line: the command's own first paragraph.
    first = " ".join((command.help or "").split("\n\n")[0].split())
    assert ref.help == first
    result = CliRunner().invoke(build_app(), [name, "--help"])
    assert result.exit_code == 0, result.output
    assert name in result.output


def test_the_startup_bench_emits_the_rows_contract() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "startup.py"), "--quick", "--json", "--repeat", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout)["rows"]
    assert len(rows) == 4
    for row in rows:
        assert set(row) == {"figure", "unit", "ours", "peer", "peer_values", "aim"}
        assert isinstance(row["figure"], str)
        assert row["unit"] in {"s", "MB"}
        assert len(row["ours"]) == 1
        assert all(isinstance(v, float) and v > 0 for v in row["ours"])
        assert row["peer"] is None or isinstance(row["peer"], str)
        assert row["peer_values"] is None or len(row["peer_values"]) == 1
        assert isinstance(row["aim"], str)
    assert rows[0]["peer"] is not None  # --help beside the bare typer app's
    assert Path(sys.executable).with_name("gpt-trader").is_file()
