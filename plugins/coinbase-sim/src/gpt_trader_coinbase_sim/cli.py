"""``gpt-trader sim serve``: run the Coinbase-protocol simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpt_trader_coinbase_sim.faults import FaultSpecError, parse_spec

if TYPE_CHECKING:
    from gpt_trader_coinbase_sim.server import SimConfig

DEFAULT_STATE_DIR = Path("var/coinbase-sim")
# Kept in step with server.DEFAULT_PRODUCTS, which this module does not import: the server
# (aiohttp and the engine) loads only when `sim serve` runs, not whenever the CLI is built.
DEFAULT_PRODUCTS = ("BTC-USD", "ETH-USD")


def _balances(spec: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        cur, _, amount = item.partition("=")
        try:
            out[cur.strip().upper()] = Decimal(amount)
        except InvalidOperation:
            raise typer.BadParameter(f"bad balance {item!r} (use USD=100000,BTC=1)") from None
    return out


async def _serve(config: SimConfig) -> None:
    from gpt_trader_coinbase_sim.server import Simulator

    sim = Simulator(config)
    info = await sim.start()
    # ONE line of JSON on stdout: what a supervising process reads to find us.
    sys.stdout.write(json.dumps(info.to_json()) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 0,
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help="Where cert, key and sim.json go.")
    ] = DEFAULT_STATE_DIR,
    seed: Annotated[int, typer.Option(help="Seed of the market walk and faults.")] = 0,
    products: Annotated[str, typer.Option(help="Comma-separated products.")] = ",".join(
        DEFAULT_PRODUCTS
    ),
    replay: Annotated[
        Path | None, typer.Option(help="CSV of candles driving the first product.")
    ] = None,
    faults: Annotated[
        str | None, typer.Option(help='Fault spec, e.g. "latency=50ms,429=0.1,gap=0.02".')
    ] = None,
    tick: Annotated[float, typer.Option(help="Seconds between market steps.")] = 1.0,
    balances: Annotated[
        str, typer.Option(help="Starting balances, e.g. USD=100000,BTC=1.")
    ] = "USD=100000,USDC=100000",
) -> None:
    """Serve the Coinbase Advanced Trade API (REST + WebSocket, TLS) on loopback."""
    try:
        parse_spec(faults)
    except FaultSpecError as e:
        raise typer.BadParameter(str(e), param_hint="--faults") from None
    from gpt_trader_coinbase_sim.server import SimConfig

    config = SimConfig(
        state_dir=state_dir,
        host=host,
        port=port,
        seed=seed,
        products=[p.strip() for p in products.split(",") if p.strip()],
        replay=replay,
        faults=faults,
        tick_s=tick,
        balances=_balances(balances),
    )
    asyncio.run(_serve(config))


def build_sim_app() -> typer.Typer:
    sim = typer.Typer(help="The Coinbase-protocol exchange simulator.", no_args_is_help=True)
    sim.command("serve")(serve)
    return sim
