"""Discovery through real entry points (a fake dist-info on sys.path, as conda tests it)."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.cli.main import build_app
from gpt_trader.components import Kind
from gpt_trader.errors import ComponentClash, ComponentNotFound, UserError
from gpt_trader.plugins import make_plugin_manager
from gpt_trader.registry import Registry
from typer.testing import CliRunner


def make_dist(root: Path, dist: str, version: str, entry: str, module: str, source: str) -> None:
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[gpt_trader]\n{entry} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


GOOD = """
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

@hookimpl
def register_signals():
    yield ComponentSpec("fake.signal", Kind.SIGNAL, lambda p, ctx: None, summary="fake")
"""

CLASH = GOOD.replace("fake.signal", "shared.name")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in list(sys.modules):
        if name.startswith("fakeplug"):
            del sys.modules[name]


def test_entry_point_plugin_is_loaded_with_version_and_provides(site: Path) -> None:
    make_dist(site, "fake-plugin", "1.2.3", "fake", "fakeplug_good", GOOD)
    pm = make_plugin_manager()
    Registry(pm)
    rec = pm.record("fake")
    assert rec is not None
    assert (rec.status, rec.version, rec.distribution) == ("loaded", "1.2.3", "fake-plugin")
    assert rec.hooks == ["register_signals"]
    assert rec.provides == ["signal:fake.signal"]


def test_broken_plugin_is_failed_and_the_cli_still_works(site: Path) -> None:
    make_dist(
        site,
        "broken-plugin",
        "0.1",
        "broken",
        "fakeplug_broken",
        "raise ImportError('no module named numpyy')\n",
    )
    pm = make_plugin_manager()
    result = CliRunner().invoke(build_app(pm), ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["broken"]["status"] == "failed"
    assert "numpyy" in rows["broken"]["error"]
    assert rows["sim"]["status"] == "loaded"


def test_unknown_hook_implementation_is_rejected(site: Path) -> None:
    source = "from gpt_trader.hookspecs import hookimpl\n\n@hookimpl\ndef register_strategies():\n    return []\n"
    make_dist(site, "typo-plugin", "0.1", "typo", "fakeplug_typo", source)
    pm = make_plugin_manager()
    rec = pm.record("typo")
    assert rec is not None
    assert rec.status == "failed"
    assert "register_strategies" in rec.error


def test_two_plugins_offering_one_name_is_an_error_naming_both(site: Path) -> None:
    make_dist(site, "first-plugin", "1.0", "first", "fakeplug_first", CLASH)
    make_dist(site, "second-plugin", "2.0", "second", "fakeplug_second", CLASH)
    pm = make_plugin_manager()
    with pytest.raises(ComponentClash) as err:
        Registry(pm)
    message = str(err.value)
    assert "first-plugin 1.0" in message
    assert "second-plugin 2.0" in message


def test_allow_list_loads_only_named_plugins(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(site, "fake-plugin", "1.0", "fake", "fakeplug_allow", GOOD)
    monkeypatch.setenv("GPT_TRADER_LOAD_PLUGINS", "fake")
    pm = make_plugin_manager()
    statuses = {r.name: r.status for r in pm.records}
    assert statuses["fake"] == "loaded"
    assert statuses["sim"] == "disabled"
    monkeypatch.setenv("GPT_TRADER_LOAD_PLUGINS", "")
    assert all(r.status == "disabled" for r in make_plugin_manager().records)


def test_without_entry_points_nothing_is_loaded() -> None:
    result = CliRunner().invoke(
        build_app(make_plugin_manager(load_entrypoints=False)), ["plugins", "list"]
    )
    assert result.exit_code == 0
    assert "No plugins installed." in result.output


def test_core_only_loads_core_and_lists_the_rest_disabled(site: Path) -> None:
    make_dist(site, "fake-plugin", "1.0", "fake", "fakeplug_core_only", GOOD)
    pm = make_plugin_manager(core_only=True)
    statuses = {r.name: r.status for r in pm.records}
    assert statuses["fake"] == "disabled"
    assert {name for name, status in statuses.items() if status == "loaded"} == {
        "core",
        "sim",
        "store",
    }
    registry = Registry(pm)
    assert registry.names(Kind.BROKER) == ["sim"]
    assert registry.names(Kind.FEED) == ["csv", "synthetic"]


def test_a_name_nobody_offers_names_the_plugins_that_failed(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_dist(site, "broken-plugin", "0.1", "broken", "fakeplug_failed", "import numpyy\n")
    with caplog.at_level("WARNING", logger="gpt_trader.plugins"):
        pm = make_plugin_manager()
    assert [r.getMessage() for r in caplog.records] == [
        "plugin 'broken' (broken-plugin 0.1) failed and is skipped: "
        "ModuleNotFoundError: No module named 'numpyy'"
    ]
    with pytest.raises(ComponentNotFound) as err:
        Registry(pm).get(Kind.SIGNAL, "momentum.rsi")
    assert str(err.value).startswith(
        "unknown signal 'momentum.rsi' (plugin 'broken' failed to load: "
        "ModuleNotFoundError: No module named 'numpyy'; "
    )


def test_a_name_that_repeats_its_kind_marks_the_plugin_failed(site: Path) -> None:
    make_dist(
        site,
        "kind-plugin",
        "1.0",
        "kindy",
        "fakeplug_kindy",
        CLASH.replace("shared.name", "signal.fast"),
    )
    pm = make_plugin_manager()
    registry = Registry(pm)
    rec = pm.record("kindy")
    assert rec is not None
    assert rec.status == "failed"
    assert rec.error == "signal 'signal.fast': a name does not repeat its kind; call it 'fast'"
    assert "signal.fast" not in registry.names(Kind.SIGNAL)


NAMED_MODEL = """
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

