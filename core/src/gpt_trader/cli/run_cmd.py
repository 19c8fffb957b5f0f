"""``gpt-trader run``: trade a profile until stopped or a bound is reached."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from gpt_trader.cli.manager import plugin_manager
from gpt_trader.components import Kind
from gpt_trader.config import (
    BotConfig,
    ComponentRef,
    default_state_dir,
    defaults_notice,
    load_config,
)
from gpt_trader.config.durations import parse_duration
from gpt_trader.config.settings import AdoptHolding
from gpt_trader.errors import UserError
from gpt_trader.output import orders_text, print_json, stdout
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry

if TYPE_CHECKING:
    from gpt_trader.runtime.live import Bounds


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        ctx: typer.Context,
        profile: Annotated[
            str, typer.Option("--profile", "-p", help="Profile name or TOML file.")
        ] = "dev",
        state_dir: Annotated[
            Path | None,
            typer.Option("--state-dir", help="Where the store lives (default var/<profile>)."),
        ] = None,
        for_: Annotated[
            str | None,
            typer.Option(
                "--for",
                help="Stop trading this long after the command starts (start-up and "
                "reconcile count), e.g. 20s, 5m. An order call in flight at the bound "
                "finishes first (at most its timeout); then the shutdown runs (cancels, "
                "summary).",
            ),
        ] = None,
        max_events: Annotated[
            int | None, typer.Option("--max-events", min=1, help="Stop after N market events.")
        ] = None,
        dev_fast: Annotated[
            bool, typer.Option("--dev-fast", help="Do not pace the simulated feed.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        live: Annotated[
            bool, typer.Option("--live", help="Required for a live profile: trade real money.")
        ] = False,
        adopt: Annotated[
            list[str] | None,
            typer.Option(
                "--adopt",
                metavar="SYMBOL:SIZE@COST",
                help="Hand the bot spot holdings it did not buy, at the price paid per unit "
                "(e.g. BTC-USD:0.5@61000); recorded, adopted once.",
            ),
        ] = None,
        metrics_port: Annotated[
            int | None,
            typer.Option(
                "--metrics-port",
                min=0,
                help="Serve Prometheus metrics on 127.0.0.1:PORT (ops plugin).",
            ),
        ] = None,
        web_port: Annotated[
            int | None,
            typer.Option(
                "--web-port",
                min=0,
                max=65535,
                help="Serve the web dashboard on 127.0.0.1:PORT, 0 for any (web plugin).",
            ),
        ] = None,
    ) -> None:
        """Run the bot on a profile; Ctrl-C or SIGTERM stops it gracefully.

        Exits 0 when the run ended as asked, 2 on bad input, and 3 when the venue was
        unreachable for more than half of the run (the summary says how long).
        """
        started = time.monotonic()
        pm = plugin_manager(ctx)
        try:
            duration = None if for_ is None else parse_duration(for_)
        except UserError as exc:
            raise UserError(f"--for: {exc}") from None
        config = load_config(profile)
        if config.profile.mode == "live" and not live:
            raise UserError(
                f"profile {config.profile.name!r} trades real money: pass --live to confirm"
            )
        if adopt:
            config = with_adoptions(config, adopt)
        if dev_fast:
            config = _dev_fast(config, Registry(pm))
        _setup_logging(config.logging.level, quiet=as_json, json_lines=config.logging.json_lines)
        target = state_dir or default_state_dir(config.profile.name)
        options: dict[str, Any] = {"live": live}
        if metrics_port is not None:
            options["metrics_port"] = metrics_port
        if web_port is not None:
            options["web_port"] = web_port
        from gpt_trader.runtime.live import Bounds

        bounds = Bounds(duration_s=duration, max_events=max_events, since=started)
        summary = asyncio.run(_run(config, pm, target, bounds, options))
        if as_json:
            print_json(summary)
        else:
            show_summary(summary)
        _fail_if_mostly_disconnected(summary.get("connectivity") or {})


# A run that could not reach the venue for most of its time did not do its job.
MOSTLY_DISCONNECTED_EXIT = 3


def _fail_if_mostly_disconnected(conn: dict[str, Any]) -> None:
    from gpt_trader.engine.connectivity import MOSTLY
    from gpt_trader.output import fail

    share = float(conn.get("disconnected_share", 0))
    if share > MOSTLY:
        fail(
            f"the venue was unreachable for {conn.get('disconnected_s')} s, {share:.0%} of "
            "the run: it did not trade as asked",
            MOSTLY_DISCONNECTED_EXIT,
        )


async def _run(
    config: BotConfig,
    pm: PluginManager,
    state_dir: Path,
    bounds: Bounds,
    options: dict[str, Any],
) -> dict[str, Any]:
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.control import apply_pending
    from gpt_trader.runtime.live import StopRequest, run_live

    runtime = await assemble(config, pm, state_dir, options=options)
    notice = defaults_notice(config)
    if notice is not None:
        line, decides_trading = notice
        level = logging.WARNING if decides_trading else logging.INFO
        logging.getLogger("gpt_trader.config").log(level, line)
    stop = StopRequest()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reason = "error"

    async def operator_poll() -> None:
        await apply_pending(runtime.kernel, runtime.store, runtime.run_id, stop)

    try:
        await start(runtime)
        reason = await run_live(
            runtime.kernel,
            runtime.feed,
            runtime.symbols,
            bounds=bounds,
            stop=stop,
            guard_interval_s=config.run.guard_interval_s,
            on_tick=operator_poll,
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        summary = await finish(runtime, reason)
    return summary


def with_adoptions(config: BotConfig, specs: list[str]) -> BotConfig:
    """The profile with ``--adopt SYMBOL:SIZE@COST`` entries added to ``[run] adopt_holdings``."""
    adopted = dict(config.run.adopt_holdings)
    for spec in specs:
        symbol, _, rest = spec.partition(":")
        size, at, cost = rest.partition("@")
        if not at or not cost.strip():
            raise UserError(
                f"--adopt {spec}: a cost basis is required (SYMBOL:SIZE@COST, COST = the price "
                "paid per unit); holdings are never adopted at cost 0"
            )
        if symbol not in config.profile.universe:
            raise UserError(f"--adopt {spec}: {symbol or '?'} is not in the profile's universe")
        try:
            adopted[symbol] = AdoptHolding(size=Decimal(size), cost=Decimal(cost))
        except (InvalidOperation, ValidationError):
            raise UserError(
                f"--adopt {spec}: size and cost must be positive numbers (SYMBOL:SIZE@COST)"
            ) from None
    run = config.run.model_copy(update={"adopt_holdings": adopted})
    return config.model_copy(update={"run": run})


def _dev_fast(config: BotConfig, registry: Registry) -> BotConfig:
    """The same profile with the feed unpaced (``run.dev_fast_pace_s``)."""
    if "pace_s" not in registry.settings_model(Kind.FEED, config.feed.use).model_fields:
        raise UserError(f"--dev-fast needs a paced feed; {config.feed.use!r} has no pace_s")
    params = {**config.feed.params, "pace_s": config.run.dev_fast_pace_s}
    return config.model_copy(update={"feed": ComponentRef(use=config.feed.use, **params)})


def _setup_logging(level: str, *, quiet: bool, json_lines: bool) -> None:
    from gpt_trader.output import stderr

    own_level = "WARNING" if quiet else level
    if json_lines:
        from gpt_trader.logs import install

        install(own_level)
        return
    from rich.logging import RichHandler

    handler = RichHandler(console=stderr, show_path=False, rich_tracebacks=False, markup=False)
    logging.basicConfig(level="WARNING", handlers=[handler], format="%(message)s", force=True)
    # Only our own loggers follow the profile's level; asyncio's debug chatter stays out.
    logging.getLogger("gpt_trader").setLevel(own_level)


def show_summary(summary: dict[str, Any]) -> None:
    from decimal import Decimal

    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    pnl = summary.get("pnl", {})
    rows = [
        ("run", summary.get("run_id", "")),
        ("profile", f"{summary.get('profile', '')} ({summary.get('mode', '')})"),
        ("stopped", summary.get("stop_reason", "")),
        ("trading state", summary.get("trading_state", "")),
    ]
    if summary.get("entries_paused"):
        rows.append(("entries paused", summary["entries_paused"]))
    rows += [
        ("events", str(summary.get("events", 0))),
        ("orders", orders_text(summary.get("orders", 0), summary.get("orders_by_status", {}))),
        ("fills", str(summary.get("fills", 0))),
        ("realized P&L", pnl.get("realized", "0")),
        ("unrealized P&L", pnl.get("unrealized", "0")),
        ("fees", pnl.get("fees", "0")),
        ("equity", summary.get("equity", "")),
        ("guard trips", str(len(summary.get("guard_trips", [])))),
        ("state dir", summary.get("state_dir", "")),
    ]
    # Values are plain text: a path or a message with brackets is not rich markup.
    for key, value in rows:
        table.add_row(key, Text(str(value)))
    # The summary also lists flat positions that realised P&L; the panel shows holdings.
    held = [p for p in summary.get("positions", []) if Decimal(p["size"]) != 0]
    for pos in held:
        table.add_row(f"  {pos['symbol']}", f"{pos['size']} @ {pos['avg_entry_price']}")
    if not held:
        table.add_row("positions", "no open positions")
    # Only where the account holds coins that are not the bot's: those it never trades.
    for h in (h for h in summary.get("holdings", []) if h["account"] != h["bot"]):
        line = f"account holds {h['account']}, bot inventory {h['bot']}"
        table.add_row(f"  {h['symbol']}", Text(line))
    for warning in summary.get("warnings", []):
        table.add_row(Text("warning", style="yellow"), Text(str(warning)))
    stdout.print(Panel(table, title="gpt-trader run", expand=False))
