"""What the ``sim`` broker and the ``synthetic`` and ``csv`` feeds are built from: their
settings models and factories (:mod:`gpt_trader.sim.plugin` registers them by name, so
listing plugins never loads the exchange).

Negative numbers are refused by the params models, so a profile gets a clear error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from gpt_trader.components import BuildContext
from gpt_trader.domain import Product, ProductType
from gpt_trader.domain.market import datetime_to_ts
from gpt_trader.errors import UserError
from gpt_trader.params import Params
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.csvfeed import CsvCandleFeed
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.margin_account import default_terms
from gpt_trader.sim.margin_records import DerivativesConfig
from gpt_trader.sim.products import default_products
from gpt_trader.sim.synthetic import DEFAULT_START_TS, SyntheticFeed

BPS = Decimal(10_000)
DEFAULT_STARTING_CASH = Decimal(100_000)
STATE_FILE = "sim_exchange.json"


class SimBrokerParams(Params):
    """Settings of the ``sim`` broker.

    ``starting_cash`` funds the ``cash_currency`` spot wallet: 100000 by default, 0 when
    the universe holds only futures and perpetuals (their money is in the pools: a spot
    wallet they cannot trade with would only inflate the kernel's cash). When the universe
    has derivative products, ``futures_cash`` funds the margin pool of its FUTURE products
    and ``perps_cash`` that of its PERPETUAL ones (each product's terms name its pool; a
    pool both kinds share gets both); ``intraday_margin`` opts in to intraday rates.
    ``persist`` keeps the simulated exchange in ``<state_dir>/sim_exchange.json`` so a
    restarted bot finds its orders; it is skipped when the run says it is a replay
    (``BuildContext.options["replay"]``), where a snapshot per change would only cost time.
    """

    starting_cash: Decimal | None = Field(default=None, ge=0)
    cash_currency: str = Field(default="USD", min_length=1)
    # Holdings the account has before the bot trades, e.g. {BTC = "1"}: the account's, not
    # the bot's (it trades them only when the profile adopts them with a cost).
    starting_balances: dict[str, Decimal] = Field(default_factory=dict)
    maker_fee_bps: Decimal = Field(default=Decimal(40), ge=0)
    taker_fee_bps: Decimal = Field(default=Decimal(60), ge=0)
    market_fill: Literal["immediate", "next_open"] = "immediate"
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0)
    volume_participation: Decimal | None = Field(default=None, gt=0, le=1)
    persist: bool = True

    @field_validator("starting_balances")
    @classmethod
    def _not_negative(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if amount < 0:
                raise ValueError(f"starting_balances {currency}: {amount} is negative")
        return value

    # derivative products (futures, perpetuals) in the universe only
    futures_cash: Decimal = Field(default=Decimal(0), ge=0)
    perps_cash: Decimal = Field(default=Decimal(0), ge=0)
    intraday_margin: bool = False


def _parse_start(value: str) -> int:
    dt = datetime.fromisoformat(value.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return datetime_to_ts(dt)


class SyntheticFeedParams(Params):
    """Settings of the ``synthetic`` feed; ``start`` is ISO-8601 (UTC when naive)."""

    seed: int | None = None
    interval_s: int = Field(default=60, gt=0)
    pace_s: float = Field(default=1.0, ge=0)
    start: str | None = None
    warmup_bars: int = Field(default=0, ge=0)

    @field_validator("start")
    @classmethod
    def _start_is_iso(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_start(value)  # ValueError -> a validation error naming the field
        return value


class CsvFeedParams(Params):
    """Settings of the ``csv`` feed: the file and the symbol its bars are for."""

    path: str = Field(min_length=1)
    symbol: str | None = None
    interval_s: int | None = Field(default=None, gt=0)
    pace_s: float = Field(default=0.0, ge=0)


def _products(ctx: BuildContext) -> dict[str, Product]:
    if ctx.products:
        return dict(ctx.products)
    return default_products(ctx.universe, ctx.catalogues)


def pool_cash(
    products: dict[str, Product], futures_cash: Decimal, perps_cash: Decimal
) -> dict[str, Decimal]:
    """Starting cash per margin pool: ``futures_cash`` for the pool of the FUTURE products,
    ``perps_cash`` for that of the PERPETUAL ones (both for a pool they share)."""
    pools: dict[str, Decimal] = {}
    funded: set[tuple[str, ProductType]] = set()
    for p in products.values():
        if not p.is_derivative:
            continue
        pool = (p.derivative or default_terms(p)).pool
        if (pool, p.product_type) in funded:
            continue
        funded.add((pool, p.product_type))
        cash = futures_cash if p.product_type is ProductType.FUTURE else perps_cash
        pools[pool] = pools.get(pool, Decimal(0)) + cash
    return pools


def _starting_cash(params: SimBrokerParams, products: dict[str, Product]) -> Decimal:
    if params.starting_cash is not None:
        return params.starting_cash
    only_derivatives = bool(products) and all(p.is_derivative for p in products.values())
    return Decimal(0) if only_derivatives else DEFAULT_STARTING_CASH


def make_sim_broker(params: SimBrokerParams, ctx: BuildContext) -> SimBroker:
    products = _products(ctx)
    exchange = SimExchange(
        products,
        {**params.starting_balances, params.cash_currency: _starting_cash(params, products)},
        maker_fee=params.maker_fee_bps / BPS,
        taker_fee=params.taker_fee_bps / BPS,
        market_fill=params.market_fill,
        slippage_bps=params.slippage_bps,
        volume_participation=params.volume_participation,
        fill_on_touch=bool(ctx.options.get("fill_on_touch", False)),
        seed=ctx.seed,
        derivatives=DerivativesConfig(
            pools=pool_cash(products, params.futures_cash, params.perps_cash),
            intraday_margin=params.intraday_margin,
        ),
    )
    persist = params.persist and not ctx.options.get("replay", False)
    state_file = Path(ctx.state_dir) / STATE_FILE if persist else None
    return SimBroker(exchange, state_file=state_file)


def _start_ts(params: SyntheticFeedParams, ctx: BuildContext) -> int:
    """The configured start; a resumed run continues after the market it last saw."""
    if params.start is not None:
        start = _parse_start(params.start)
    else:
        # A live sim run starts at "now" (the assembler's start_ts); tests pin `start`.
        configured = ctx.options.get("start_ts")
        start = configured if isinstance(configured, int) and configured > 0 else DEFAULT_START_TS
    resume_after = ctx.options.get("resume_after_ts")
    if isinstance(resume_after, int) and resume_after >= start:
        step = params.interval_s * 1_000_000_000
        start += ((resume_after - start) // step + 1) * step
    return start


def make_synthetic_feed(params: SyntheticFeedParams, ctx: BuildContext) -> SyntheticFeed:
    return SyntheticFeed(
        _products(ctx),
        seed=ctx.seed if params.seed is None else params.seed,
        interval_s=params.interval_s,
        start_ts=_start_ts(params, ctx),
        pace_s=params.pace_s,
        warmup_bars=params.warmup_bars,
    )


def make_csv_feed(params: CsvFeedParams, ctx: BuildContext) -> CsvCandleFeed:
    symbol = params.symbol
    if symbol is None:
        if not ctx.universe:
            raise UserError("csv feed: no symbol given and the universe is empty")
        symbol = ctx.universe[0]
    return CsvCandleFeed(
        Path(params.path).expanduser(), symbol, params.interval_s, pace_s=params.pace_s
    )
