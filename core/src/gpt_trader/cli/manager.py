"""The CLI's plugin manager, built when a command first needs it, and the commands
plugins add through the ``register_commands`` hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    from gpt_trader.plugins import PluginManager


def plugin_manager(ctx: Any) -> PluginManager:
    """The CLI's plugin manager (the click context ``ctx`` of any command), built on first
    use with the root's ``--no-plugins``."""
    from gpt_trader.plugins import PluginManager, make_plugin_manager

    top = ctx.find_root()
    if not isinstance(top.obj, PluginManager):
        top.obj = make_plugin_manager(core_only=bool(top.params.get("no_plugins")))
    pm: PluginManager = top.obj
    return pm


def add_hook_commands(pm: PluginManager, app: typer.Typer) -> None:
    from gpt_trader.errors import UserError
    from gpt_trader.registry import Registry

    try:
        Registry(pm).register_commands(app)
    except UserError:
        # A component clash is reported by the commands that assemble a profile.
        for impl in pm.hook.register_commands.get_hookimpls():
            impl.function(app)


def hook_commands(ctx: Any) -> dict[str, Any]:
    """The commands plugins add through the ``register_commands`` hook (loads them all)."""
    import typer
    import typer.main

    scratch = typer.Typer()
    add_hook_commands(plugin_manager(ctx), scratch)
    return dict(typer.main.get_group(scratch).commands)
