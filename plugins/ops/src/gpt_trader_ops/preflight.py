"""``gpt-trader preflight --profile P``: is this machine, key and account ready to trade P?

It runs every check the installed plugins register (``register_checks``; see
:mod:`gpt_trader.checks`): this plugin's own about the profile (components registered and
able to do their job, a writable state dir), the risk plugin's risk files, the Coinbase
adapter's key, permissions, clock and account eligibility, and any third party's. It knows
none of them: one line per result, ``ok``, ``warn`` or ``FAIL`` with the reason; exit 1
when any failed; ``--json`` prints ``[{check, ok, detail}]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from gpt_trader.checks import DEFAULT_MAX_SKEW_S, CheckContext, Result, Status, run_checks
from gpt_trader.registry import Registry

_MARK = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL"}


def run_preflight(config: Any, pm: Any, *, state_dir: Path, **options: Any) -> list[Result]:
    """Every registered check for ``config``; ``options`` are :class:`CheckContext` fields
    (``env`` defaults to a copy of the process environment)."""
    options.setdefault("env", dict(os.environ))
    return run_checks(CheckContext(config, state_dir, pm, **options), Registry(pm).checks())


def render(results: list[Result]) -> str:
    width = max((len(r.check) for r in results), default=0)
    return "\n".join(f"{_MARK[r.status]}  {r.check.ljust(width)}  {r.detail}" for r in results)


def register(app: Any) -> None:
    @app.command()  # type: ignore[untyped-decorator]
    def preflight(
        ctx: typer.Context,
        profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name or TOML file.")],
        state_dir: Annotated[
            Path | None,
            typer.Option("--state-dir", help="The run's state dir (default var/<profile>)."),
        ] = None,
        sim_json: Annotated[
            Path | None,
            typer.Option(
                "--sim-json", help="A venue simulator's sim.json: check against it instead."
            ),
        ] = None,
        key_file: Annotated[
            Path | None, typer.Option("--key-file", help="API key file to check.")
        ] = None,
        max_skew: Annotated[
            float, typer.Option("--max-skew", min=0, help="Largest clock skew allowed (s).")
        ] = DEFAULT_MAX_SKEW_S,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Run the checks the plugins register: keys, permissions, clock, risk files, state
        dir and plugins for a profile."""
        from gpt_trader.cli.manager import plugin_manager
        from gpt_trader.config import default_state_dir, load_config
        from gpt_trader.output import print_json

        config = load_config(profile)
        # The CLI's own manager: the plugins the switches (--no-plugins, ...) let load.
        pm = plugin_manager(ctx)
        results = run_preflight(
            config,
            pm,
            state_dir=state_dir or default_state_dir(config.profile.name),
            simulator=sim_json,
            key_file=key_file,
            max_skew_s=max_skew,
        )
        if as_json:
            print_json([r.to_json() for r in results])
        else:
            typer.echo(render(results))
        if not all(r.ok for r in results):
            raise typer.Exit(1)
