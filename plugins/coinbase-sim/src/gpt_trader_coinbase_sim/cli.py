"""``gpt-trader sim serve``: run the Coinbase-protocol simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import signal
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from gpt_trader.config.profiles import describe_validation_error
from gpt_trader.errors import UserError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gpt_trader_coinbase_sim.faults import FaultSpecError, parse_spec

if TYPE_CHECKING:
    from gpt_trader_coinbase_sim.server import SimConfig

DEFAULT_STATE_DIR = Path("var/coinbase-sim")
# Kept in step with server.DEFAULT_PRODUCTS, which this module does not import: the server
# (aiohttp and the engine) loads only when `sim serve` runs, not whenever the CLI is built.
DEFAULT_PRODUCTS = ("BTC-USD", "ETH-USD")


class ServeOptions(BaseModel):
    """Every ``sim serve`` option, checked before anything is written or bound."""

    model_config = ConfigDict(frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(ge=0, le=65535)
    state_dir: Path
    seed: int
    products: list[str]
    replay: Path | None
    faults: str | None
    tick: float = Field(gt=0)
    balances: dict[str, Decimal]

    @field_validator("state_dir")
    @classmethod
    def _a_directory(cls, value: Path) -> Path:
        # Absolute, so sim.json names files a bot started elsewhere can read.
        path = value.expanduser().absolute()
        for parent in (path, *path.parents):
            if parent.exists():
                if not parent.is_dir():
                    raise ValueError(f"{parent} is a file, not a directory")
                break
        return path

    @field_validator("products", mode="before")
    @classmethod
    def _product_list(cls, value: Any) -> list[str]:
        products = [p.strip() for p in str(value).split(",") if p.strip()]
        if not products:
            raise ValueError("name at least one product, e.g. BTC-USD,ETH-USD")
        return products

    @field_validator("replay")
    @classmethod
    def _a_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file (a CSV of candles)")
        return value

    @field_validator("faults")
    @classmethod
    def _a_fault_spec(cls, value: str | None) -> str | None:
        try:
            parse_spec(value)
        except FaultSpecError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("tick")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        return value

    @field_validator("balances", mode="before")
    @classmethod
    def _balance_list(cls, value: Any) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for item in filter(None, (p.strip() for p in str(value).split(","))):
            cur, _, text = item.partition("=")
            cur = cur.strip().upper()
            try:
                amount = Decimal(text.strip())
            except InvalidOperation:
                amount = Decimal("NaN")
            if not cur.isalnum() or not amount.is_finite() or amount < 0:
                raise ValueError(
                    f"{item!r} is not CURRENCY=AMOUNT with an amount >= 0 (use USD=100000,BTC=1)"
                )
            out[cur] = amount
        return out


def serve_options(**values: Any) -> ServeOptions:
    """The options, or :class:`UserError`: one line naming the option and what it takes."""
    try:
        return ServeOptions(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "--" + str(err["loc"][0]).replace("_", "-") if err.get("loc") else "options"
        what = describe_validation_error(exc).split(": ", 1)[-1]
        raise UserError(f"sim serve {name}: {what}") from None


def _log_to_stderr() -> None:
    """The simulator's own lines (one per injected fault, warnings) on stderr, one each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("gpt_trader_coinbase_sim")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


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
    opts = serve_options(
        host=host,
        port=port,
        state_dir=state_dir,
        seed=seed,
        products=products,
        replay=replay,
        faults=faults,
        tick=tick,
        balances=balances,
    )
    from gpt_trader_coinbase_sim.server import SimConfig

    _log_to_stderr()
    config = SimConfig(
        state_dir=opts.state_dir,
        host=opts.host,
        port=opts.port,
        seed=opts.seed,
        products=opts.products,
        replay=opts.replay,
        faults=opts.faults,
        tick_s=opts.tick,
        balances=opts.balances,
    )
    asyncio.run(_serve(config))


def build_sim_app() -> typer.Typer:
    sim = typer.Typer(help="The Coinbase-protocol exchange simulator.", no_args_is_help=True)
    sim.command("serve")(serve)
    return sim


def register(app: typer.Typer) -> None:
    """Add ``sim`` to ``app`` (the ``gpt-trader`` CLI's command table points here)."""
    app.add_typer(build_sim_app(), name="sim")
