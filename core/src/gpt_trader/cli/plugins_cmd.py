"""``gpt-trader plugins list``: what is installed, loaded, failed, and what it provides."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gpt_trader.cli.lazy import FalseFlagsCommand, FalseFlagsGroup
from gpt_trader.cli.manager import plugin_manager
from gpt_trader.cli.table import declared_commands
from gpt_trader.errors import UserError
from gpt_trader.output import print_json, stdout
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry


def plugin_rows(pm: PluginManager, *, include_all: bool) -> list[dict[str, Any]]:
    clash = ""
    try:
        Registry(pm)  # fills in `provides` and marks plugins whose registration fails
    except UserError as exc:
        clash = str(exc)
    commands: dict[str, list[str]] = {}
    for name, (plugin, _) in declared_commands(pm).items():
        commands.setdefault(plugin, []).append(f"command:{name}")
    rows = []
    for rec in pm.records:
        if rec.status == "disabled" and not include_all:
            continue
        row: dict[str, Any] = {
            "name": rec.name,
            "version": rec.version,
            "entry_point": rec.entry_point,
            "distribution": rec.distribution,
            "status": rec.status,
            "hooks": rec.hooks,
            "provides": sorted([*rec.provides, *commands.get(rec.name, [])]),
        }
        if rec.error:
            row["error"] = rec.error
        if clash and rec.status == "loaded":
            row["warning"] = clash
        rows.append(row)
    return rows


def register(app: typer.Typer) -> None:
    plugins = typer.Typer(
        help="Inspect installed plugins.", no_args_is_help=True, cls=FalseFlagsGroup
    )
    app.add_typer(plugins, name="plugins")

    @plugins.command("list", cls=FalseFlagsCommand)
    def list_(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        include_all: Annotated[
            bool, typer.Option("--all", help="Include disabled plugins.")
        ] = False,
    ) -> None:
        """List plugins: name, version, entry point, status, hooks, components provided."""
        rows = plugin_rows(plugin_manager(ctx), include_all=include_all)
        if as_json:
            print_json(rows)
            return
        if not rows:
            stdout.print("No plugins installed.")
            return
        from rich.table import Column, Table
        from rich.text import Text

        # Text, not str: an error prints as written, never read as markup or emoji codes
        # (whose table alone costs ~0.03 s to import).
        headers = ("Name", "Version", "Entry point", "Status", "Hooks", "Provides")
        table = Table(*(Column(Text(header)) for header in headers))
        for row in rows:
            status = row["status"]
            if row.get("error"):
                status = f"{status}: {row['error']}"
            cells = (
                row["name"],
                row["version"],
                row["entry_point"],
                status,
                ", ".join(row["hooks"]),
                ", ".join(row["provides"]),
            )
            table.add_row(*map(Text, cells))
        stdout.print(table)
