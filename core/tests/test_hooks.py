"""Every hook is documented, the reference is in sync, and every hook has a test here."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import types
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from gpt_trader import hookdocs
from gpt_trader.app import Runtime, assemble, finish, start
from gpt_trader.cli.main import build_app
from gpt_trader.components import BuildContext, ComponentSpec, Kind, ProductCatalogue
from gpt_trader.config import BotConfig
from gpt_trader.domain import (
    Action,
    Candle,
    Decision,
    OrderRequest,
    Severity,
    Side,
    SignalValue,
)
from gpt_trader.domain.events import RunStarted
from gpt_trader.errors import UserError
from gpt_trader.hookspecs import hookimpl
from gpt_trader.params import Params
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


def _dev_config(voter: str = "test.voter") -> BotConfig:
    return BotConfig(
        profile={"name": "t", "universe": ["BTC-USD"]},
        broker={"use": "sim", "persist": False},
        feed={"use": "synthetic", "pace_s": 0},
        signals=[],
        voter={"use": voter},
        sizer={"use": "fixed", "size": "0.001"},
    )


def _run_dev_once(pm: PluginManager, tmp_path: Path) -> dict[str, object]:
    async def go() -> dict[str, object]:
        runtime = await assemble(_dev_config(), pm, tmp_path)
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


# ---- the examples in the hook docstrings run -----------------------------------------------
EXAMPLE_GLOBALS = {
    "hookimpl": hookimpl,
    "ComponentSpec": ComponentSpec,
    "Kind": Kind,
    "Params": Params,
}
KIND_OF = {
    "register_brokers": Kind.BROKER,
    "register_feeds": Kind.FEED,
    "register_signals": Kind.SIGNAL,
    "register_voters": Kind.VOTER,
    "register_filters": Kind.FILTER,
    "register_sizers": Kind.SIZER,
    "register_guards": Kind.GUARD,
    "register_sinks": Kind.SINK,
}
BTC = "BTC-USD"
T0 = 1_735_707_600_000_000_000  # 2025-01-01T05:00:00Z


def example(hook: str) -> str:
    """The code of ``hook``'s ``Example::`` block (the docstring ends with it)."""
    doc = inspect.cleandoc(dict(hookdocs.hook_functions())[hook].__doc__ or "")
    _, marker, block = doc.partition("Example::\n")
    assert marker, f"{hook} has no Example:: block"
    assert all(not line or line.startswith("    ") for line in block.splitlines()), hook
    return inspect.cleandoc(block)


