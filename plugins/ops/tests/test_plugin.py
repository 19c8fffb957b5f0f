"""The ops plugin as discovery and the CLI see it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpt_trader.app import assemble, finish, start
from gpt_trader.cli.main import build_app
from gpt_trader.plugins import make_plugin_manager
from gpt_trader_ops.metrics import PORT_ENV
from ops_support import dev_config, plugin_manager
from typer.testing import CliRunner


def test_the_entry_point_loads_and_provides_both_sinks() -> None:
    pm = make_plugin_manager()
    runner = CliRunner()
    result = runner.invoke(build_app(pm), ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    (ops,) = [r for r in json.loads(result.stdout) if r["name"] == "ops"]
    assert ops["status"] == "loaded", ops
    # Its command comes from the command table (entry point group gpt_trader.commands).
    assert {"sink:metrics", "sink:alerts", "command:preflight"} <= set(ops["provides"])
    hooks = {"register_checks", "register_sinks", "startup", "shutdown"}
    assert hooks <= set(ops["hooks"])


def test_preflight_is_a_command() -> None:
    result = CliRunner().invoke(build_app(plugin_manager()), ["preflight", "--help"])
    assert result.exit_code == 0
    assert "--sim-json" in result.stdout
    assert "--json" in result.stdout


async def test_startup_without_ops_sinks_or_port_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpt_trader_ops.lifecycle import EXTRA_KEY, on_shutdown, on_startup

    monkeypatch.delenv(PORT_ENV, raising=False)
    runtime = await assemble(dev_config(), plugin_manager(), tmp_path)
    await start(runtime, hooks=False)
    try:
        kernel = runtime.kernel
        sinks = list(kernel._sinks)
        ops = on_startup(runtime)
        assert (ops.metrics, ops.alerts, ops.exporter, ops.tasks) == (None, [], None, [])
        assert kernel._sinks == sinks  # a real kernel: nothing was attached
        assert "metrics_url" not in runtime.extra
        on_shutdown(runtime)
        assert EXTRA_KEY not in runtime.extra
    finally:
        await finish(runtime, "test", hooks=False)


def test_the_readme_documents_every_rule_and_metric_family() -> None:
    from pathlib import Path

    from gpt_trader_ops.alerts import RULES
    from gpt_trader_ops.metrics import MetricsSink

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for rule in RULES:
        assert f"`{rule}`" in readme, rule
    suffix = {"counter": "_total", "info": "_info"}
    for family in MetricsSink().registry.collect():
        name = family.name + suffix.get(family.type, "")
        assert f"`{name}`" in readme, name