@hookimpl
def register_sizers():
    yield ComponentSpec("lazy", Kind.SIZER, "fakeplug_models:double", "fakeplug_models:LazyParams")
    yield ComponentSpec("gone", Kind.SIZER, lambda p, ctx: None, "fakeplug_nowhere:Params")
    yield ComponentSpec("lost", Kind.SIZER, "fakeplug_models:nothing", "fakeplug_models:LazyParams")
"""

MODELS = """
from decimal import Decimal
from gpt_trader.params import Params

class LazyParams(Params):
    size: Decimal

def double(params, ctx):
    return params.size * 2
"""


def test_a_settings_model_and_factory_named_by_module_load_when_used_not_listed(
    site: Path,
) -> None:
    make_dist(site, "lazy-plugin", "1.0", "lazy", "fakeplug_lazy", NAMED_MODEL)
    (site / "fakeplug_models.py").write_text(textwrap.dedent(MODELS))
    pm = make_plugin_manager()
    registry = Registry(pm)
    rec = pm.record("lazy")
    assert rec is not None
    assert rec.provides == ["sizer:gone", "sizer:lazy", "sizer:lost"]
    assert "fakeplug_models" not in sys.modules
    settings = registry.validate(Kind.SIZER, "lazy", {"size": "2"})
    assert type(settings).__name__ == "LazyParams"
    assert "fakeplug_models" in sys.modules
    with pytest.raises(UserError, match="sise: unknown field"):
        registry.validate(Kind.SIZER, "lazy", {"size": "2", "sise": "3"})
    with pytest.raises(UserError) as info:
        registry.validate(Kind.SIZER, "gone", {})
    assert str(info.value) == (
        "sizer 'gone': settings model 'fakeplug_nowhere:Params' does not load: "
        "ModuleNotFoundError: No module named 'fakeplug_nowhere'"
    )
    assert registry.build(Kind.SIZER, "lazy", {"size": "2"}, ctx=None) == Decimal(4)
    with pytest.raises(UserError) as info:
        registry.build(Kind.SIZER, "lost", {"size": "2"}, ctx=None)
    assert str(info.value) == (
        "sizer 'lost': factory 'fakeplug_models:nothing' does not load: "
        "AttributeError: module 'fakeplug_models' has no attribute 'nothing'"
    )
