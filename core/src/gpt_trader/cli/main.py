"""Entry point: build the app, run it, map user errors to exit 2.

Start-up is lazy: ``--version`` imports neither typer nor a plugin, ``--help`` reads the
command table (:mod:`gpt_trader.cli.table`), and the plugin manager is built only when a
command asks for it (:func:`gpt_trader.cli.manager.plugin_manager`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    from gpt_trader.plugins import PluginManager

# Options of the root group alone; with `--version` among them nothing else needs loading.
_ROOT_FLAGS = {"--version", "--no-plugins"}


def build_app(pm: PluginManager | None = None, *, core_only: bool = False) -> typer.Typer:
    """The CLI: core commands plus what plugins add.

    With ``pm`` (tests, embedding), the commands of the plugins it has loaded, hook-added
    ones built at once. Without, the command table of the plugins the switches allow
    (``core_only`` is ``--no-plugins``); a command builds the manager when it needs one.
    """
    import typer

    from gpt_trader.cli.lazy import LazyGroup, root
    from gpt_trader.cli.manager import add_hook_commands
    from gpt_trader.cli.table import declared_commands

    class Commands(LazyGroup):
        table = declared_commands(pm, core_only=core_only)
        hooks_deferred = pm is None

    app = typer.Typer(
        name="gpt-trader",
        cls=Commands,
        help="Automated trading on Coinbase: live, paper and backtest on one kernel.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        # Commands (plugins' too) reach the plugin manager through `plugin_manager(ctx)`.
        context_settings={"obj": pm},
    )
    app.callback()(root)
    if pm is not None:
        add_hook_commands(pm, app)
    return app


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args and set(args) <= _ROOT_FLAGS:
        from gpt_trader import __version__

        print(f"gpt-trader {__version__}")
        sys.exit(0)
    import typer.main

    app = build_app(core_only="--no-plugins" in args)
    run_cli(typer.main.get_command(app), args)


def run_cli(command: Any, args: list[str]) -> None:
    """Run the built click ``command`` (see :func:`build_app`) on ``args``: errors become
    one line on stderr and the exit code, always through ``SystemExit``."""
    import typer

    try:
        # Not standalone: typer's own usage errors come here, so every command (plugins'
        # too) reports them as our one line instead of typer's usage box.
        code = command.main(args=args, prog_name="gpt-trader", standalone_mode=False)
    except typer.TyperException as exc:
        # Asking for nothing prints the help (already shown); that is not worth a line.
        if type(exc).__name__ != "NoArgsIsHelpError":
            _error_line(usage_message(exc))
        sys.exit(exc.exit_code)
    except typer.Abort:
        _error_line("aborted", prefix="gpt-trader:")
        sys.exit(1)
    except Exception as exc:
        # Imported here: the errors module loads the domain models, which --help never needs.
        from gpt_trader.errors import UserError

        if not isinstance(exc, UserError):
            raise
        _error_line(str(exc))
        sys.exit(2)
    # Without standalone mode a `typer.Exit(code)` comes back as its code (a command's
    # own return value, if any, is not an exit code).
    sys.exit(code if type(code) is int else 0)


def usage_message(exc: typer.TyperException) -> str:
    """One line: the command, what was wrong and, for an unknown name, what is allowed."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return message
    command = str(ctx.command_path)
    if message.startswith("No such command"):
        message = f"{message.rstrip('.')}; commands: {', '.join(ctx.command.list_commands(ctx))}"
    if message.startswith(("No such command", "No such option")):
        message = f"{message.rstrip('.')}; see '{command} --help'"
    where = command.removeprefix("gpt-trader").strip()
    return f"{where}: {message}" if where else message


def _error_line(message: str, *, prefix: str | None = None) -> None:
    """``message`` on stderr after the CLI's one error prefix (or ``prefix``)."""
    from rich.markup import escape

    from gpt_trader.output import ERROR_PREFIX, stderr

    stderr.print(f"[bold red]{prefix or ERROR_PREFIX}[/] {escape(message)}", highlight=False)
