"""Start-up is lazy: `--version` and `--help` import no plugin's modules (each plugin's command
table only); every table entry is the command it names; bench/startup.py emits its rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import typer
from cli_helpers import REPO, gpt_trader
from gpt_trader.cli.main import build_app
from gpt_trader.cli.table import declared_commands
from gpt_trader.testing import install_plugin
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
    return _imported_with({}, *args)


def _imported_with(env: dict[str, str], *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTED, *args],
        cwd=REPO,
        env={**os.environ, **env},
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
    assert (
        not {"gpt_trader.plugins", "gpt_trader.registry", "gpt_trader.domain", "pydantic"} & modules
    )


def test_a_command_loads_its_own_plugin_only() -> None:
    modules = _imported("tui", "--help")
    assert "gpt_trader_tui.cli" in modules
    assert not {"gpt_trader_research.cli", "gpt_trader_web.cli"} & modules


# What neither a listing nor the dev run needs; each costs a share of a second or megabytes.
HEAVY = {"numpy", "pandas", "pyarrow", "aiohttp", "sqlite_utils", "click", "textual", "jinja2"}


def _own(modules: set[str], package: str) -> set[str]:
    return {m for m in modules if m.startswith(f"{package}.")}


def test_plugins_list_imports_entry_modules_not_components() -> None:
    modules = _imported("plugins", "list")
    assert not HEAVY & modules
    assert "rich._emoji_codes" not in modules  # the table's cells are plain Text
    # The specs name their settings models; none is imported to list them, nor pydantic
    # (~0.13 s to import without a bytecode cache), which only settings models need.
    assert "pydantic" not in modules
    assert _own(modules, "gpt_trader_coinbase") == {
        "gpt_trader_coinbase.checks_plugin",
        "gpt_trader_coinbase.derivatives",
        "gpt_trader_coinbase.derivatives.cfm_plugin",
        "gpt_trader_coinbase.derivatives.intx_plugin",
        "gpt_trader_coinbase.spot",
        "gpt_trader_coinbase.spot.commands",
        "gpt_trader_coinbase.spot.plugin",
        "gpt_trader_coinbase.target",
    }
    assert _own(modules, "gpt_trader_strategies") == {"gpt_trader_strategies.plugin"}
    assert _own(modules, "gpt_trader_ops") == {
        "gpt_trader_ops.plugin",
        "gpt_trader_ops.port",
        "gpt_trader_ops.commands",
    }
    assert _own(modules, "gpt_trader_risk") == {"gpt_trader_risk.plugin"}


def test_plugins_list_builds_no_pydantic_adapter_for_unset_flags() -> None:
    # typer coerces a flag left at None (its own --help and completion flags) through a
    # pydantic adapter; the root, `plugins` and `list` leave none at None.
    modules = _imported("plugins", "list")
    assert "gpt_trader.plugins" in modules  # it did list
    assert "typer._adapters" not in modules


def test_plugins_list_imports_no_domain_model() -> None:
    # Every entry module, core's and the sim plugin's included, names its components
    # without loading them.
    modules = _imported("plugins", "list")
    assert "gpt_trader.plugins" in modules  # it did list
    assert not {m for m in modules if m.startswith("gpt_trader.domain")}
    assert not _own(modules, "gpt_trader.sim") - {"gpt_trader.sim", "gpt_trader.sim.plugin"}


def test_a_dev_run_imports_only_the_components_its_profile_uses(tmp_path: Path) -> None:
    args = ["run", "--profile", "dev", "--dev-fast", "--max-events", "50", "--json"]
    modules = _imported(*args, "--state-dir", str(tmp_path / "state"))
    assert "gpt_trader.store.store" in modules  # it did run, and stored
    assert not HEAVY & modules
    # sma_cross, majority, four guards and no ops sink: no other component's module.
    unused = {
        "gpt_trader_strategies.rules",
        "gpt_trader_strategies.market_filters",
        "gpt_trader_strategies.filters",
        "gpt_trader_risk.sizers",
        "gpt_trader_risk.derivatives",
        "gpt_trader_risk.impact",
        "gpt_trader_ops.settings",
    }
    assert not unused & modules


HELLO = """
import typer

from gpt_trader.hookspecs import hookimpl


def register(app):
    @app.command()
    def hello(name: str = "world") -> None:
        \"\"\"Say hello.\"\"\"
        typer.echo(f"hello {name}")


@hookimpl
def register_commands(app):
    register(app)
"""


def test_a_third_party_command_table_is_listed_and_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    pythonpath = install_plugin(site, "greeter", HELLO, distribution="greeter-plugin")
    # The table: a module of its own, and the entry point naming the plugin.
    (site / "greeter_commands.py").write_text(
        "from gpt_trader.cli.table import CommandRef\n\n"
        'COMMANDS = (CommandRef("hello", "Say hello.", "greeter_plugin:register"),)\n'
    )
    entry_points = site / "greeter_plugin-0.1.dist-info" / "entry_points.txt"
    entry_points.write_text(
        entry_points.read_text() + "\n[gpt_trader.commands]\ngreeter = greeter_commands:COMMANDS\n"
    )
    env = {"PYTHONPATH": pythonpath}
    listing = gpt_trader("--help", env={**env, "COLUMNS": "200"})
    assert listing.returncode == 0, listing.stderr
    assert "Say hello." in listing.stdout
    run = gpt_trader("hello", "--name", "trader", env=env)
    assert (run.returncode, run.stdout) == (0, "hello trader\n"), run.stderr
    assert "greeter_plugin" not in _imported_with(env, "--help")


def test_a_command_added_by_the_hook_alone_still_runs(tmp_path: Path) -> None:
    env = {"PYTHONPATH": install_plugin(tmp_path / "site", "greeter", HELLO)}
    run = gpt_trader("hello", "--name", "trader", env=env)
    assert (run.returncode, run.stdout) == (0, "hello trader\n"), run.stderr
    unknown = gpt_trader("nope", env=env)
    assert unknown.returncode == 2
    assert "hello" in unknown.stderr.split("commands:")[1]


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
    assert len(rows) == 8  # each figure with the bytecode cached, then without
    assert sum("(bytecode cached)" in r["figure"] for r in rows) == 3
    assert sum("(no bytecode cache)" in r["figure"] for r in rows) == 3
    for row in rows:
        assert set(row) == {"figure", "unit", "ours", "peer", "peer_values", "aim"}
        assert isinstance(row["figure"], str)
        assert row["unit"] in {"s", "MB"}
        assert len(row["ours"]) == 1
        assert all(isinstance(v, float) and v > 0 for v in row["ours"])
        assert row["peer"] is None or isinstance(row["peer"], str)
        assert row["peer_values"] is None or len(row["peer_values"]) == 1
        assert isinstance(row["aim"], str)
    # --help beside a bare typer app, in both modes
    assert rows[0]["peer"] is not None
    assert rows[4]["peer"] is not None
    assert Path(sys.executable).with_name("gpt-trader").is_file()
