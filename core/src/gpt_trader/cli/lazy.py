"""The root command group: lists the command table, imports a command only to run it."""

from __future__ import annotations

import importlib
from typing import Annotated, Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from gpt_trader.cli.table import CommandRef

# A typer-built command; typer's click is vendored, so this stays untyped here.
Command = Any


def _unset_flags_false(params: list[Any]) -> list[Any]:
    """``params`` with each flag that has no default defaulting to False, as in click.

    typer's own flags (``--help``, ``--install-completion``, ``--show-completion``) default
    to None, and typer coerces a None flag through a pydantic adapter it builds first: the
    import of pydantic (~0.13 s without a bytecode cache) for a value it passes on as it is.
    A False flag it passes on without an adapter.
    """
    for param in params:
        if getattr(param, "is_bool_flag", False) and param.default is None:
            param.default = False
    return params


class FalseFlagsGroup(TyperGroup):
    """A ``TyperGroup`` whose unset flags are False (see :func:`_unset_flags_false`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _unset_flags_false(super().get_params(ctx))


class FalseFlagsCommand(TyperCommand):
    """A ``TyperCommand`` whose unset flags are False (see :func:`_unset_flags_false`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _unset_flags_false(super().get_params(ctx))


class LazyGroup(FalseFlagsGroup):
    """A ``TyperGroup`` whose table commands are placeholders until one is resolved.

    ``gpt-trader --help`` and completion of command names read the table; running a command
    (or its ``--help``) imports its target then. With ``hooks_deferred``, the commands plugins
    add through the ``register_commands`` hook join on the first name the table lacks
    (:func:`gpt_trader.cli.manager.hook_commands`); otherwise the app was built with them.
    """

    table: ClassVar[dict[str, tuple[str, CommandRef]]] = {}
    hooks_deferred: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._targets: dict[str, TyperGroup] = {}
        self._hooks_added = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.table, *(name for name in self.commands if name not in self.table)]

    def get_command(self, ctx: Any, cmd_name: str) -> Command | None:
        cmd = self.commands.get(cmd_name)
        if cmd is None and cmd_name in self.table:
            ref = self.table[cmd_name][1]
            cmd = typer.core.TyperCommand(name=ref.name, help=ref.help)
        return cmd

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Command, list[str]]:
        name = args[0] if args else ""
        if name in self.table and name not in self.commands:
            self.commands[name] = self._load(name)
        if name not in self.commands:
            self._add_hook_commands(ctx)
        if name in self.commands:
            return super().resolve_command(ctx, args)
        # Unknown: typer words the error and its suggestions over every name, placeholders too.
        saved = self.commands
        self.commands = {n: c for n in self.list_commands(ctx) if (c := self.get_command(ctx, n))}
        try:
            return super().resolve_command(ctx, args)
        finally:
            self.commands = saved

    def _load(self, name: str) -> Command:
        plugin, ref = self.table[name]
        try:
            group = self._targets.get(ref.target)
            if group is None:
                module, _, attr = ref.target.partition(":")
                register = getattr(importlib.import_module(module), attr)
                scratch = typer.Typer()
                register(scratch)
                group = self._targets[ref.target] = typer.main.get_group(scratch)
            cmd = group.commands[name]
        except Exception as exc:
            from gpt_trader.errors import UserError

            raise UserError(
                f"command {name!r} of plugin {plugin!r} failed to load "
                f"({ref.target}): {type(exc).__name__}: {exc}"
            ) from None
        return cmd

    def _add_hook_commands(self, ctx: Any) -> None:
        if self._hooks_added or not self.hooks_deferred:
            return
        from gpt_trader.cli.manager import hook_commands

        self._hooks_added = True
        for name, cmd in hook_commands(ctx).items():
            self.commands.setdefault(name, cmd)


def _version(value: bool) -> None:
    if value:
        from gpt_trader import __version__

        typer.echo(f"gpt-trader {__version__}")
        raise typer.Exit()


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
