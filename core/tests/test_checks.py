"""How registered checks run: order, "not needed", a crash, a clash, a bad registration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gpt_trader.checks import Check, CheckContext, Result, Status, run_checks
from gpt_trader.config import BotConfig
from gpt_trader.errors import ComponentClash
from gpt_trader.hookspecs import hookimpl
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry

SECRET = "-----BEGIN EC PRIVATE KEY----- abcdef"


def _row(name: str, status: Status = Status.OK) -> Check:
    return Check(f"test.{name}", "", lambda ctx: iter([Result(name, status, f"{name} detail")]))


def _crash(context: CheckContext) -> Iterator[Result]:
    yield Result.of("first", True, "before the crash")
    raise RuntimeError(f"cannot sign with {SECRET}")


class Plugin:
    def __init__(self, *checks: Check) -> None:
        self.checks = checks

    @hookimpl
    def register_checks(self) -> Iterator[Check]:
        yield from self.checks


@pytest.fixture
def context(plugin_manager: PluginManager, tmp_path: Path) -> CheckContext:
    return CheckContext(BotConfig(), tmp_path, plugin_manager, env={})


def test_local_checks_run_before_remote_ones_in_load_order(
    plugin_manager: PluginManager, context: CheckContext
) -> None:
    remote = Check(
        "test.venue", "", lambda ctx: iter([Result.of("venue", True, "up")]), remote=True
    )
    plugin_manager.register_plugin(Plugin(remote, _row("a")), "first")
    plugin_manager.register_plugin(Plugin(_row("b", Status.WARN)), "second")
    rows = run_checks(context, Registry(context.pm).checks())
    assert [r.check for r in rows] == ["a", "b", "venue"]
    assert [r.ok for r in rows] == [True, True, True]
    assert rows[1].to_json() == {"check": "b", "ok": True, "detail": "b detail"}


def test_a_check_not_needed_reports_each_row_ok_with_the_reason(
    plugin_manager: PluginManager, context: CheckContext
) -> None:
    check = Check(
        "test.account",
        "",
        _crash,
        reports=("key", "clock"),
        not_needed=lambda ctx: f"broker {ctx.config.broker.use!r} trades in-process",
    )
    plugin_manager.register_plugin(Plugin(check), "venue")
    assert run_checks(context, Registry(context.pm).checks()) == [
        Result(name, Status.OK, "not needed: broker 'sim' trades in-process")
        for name in ("key", "clock")
    ]


def test_a_crashing_check_fails_by_the_class_of_its_error_only(
    plugin_manager: PluginManager, context: CheckContext
) -> None:
    plugin_manager.register_plugin(Plugin(Check("test.crash", "", _crash)), "crashy")
    first, crash = run_checks(context, Registry(context.pm).checks())
    assert first.ok
    assert crash == Result("test.crash", Status.FAIL, "the check crashed: RuntimeError")


def test_two_plugins_with_one_check_name_clash(plugin_manager: PluginManager) -> None:
    plugin_manager.register_plugin(Plugin(_row("a")), "one")
    plugin_manager.register_plugin(Plugin(_row("a")), "two")
    with pytest.raises(
        ComponentClash, match=r"'test\.a' is registered by two plugins: 'one' and 'two'"
    ):
        Registry(plugin_manager).checks()


def test_a_plugin_registering_something_else_is_failed_not_fatal(
    plugin_manager: PluginManager, context: CheckContext
) -> None:
    class Wrong:
        @hookimpl
        def register_checks(self) -> Iterator[object]:
            yield "not a check"

    plugin_manager.register_plugin(Wrong(), "wrong")
    plugin_manager.register_plugin(Plugin(_row("a")), "right")
    assert [r.check for r in run_checks(context, Registry(context.pm).checks())] == ["a"]
    rec = plugin_manager.record("wrong")
    assert rec is not None
    assert rec.status == "failed"
    assert "not a Check" in rec.error


def test_a_detail_is_one_line() -> None:
    with pytest.raises(ValueError, match="one line"):
        Result.of("x", True, "two\nlines")