def example_plugin(hook: str) -> types.ModuleType:
    """The example executed as a plugin module, with the imports the hookspecs promise."""
    module = types.ModuleType(f"example_{hook}")
    module.__dict__.update(EXAMPLE_GLOBALS)
    code = compile(example(hook), f"<example of {hook}>", "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


def test_every_registration_hook_has_an_example_test() -> None:
    assert set(KIND_OF) == {name for name in HOOKS if name.startswith("register_")} - {
        "register_commands",
        "register_checks",
        "register_products",
    }


def candle(close: str, ts: int = T0) -> Candle:
    price = Decimal(close)
    return Candle(BTC, ts, price, price, price, price, Decimal(1))


def decision() -> Decision:
    vote = SignalValue("above", BTC, T0, Action.LONG)
    return Decision(BTC, T0, Action.LONG, votes=(vote,))


async def use_broker(broker: Any, state: Any) -> None:
    assert BTC in {p.symbol for p in await broker.products()}
    await broker.stop()


async def use_feed(feed: Any, state: Any) -> None:
    stream = feed.stream([BTC])
    event = await anext(stream)
    await stream.aclose()
    assert event.symbol == BTC


async def use_signal(signal: Any, state: Any) -> None:
    value = signal.update(candle("100"))
    assert (value.symbol, value.action) == (BTC, Action.LONG)


async def use_voter(voter: Any, state: Any) -> None:
    votes = [SignalValue("a", BTC, T0, Action.LONG), SignalValue("b", BTC, T0, Action.LONG)]
    assert voter.combine(BTC, T0, votes).action is Action.LONG
    assert voter.combine(BTC, T0, [*votes, SignalValue("c", BTC, T0, Action.FLAT)]) is None


async def use_filter(flt: Any, state: Any) -> None:
    assert flt.allow(decision(), state).allowed


async def use_sizer(sizer: Any, state: Any) -> None:
    assert sizer.size(decision(), state) == Decimal(100) / state.last_price(BTC)


async def use_guard(guard: Any, state: Any) -> None:
    big = OrderRequest("c1", BTC, Side.BUY, Decimal(2))
    assert guard.check(big, state).severity is Severity.RECOVERABLE
    assert guard.check(OrderRequest("c2", BTC, Side.BUY, Decimal(1)), state).ok


async def use_sink(sink: Any, state: Any) -> None:
    sink.handle(RunStarted(T0, "run-1", "t", "sim"))


USE: dict[Kind, Callable[[Any, Any], Awaitable[None]]] = {
    Kind.BROKER: use_broker,
    Kind.FEED: use_feed,
    Kind.SIGNAL: use_signal,
    Kind.VOTER: use_voter,
    Kind.FILTER: use_filter,
    Kind.SIZER: use_sizer,
    Kind.GUARD: use_guard,
    Kind.SINK: use_sink,
}


async def started_dev_run(pm: PluginManager, tmp_path: Path) -> Runtime:
    """A started run on the sim broker that has seen one BTC-USD candle: a real StateView."""
    runtime = await assemble(_dev_config("consensus"), pm, tmp_path / "run", durable=False)
    await start(runtime, hooks=False)
    await runtime.kernel.on_market(candle("50000"))
    return runtime


@pytest.mark.parametrize("hook", sorted(KIND_OF))
async def test_the_example_registers_a_component_that_works(
    hook: str, plugin_manager: PluginManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kind = KIND_OF[hook]
    plugin_manager.register_plugin(example_plugin(hook), "example")
    registry = Registry(plugin_manager)
    rec = plugin_manager.record("example")
    assert rec is not None
    (provided,) = rec.provides
    assert provided.startswith(f"{kind.value}:")
    runtime = await started_dev_run(plugin_manager, tmp_path)
    try:
        kernel = runtime.kernel
        ctx = BuildContext("t", "sim", (BTC,), dict(kernel.products), tmp_path, symbol=BTC)
        component = registry.build(kind, provided.partition(":")[2], {}, ctx)
        await USE[kind](component, kernel)
    finally:
        await finish(runtime, "test", hooks=False)
    if kind is Kind.SINK:
        assert capsys.readouterr().out == "2025-01-01T05:00:00.000Z run.started\n"


def test_the_example_of_register_commands_runs(plugin_manager: PluginManager) -> None:
    plugin_manager.register_plugin(example_plugin("register_commands"), "example")
    result = CliRunner().invoke(build_app(plugin_manager), ["hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello\n"


def test_the_example_of_register_checks_runs(plugin_manager: PluginManager, tmp_path: Path) -> None:
    from gpt_trader.checks import CheckContext, Result, run_checks
    from gpt_trader.config import BotConfig

    plugin_manager.register_plugin(example_plugin("register_checks"), "example")
    state_dir = tmp_path / "state"
    state_dir.write_text("a file, not a folder")
    rows = run_checks(
        CheckContext(BotConfig(), state_dir, plugin_manager), Registry(plugin_manager).checks()
    )
    assert Result.of("state_dir_kind", False, str(state_dir)) in rows


def test_the_example_of_register_products_runs(
    plugin_manager: PluginManager, tmp_path: Path
) -> None:
    plugin_manager.register_plugin(example_plugin("register_products"), "example")
    registry = Registry(plugin_manager)
    ctx = BuildContext("dev", "sim", ("PEPE-USD",), {}, tmp_path, catalogues=registry.catalogues())
    exchange = registry.build(Kind.BROKER, "sim", {"persist": False}, ctx).exchange
    assert exchange.product("PEPE-USD").price_increment == Decimal("0.00000001")


def test_the_examples_of_startup_and_shutdown_run(
    plugin_manager: PluginManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin_manager.register_plugin(_Voter(), "voter")
    plugin_manager.register_plugin(example_plugin("startup"), "example-startup")
    plugin_manager.register_plugin(example_plugin("shutdown"), "example-shutdown")
    summary = _run_dev_once(plugin_manager, tmp_path)
    run_id = summary["run_id"]
    assert capsys.readouterr().out.splitlines() == [f"starting {run_id}", f"stopped {run_id}"]


def test_hook_register_checks(plugin_manager: PluginManager, tmp_path: Path) -> None:
    from gpt_trader.checks import Check, CheckContext, Result, run_checks
    from gpt_trader.config import BotConfig

    def state_dir_exists(context: CheckContext) -> Iterator[Result]:
        yield Result.of("state_dir_exists", context.state_dir.is_dir(), str(context.state_dir))

    class Plugin:
        @hookimpl
        def register_checks(self) -> Iterator[Check]:
            yield Check("test.state_dir", "the state dir exists", state_dir_exists)

    plugin_manager.register_plugin(Plugin(), "test-checks")
    try:
        context = CheckContext(BotConfig(), tmp_path, plugin_manager)
        assert run_checks(context, Registry(context.pm).checks()) == [
            Result.of("state_dir_exists", True, str(tmp_path))
        ]
        rec = plugin_manager.record("test-checks")
        assert rec is not None
        assert rec.hooks == ["register_checks"]
    finally:
        plugin_manager.unregister(name="test-checks")
