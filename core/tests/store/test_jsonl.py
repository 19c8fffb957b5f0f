from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.components import BuildContext, Kind
from gpt_trader.domain.events import RunStarted, RunStopped
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry
from gpt_trader.store import JsonlSink
from gpt_trader.store import plugin as store_plugin


def context(state_dir: Path) -> BuildContext:
    return BuildContext(
        profile="dev", mode="backtest", universe=("BTC-USD",), products={}, state_dir=state_dir
    )


def test_jsonl_sink_writes_one_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "events.jsonl"
    sink = JsonlSink(path)
    sink.handle(RunStarted(1, "run-1", "dev", "backtest"))
    sink.handle(RunStopped(2, "run-1", "done", {"pnl": Decimal("0.00000001")}))
    sink.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["run.started", "run.stopped"]
    assert Decimal(json.loads(lines[1])["summary"]["pnl"]) == Decimal("0.00000001")
    again = JsonlSink(path)  # appends, never truncates
    again.handle(RunStarted(3, "run-2", "dev", "backtest"))
    again.close()
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3


def test_plugin_registers_the_jsonl_sink(tmp_path: Path) -> None:
    pm = PluginManager()
    pm.register_plugin(store_plugin, "store")
    registry = Registry(pm)
    assert "jsonl" in registry.names(Kind.SINK)
    sink = registry.build(Kind.SINK, "jsonl", {}, context(tmp_path))
    sink.handle(RunStarted(1, "run-1", "dev", "backtest"))
    sink.close()
    assert (tmp_path / "events.jsonl").read_text(encoding="utf-8").count("\n") == 1
    custom = registry.build(Kind.SINK, "jsonl", {"path": "logs/run.jsonl"}, context(tmp_path))
    assert custom.path == tmp_path / "logs" / "run.jsonl"
    absolute = tmp_path / "elsewhere.jsonl"
    built = registry.build(Kind.SINK, "jsonl", {"path": str(absolute)}, context(tmp_path))
    assert built.path == absolute
    with pytest.raises(UserError, match="unknown field"):
        registry.build(Kind.SINK, "jsonl", {"file": "x"}, context(tmp_path))


def test_plugin_module_does_not_import_sqlite(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, gpt_trader.store.plugin; "
        "print(sorted({'sqlite3', 'gpt_trader.store.store'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
