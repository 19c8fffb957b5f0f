"""The command table: every command's name and one-line help, known without importing it.

Core's commands are listed here; a plugin declares its own in an entry point of group
``gpt_trader.commands`` named like the plugin, pointing at a tuple of :class:`CommandRef`
in a module that imports nothing heavy (``gpt-trader --help`` imports it)::

    [project.entry-points."gpt_trader.commands"]
    myplugin = "myplugin.commands:COMMANDS"

    # myplugin/commands.py
    from gpt_trader.cli.table import CommandRef

    COMMANDS = (CommandRef("hello", "Say hello.", "myplugin.cli:register"),)

The command's module loads only when the command runs (or shows its own ``--help``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from gpt_trader.discovery import COMMANDS_GROUP, allow_list, enabled

if TYPE_CHECKING:
    from gpt_trader.plugins import PluginManager

log = logging.getLogger("gpt_trader.cli")


@dataclass(frozen=True)
class CommandRef:
    """A top-level command (or group) of ``gpt-trader``, before its module is imported.

    ``help`` is the line ``gpt-trader --help`` shows (the first paragraph of the command's
    docstring, which a test holds equal); ``target`` is ``"module:function"``, a function
    ``register(app)`` that adds the command ``name`` to a ``typer.Typer``. Several
    commands may share one target: it is imported and run once.
    """

    name: str
    help: str
    target: str


def _core(name: str, help_: str, module: str) -> CommandRef:
    return CommandRef(name, help_, f"gpt_trader.cli.{module}:register")


CORE_COMMANDS: tuple[CommandRef, ...] = (
    _core("run", "Run the bot on a profile; Ctrl-C or SIGTERM stops it gracefully.", "run_cmd"),
    _core(
        "status",
        "Show whether the bot runs, its trading state, positions, orders and guard trips.",
        "status_cmd",
    ),
    _core("pause", "Stop opening positions (exits still allowed) until resume.", "operator_cmd"),
    _core(
        "resume",
        "Clear REDUCE_ONLY/HALTED and a pause; only an operator loosens the state.",
        "operator_cmd",
    ),
    _core("reduce-only", "Allow only orders that reduce positions.", "operator_cmd"),
    _core("halt", "Stop placing orders altogether.", "operator_cmd"),
    _core("cancel-all", "Cancel every open order of the running bot.", "operator_cmd"),
    _core("stop", "Stop the running bot gracefully.", "operator_cmd"),
    _core("plugins", "Inspect installed plugins.", "plugins_cmd"),
    _core("profiles", "Profiles: named configurations of the bot.", "config_cmd"),
    _core("config", "Show the resolved configuration.", "config_cmd"),
)


def declared_commands(
    pm: PluginManager | None = None, *, core_only: bool = False
) -> dict[str, tuple[str, CommandRef]]:
    """Every command by name with the plugin that declares it: core's first, then each
    plugin's table in name order. With ``pm``, only the plugins it has loaded; without,
    those the switches allow. The first to claim a name keeps it."""
    found: dict[str, tuple[str, CommandRef]] = {ref.name: ("core", ref) for ref in CORE_COMMANDS}
    allow = allow_list()
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        if pm is not None:
            rec = pm.record(ep.name)
            if rec is None or rec.status != "loaded":
                continue
        elif not enabled(ep, allow, core_only=core_only):
            continue
        try:
            refs = tuple(ep.load())
        except Exception as exc:  # a broken table hides its commands, not the CLI
            log.warning("command table %r failed and is skipped: %s", ep.name, exc)
            continue
        for ref in refs:
            if not isinstance(ref, CommandRef):
                log.warning("command table %r holds %r, not a CommandRef", ep.name, ref)
            elif ref.name in found:
                log.warning(
                    "command %r of %r is already %r's; skipped",
                    ref.name,
                    ep.name,
                    found[ref.name][0],
                )
            else:
                found[ref.name] = (ep.name, ref)
    return found
