"""``gpt-trader profiles list`` and ``gpt-trader config show``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gpt_trader.cli.manager import plugin_manager
from gpt_trader.config import (
    defaulted_sections,
    defaults_notice,
    list_profiles,
    load_config,
    resolve_profile,
)
from gpt_trader.config.redact import redact, secret_values
from gpt_trader.output import print_json, stderr, stdout
from gpt_trader.params import Params
from gpt_trader.registry import Registry


def register(app: typer.Typer) -> None:
    profiles = typer.Typer(help="Profiles: named configurations of the bot.", no_args_is_help=True)
    app.add_typer(profiles, name="profiles")

    @profiles.command("list")
    def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """List the profiles found on the search path."""
        rows = [
            {"name": p.name, "mode": p.mode, "description": p.description, "path": str(p.path)}
            for p in list_profiles()
        ]
        if as_json:
            print_json(rows)
            return
        from rich.table import Table

        table = Table("Name", "Mode", "Description", "Path")
        for r in rows:
            table.add_row(r["name"], r["mode"], r["description"], r["path"])
        stdout.print(table)

    config = typer.Typer(help="Show the resolved configuration.", no_args_is_help=True)
    app.add_typer(config, name="config")

    @config.command("show")
    def show(
        ctx: typer.Context,
        profile: Annotated[
            str, typer.Option("--profile", "-p", help="Profile name or file.")
        ] = "dev",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Print a profile after env overrides and validation; secrets are redacted."""
        from gpt_trader.app import component_refs

        cfg = load_config(profile)
        # The same check `run` makes before it builds anything: bad input is one line, exit 2.
        settings = Registry(plugin_manager(ctx)).validate_components(component_refs(cfg))
        data = redact(json.loads(cfg.model_dump_json()), secret_values(*settings))
        data["_source"] = str(resolve_profile(profile))
        universe, mode = cfg.profile.universe, cfg.profile.mode
        caveats = [
            line
            for model in settings
            if isinstance(model, Params)
            for line in model.caveats(universe, mode)
        ]
        data["_caveats"] = caveats
        # What a section the profile leaves out became, so a default is never a surprise.
        data["_defaulted"] = defaulted_sections(cfg)
        if as_json:
            print_json(data)
        else:
            from rich.syntax import Syntax

            stdout.print(Syntax(json.dumps(data, indent=2), "json", theme="ansi_dark"))
            for line in caveats:
                stderr.print(f"caveat: {line}", markup=False, highlight=False)
            notice = defaults_notice(cfg)
            if notice is not None:
                stderr.print(f"defaults: {notice[0]}", markup=False, highlight=False)
