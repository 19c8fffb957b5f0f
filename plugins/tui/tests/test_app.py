"""The dashboard driven by keys: pause and resume reach the store exactly as the CLI's
commands do and, once the running bot applies them, change the kernel's state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpt_trader.cli.main import build_app
from gpt_trader.control import apply_pending
from gpt_trader.domain import TradingState
from gpt_trader_tui import plugin as tui_plugin
from gpt_trader_tui.app import DashboardApp
from tui_support import NOW, build_store, flush, plugin_manager, running_bot
from typer.testing import CliRunner


async def apply(runtime: Any) -> int:
    """What the running bot does on its guard tick."""
    return await apply_pending(runtime.kernel, runtime.store, runtime.run_id, None)


async def test_pause_and_resume_reach_the_store_and_the_running_kernel(tmp_path: Path) -> None:
    async with running_bot(tmp_path, events=60) as runtime:
        kernel, store = runtime.kernel, runtime.store
        assert store is not None
        kernel.operator_set_state(TradingState.REDUCE_ONLY, "a guard tripped earlier")
        flush(runtime)
        app = DashboardApp(tmp_path, poll_s=3600, user="tester")
        async with app.run_test(size=(120, 40)) as pilot:
            assert app.data is not None
            assert app.data.run is not None
            assert app.data.run.run_id == runtime.run_id
            assert app.data.trading_state == "REDUCE_ONLY"

            await pilot.press("p")
            (pending,) = store.operator_actions(pending_only=True)
            assert (pending.action, pending.reason) == ("pause", "pause from the TUI by tester")
            assert await apply(runtime) == 1
            assert kernel.entries_paused == "operator pause: pause from the TUI by tester"
            flush(runtime)
            app.refresh_data()
            assert app.data.entries_paused

            await pilot.press("r")
            (pending,) = store.operator_actions(pending_only=True)
            assert pending.action == "resume"
            assert await apply(runtime) == 1
            assert kernel.entries_paused == ""
            assert kernel.trading_state is TradingState.ACTIVE
            flush(runtime)
            app.refresh_data()
            assert not app.data.entries_paused
            assert app.data.trading_state == "ACTIVE"

            await pilot.press("c")
            (pending,) = store.operator_actions(pending_only=True)
            assert pending.action == "cancel-all"
            assert await apply(runtime) == 1
            assert [a for a, _ in app.recorded] == ["pause", "resume", "cancel-all"]

            await pilot.press("q")
        assert app.return_code == 0


async def test_keys_on_a_finished_bot_are_recorded_for_its_next_start(tmp_path: Path) -> None:
    bot = build_store(tmp_path / "bot", "halted")
    app = DashboardApp(bot, clock=lambda: NOW, poll_s=3600, user="tester")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert app.data is not None
        assert app.data.pending_actions == ["resume #1"]


def test_the_tui_command_needs_a_store(tmp_path: Path) -> None:
    pm = plugin_manager()
    pm.register_plugin(tui_plugin, "tui")
    app = build_app(pm)
    result = CliRunner().invoke(app, ["tui", "--state-dir", str(tmp_path / "none")])
    assert result.exit_code != 0
    assert "no store" in str(result.exception)
    help_text = CliRunner().invoke(app, ["tui", "--help"]).stdout
    assert "--state-dir" in help_text
