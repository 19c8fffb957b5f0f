"""``gpt-trader chaos``: seeded fault-and-crash scenarios, the invariants reported."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from gpt_trader.errors import UserError


def register(app: typer.Typer) -> None:
    @app.command()
    def chaos(
        runs: Annotated[int, typer.Option("--runs", min=1, help="How many scenarios.")] = 100,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the batch.")] = 1,
        faults: Annotated[
            str | None,
            typer.Option("--faults", help="The simulator's fault spec for every scenario."),
        ] = None,
        mix: Annotated[
            str | None,
            typer.Option("--mix", help="Draw each scenario's faults from a mix: harsh, none."),
        ] = None,
        crashes: Annotated[
            int, typer.Option("--crashes", min=0, max=20, help="Up to K crashes a scenario.")
        ] = 2,
        profile: Annotated[
            str, typer.Option("--profile", help="coinbase-sim, cfm-sim or intx-sim.")
        ] = "coinbase-sim",
        duration: Annotated[
            float, typer.Option("--duration", min=5, help="Virtual seconds a scenario.")
        ] = 240.0,
        jobs: Annotated[
            int | None, typer.Option("--jobs", min=1, help="Worker processes (default: cores).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
        keep_failures: Annotated[
            Path | None,
            typer.Option("--keep-failures", help="Copy each failing scenario's files here."),
        ] = None,
        replay: Annotated[
            int | None, typer.Option("--replay", min=0, help="Run this one scenario again.")
        ] = None,
    ) -> None:
        """Run the bot, its Coinbase adapter and the simulator on a virtual clock under
        seeded faults and crashes; check that nothing was sent twice or lost."""
        from gpt_trader_chaos.plan import check_faults, check_profile
        from gpt_trader_chaos.runner import Settings, report, scenario_seeds, timed

        check_profile(profile)
        check_faults(faults, mix)
        settings = Settings(
            profile=profile,
            faults=faults,
            mix=None if faults else (mix or "harsh"),
            max_crashes=crashes,
            duration_s=duration,
        )
        if keep_failures is not None:
            try:
                keep_failures.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"--keep-failures {keep_failures}: {exc.strerror}") from None
        seeds = [replay] if replay is not None else scenario_seeds(seed, runs)
        workers = jobs or min(len(seeds), _cores())
        results, elapsed = timed(settings, seeds, jobs=workers, keep=keep_failures)
        out = report(settings, results, elapsed, jobs=workers)
        if as_json:
            from gpt_trader.output import print_json

            print_json(out)
        else:
            _show(out)
        if not out["ok"]:
            raise typer.Exit(1)


def _cores() -> int:
    """The cores this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on macOS
        return os.cpu_count() or 1


def _show(out: dict[str, Any]) -> None:
    from gpt_trader.output import stdout

    rate = out["scenarios_per_minute"]
    stdout.print(
        f"chaos on {out['profile']}: {out['scenarios']} scenarios "
        f"({out['virtual_s']:g} virtual s) in {out['elapsed_s']:g} s, "
        f"{rate} a minute on {out['jobs']} process(es)",
        highlight=False,
    )
    stdout.print(
        f"crashes {out['crashes']}, orders {out['orders']}, fills {out['fills']}",
        highlight=False,
    )
    kinds = ", ".join(f"{k} {v}" for k, v in out["faults"].items()) or "none"
    stdout.print(f"faults: {kinds}", highlight=False, markup=False)
    for name, row in out["invariants"].items():
        if name == "error" and not row["failures"]:
            continue
        verdict = "ok" if not row["failures"] else f"FAILED in {row['failures']} scenario(s)"
        stdout.print(f"  {name:<16} {verdict}", highlight=False, markup=False)
        for failure in row["seeds"][:3]:
            stdout.print(f"    seed {failure['seed']}: {failure['what'][0]}", markup=False)
            stdout.print(f"      replay: {failure['replay']}", markup=False, highlight=False)
    if out["trace"]:
        stdout.print(f"trace of seed {out['trace_seed']}:", highlight=False)
        for line in out["trace"]:
            stdout.print(f"  {line}", markup=False, highlight=False)
    stdout.print("all invariants held" if out["ok"] else "INVARIANTS FAILED", highlight=False)
