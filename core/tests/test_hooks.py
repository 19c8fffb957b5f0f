"""Every hook is documented, the reference is in sync, and every hook has a test here."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from gpt_trader import hookdocs
from gpt_trader.cli.main import build_app
from gpt_trader.components import BuildContext, ComponentSpec, Kind, Params, ProductCatalogue
from gpt_trader.errors import UserError
from gpt_trader.hookspecs import hookimpl
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry
from gpt_trader.testing import derivative_product
from typer.testing import CliRunner

HOOKS = [name for name, _ in hookdocs.hook_functions()]


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_with_when_and_example(name: str) -> None:
    fn = dict(hookdocs.hook_functions())[name]
    doc = fn.__doc__ or ""
    assert "Called" in doc, f"{name} must say when it is called"
    assert "Example::" in doc, f"{name} must show an example"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name: str) -> None:
    assert f"test_hook_{name}" in globals(), f"write test_hook_{name}"


def test_reference_doc_is_in_sync(repo_root: Path) -> None:
    assert (repo_root / "docs" / "hooks.md").read_text() == hookdocs.render(), (
        "docs/hooks.md is stale: uv run python -m gpt_trader.hookdocs > docs/hooks.md"
    )


class _P(Params):
    level: int = 1


def _spec(name: str, kind: Kind) -> ComponentSpec:
    return ComponentSpec(name, kind, lambda p, ctx: (name, p), _P, summary=f"test {kind}")


def _registration_test(pm: PluginManager, hook: str, kind: Kind) -> None:
    class Plugin:
        pass

    def impl() -> Iterator[ComponentSpec]:
        yield _spec(f"test.{kind.value}", kind)

    setattr(Plugin, hook, staticmethod(hookimpl(impl)))
    pm.register_plugin(Plugin(), "test-plugin")
    try:
        registry = Registry(pm)
        assert f"test.{kind.value}" in registry.names(kind)
        built = registry.build(kind, f"test.{kind.value}", {"level": 3}, None)
        assert built[1].level == 3
        rec = pm.record("test-plugin")
        assert rec is not None
        assert f"{kind.value}:test.{kind.value}" in rec.provides
    finally:
        pm.unregister(name="test-plugin")


def test_hook_register_brokers(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_brokers", Kind.BROKER)


def test_hook_register_feeds(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_feeds", Kind.FEED)


def test_hook_register_signals(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_signals", Kind.SIGNAL)


def test_hook_register_voters(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_voters", Kind.VOTER)


def test_hook_register_filters(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_filters", Kind.FILTER)


def test_hook_register_sizers(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_sizers", Kind.SIZER)


def test_hook_register_guards(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_guards", Kind.GUARD)


def test_hook_register_sinks(plugin_manager: PluginManager) -> None:
    _registration_test(plugin_manager, "register_sinks", Kind.SINK)


def test_hook_register_products(plugin_manager: PluginManager, tmp_path: Path) -> None:
    perp = derivative_product("XBT-PERP", "perpetual")

    class Plugin:
        @staticmethod
        @hookimpl
        def register_products() -> Iterator[ProductCatalogue]:
            yield ProductCatalogue("test", lookup={perp.symbol: perp}.get, examples=("XBT-PERP",))

    plugin_manager.register_plugin(Plugin(), "catalogue")
    registry = Registry(plugin_manager)
    ctx = BuildContext(
        "dev", "paper", ("BTC-USD", "XBT-PERP"), {}, tmp_path, catalogues=registry.catalogues()
    )
    params = {"perps_cash": "500", "persist": False}
    exchange = registry.build(Kind.BROKER, "sim", params, ctx).exchange
    assert exchange.product("XBT-PERP") == perp  # margin terms and all
    assert exchange.derivatives.cash("PERPETUALS") == 500
    unknown = dataclasses.replace(ctx, universe=("NOPE-PERP",))
    with pytest.raises(UserError, match=r"product catalogues asked: test \(e\.g\. XBT-PERP\)$"):
        registry.build(Kind.BROKER, "sim", params, unknown)


def test_hook_register_commands(plugin_manager: PluginManager) -> None:
    class Plugin:
        @staticmethod
        @hookimpl
        def register_commands(app: typer.Typer) -> None:
            @app.command()
            def hello(name: str = "world") -> None:
                typer.echo(f"hello {name}")

    plugin_manager.register_plugin(Plugin(), "hello")
    result = CliRunner().invoke(build_app(plugin_manager), ["hello", "--name", "trader"])
    assert result.exit_code == 0, result.output
    assert "hello trader" in result.output


def _lifecycle_plugin(calls: list[str]) -> object:
    class Plugin:
        @staticmethod
        @hookimpl
        def startup(context: object) -> None:
            calls.append(f"startup:{context.run_id}")  # type: ignore[attr-defined]

        @staticmethod
        @hookimpl
        def shutdown(context: object) -> None:
            calls.append(f"shutdown:{context.run_id}")  # type: ignore[attr-defined]

    return Plugin()


def _run_dev_once(pm: PluginManager, tmp_path: Path) -> dict[str, object]:
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.config import BotConfig

    config = BotConfig(
        profile={"name": "t", "universe": ["BTC-USD"]},
        broker={"use": "sim", "persist": False},
        feed={"use": "synthetic", "pace_s": 0},
        signals=[],
        voter={"use": "test.voter"},
        sizer={"use": "sizer.fixed", "size": "0.001"},
    )

    async def go() -> dict[str, object]:
        runtime = await assemble(config, pm, tmp_path)
        await start(runtime)
        return await finish(runtime, "test")

    return asyncio.run(go())


class _Voter:
    @staticmethod
    @hookimpl
    def register_voters() -> Iterator[ComponentSpec]:
        yield ComponentSpec("test.voter", Kind.VOTER, lambda p, ctx: object())


def test_hook_startup(plugin_manager: PluginManager, tmp_path: Path) -> None:
    calls: list[str] = []
    plugin_manager.register_plugin(_Voter(), "voter")
    plugin_manager.register_plugin(_lifecycle_plugin(calls), "life")
    summary = _run_dev_once(plugin_manager, tmp_path)
    assert calls[0] == f"startup:{summary['run_id']}"


def test_hook_shutdown(plugin_manager: PluginManager, tmp_path: Path) -> None:
    calls: list[str] = []
    plugin_manager.register_plugin(_Voter(), "voter")
    plugin_manager.register_plugin(_lifecycle_plugin(calls), "life")
    summary = _run_dev_once(plugin_manager, tmp_path)
    assert calls == [f"startup:{summary['run_id']}", f"shutdown:{summary['run_id']}"]


def test_startup_error_is_one_line_naming_the_plugin(
    plugin_manager: PluginManager, tmp_path: Path
) -> None:
    from gpt_trader.errors import UserError

    class Broken:
        @staticmethod
        @hookimpl
        def startup(context: object) -> None:
            raise RuntimeError("no database credentials")

    plugin_manager.register_plugin(_Voter(), "voter")
    plugin_manager.register_plugin(Broken(), "broken-plugin")
    with pytest.raises(
        UserError, match="plugin 'broken-plugin' failed in startup: no database credentials"
    ):
        _run_dev_once(plugin_manager, tmp_path)


def test_a_plugin_whose_commands_do_not_build_is_failed_not_fatal(
    plugin_manager: PluginManager,
) -> None:
    class Broken:
        @staticmethod
        @hookimpl
        def register_commands(app: typer.Typer) -> None:
            def bad(x: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
                pass

            app.command()(bad)

    plugin_manager.register_plugin(Broken(), "broken-commands")
    result = CliRunner().invoke(build_app(plugin_manager), ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    rec = plugin_manager.record("broken-commands")
    assert rec is not None
    assert rec.status == "failed"
    assert "register_commands" in rec.error
