"""Entry point: build a fresh plugin manager and app, run it, map user errors to exit 2."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
import typer.main

from gpt_trader import __version__
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager, make_plugin_manager
from gpt_trader.registry import Registry


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gpt-trader {__version__}")
        raise typer.Exit()


def build_app(pm: PluginManager) -> typer.Typer:
    """The CLI for one plugin manager: core commands plus what plugins add."""
    from gpt_trader.cli import config_cmd, operator_cmd, plugins_cmd, run_cmd, status_cmd

    app = typer.Typer(
        name="gpt-trader",
        help="Automated trading on Coinbase: live, paper and backtest on one kernel.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        # Commands (plugins' too) reach this app's plugin manager as `ctx.obj`.
        context_settings={"obj": pm},
    )

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
        ] = False,
        no_plugins: Annotated[
            bool,
            typer.Option(
                "--no-plugins",
                help="Core only: load core's built-in components, no plugin distribution.",
            ),
        ] = False,
    ) -> None:
        """GPT-Trader."""

    run_cmd.register(app, pm)
    status_cmd.register(app, pm)
    plugins_cmd.register(app, pm)
    config_cmd.register(app, pm)
    operator_cmd.register(app, pm)
    try:
        Registry(pm).register_commands(app)
    except UserError:
        # A component clash is reported by the commands that assemble a profile.
        for impl in pm.hook.register_commands.get_hookimpls():
            impl.function(app)
    return app


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    pm = make_plugin_manager(core_only="--no-plugins" in args)
    run_cli(typer.main.get_command(build_app(pm)), args)


def run_cli(command: Any, args: list[str]) -> None:
    """Run the built click ``command`` (see :func:`build_app`) on ``args``: errors become
    one line on stderr and the exit code, always through ``SystemExit``."""
    try:
        # Not standalone: typer's own usage errors come here, so every command (plugins'
        # too) reports them as our one line instead of typer's usage box.
        code = command.main(args=args, prog_name="gpt-trader", standalone_mode=False)
    except typer.TyperException as exc:
        # Asking for nothing prints the help (already shown); that is not worth a line.
        if type(exc).__name__ != "NoArgsIsHelpError":
            _error_line(usage_message(exc), prefix="gpt-trader: error:")
        sys.exit(exc.exit_code)
    except typer.Abort:
        _error_line("aborted", prefix="gpt-trader:")
        sys.exit(1)
    except UserError as exc:
        _error_line(str(exc), prefix="error:")
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


def _error_line(message: str, *, prefix: str) -> None:
    from rich.markup import escape

    from gpt_trader.output import stderr

    stderr.print(f"[bold red]{prefix}[/] {escape(message)}", highlight=False)
