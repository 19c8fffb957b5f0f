"""Entry point ``risk``: registers this distribution's guards and sizers.

Every guard and sizer is its own named component, so a profile picks exactly the ones it
wants (``[[guards]] use = "daily_loss"``) and ``gpt-trader plugins list`` shows each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gpt_trader.checks import Check
from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl
from pydantic import BaseModel

from gpt_trader_risk import breakers as rt
from gpt_trader_risk import derivatives as dv
from gpt_trader_risk import impact
from gpt_trader_risk import pretrade as pre
from gpt_trader_risk import sizers as sz
from gpt_trader_risk.base import currency_of

__all__ = ["GUARDS", "SIZERS", "register_checks", "register_guards", "register_sizers"]


def _plain(cls: Callable[[Any], Any]) -> Callable[[Any, BuildContext], Any]:
    def factory(params: Any, ctx: BuildContext) -> Any:
        return cls(params)

    return factory


def _daily_loss(params: rt.DailyLossParams, ctx: BuildContext) -> rt.DailyLoss:
    persist = params.persist if params.persist is not None else ctx.mode in ("live", "paper")
    state_file = Path(ctx.state_dir) / "risk" / f"daily_loss-{ctx.profile or 'default'}.json"
    return rt.DailyLoss(
        params, currency=currency_of(ctx.products), state_file=state_file if persist else None
    )


def _max_drawdown(params: rt.MaxDrawdownParams, ctx: BuildContext) -> rt.MaxDrawdown:
    return rt.MaxDrawdown(params, currency=currency_of(ctx.products))


def _exposure(params: pre.ExposureParams, ctx: BuildContext) -> pre.ExposureGuard:
    if params.min_correlation is not None:
        return pre.CorrelatedExposureGuard(params)
    return pre.ExposureGuard(params)


Entry = tuple[str, Callable[[Any, BuildContext], Any], type[BaseModel], str]

GUARDS: tuple[Entry, ...] = (
    # pre-trade
    (
        "max_order_size",
        _plain(pre.MaxOrderSize),
        pre.MaxOrderSizeParams,
        "pre-trade: block orders above max_size (base) or max_notional (quote)",
    ),
    (
        "max_position",
        _plain(pre.MaxPosition),
        pre.MaxPositionParams,
        "pre-trade: block orders that take a position above max_size (base units)",
    ),
    (
        "notional_caps",
        _plain(pre.NotionalCaps),
        pre.NotionalCapsParams,
        "pre-trade: per-symbol caps on position value, inline or from a risk file",
    ),
    (
        "leverage",
        _plain(pre.LeverageGuard),
        pre.LeverageParams,
        "pre-trade: gross position value over equity at most max_leverage (1 for spot)",
    ),
    (
        "impact_cost",
        _plain(impact.ImpactCost),
        impact.ImpactCostParams,
        "pre-trade: cost of taking liquidity in bps: the book walked, else a square-root "
        "estimate from daily_volume; says what it cannot judge",
    ),
    (
        "liquidity",
        _plain(pre.LiquidityGuard),
        pre.LiquidityParams,
        "pre-trade: bid/ask spread in bps and optional depth (needs state.book; else WARN)",
    ),
    (
        "reduce_only",
        _plain(pre.ReduceOnlyGuard),
        pre.ReduceOnlyParams,
        "pre-trade: reduce-only orders must reduce; listed symbols accept exits only",
    ),
    (
        "product_limits",
        _plain(pre.ProductLimits),
        pre.ProductLimitsParams,
        "pre-trade: the venue's size, increment, tick and min-notional limits",
    ),
    (
        "trading_window",
        _plain(pre.TradingWindow),
        pre.TradingWindowParams,
        "pre-trade: entries only between start and end (UTC HH:MM); exits always",
    ),
    (
        "max_open_orders",
        _plain(pre.MaxOpenOrders),
        pre.MaxOpenOrdersParams,
        "pre-trade: at most max_orders working orders (and per_symbol)",
    ),
    (
        "orders_per_minute",
        _plain(pre.OrdersPerMinute),
        pre.OrdersPerMinuteParams,
        "pre-trade: at most max_orders orders per window_s seconds",
    ),
    (
        "stale_data",
        _plain(pre.StaleData),
        pre.StaleDataParams,
        "pre-trade + runtime: block entries on symbols whose data is older than max_age_s",
    ),
    (
        "exposure",
        _exposure,
        pre.ExposureParams,
        "pre-trade: gross, grouped and correlated exposure in percent of equity",
    ),
    (
        "derivative_leverage",
        _plain(dv.DerivativeLeverage),
        dv.DerivativeLeverageParams,
        "pre-trade: per-product leverage caps on futures and perpetuals (contracts valued)",
    ),
    (
        "margin_requirement",
        _plain(dv.MarginRequirement),
        dv.MarginRequirementParams,
        "pre-trade: initial margin after the order within equity less headroom (CFM windows)",
    ),
    # runtime
    (
        "daily_loss",
        _daily_loss,
        rt.DailyLossParams,
        "runtime: loss since 00:00 UTC at the limit -> reduce-only",
    ),
    (
        "max_drawdown",
        _max_drawdown,
        rt.MaxDrawdownParams,
        "runtime: drawdown from the equity peak at pct -> reduce-only",
    ),
    (
        "error_rate",
        _plain(rt.ErrorRate),
        rt.ErrorRateParams,
        "runtime: broker error rate over window_s at max_rate -> halted",
    ),
    (
        "volatility_breaker",
        _plain(rt.VolatilityBreaker),
        rt.VolatilityParams,
        "runtime: a price move above pct within window_s -> reduce-only",
    ),
    (
        "consecutive_losses",
        _plain(rt.ConsecutiveLosses),
        rt.ConsecutiveLossesParams,
        "runtime: max_losses losing round trips in a row -> reduce-only",
    ),
    (
        "liquidation_buffer",
        _plain(dv.LiquidationBuffer),
        dv.LiquidationBufferParams,
        "runtime: derivative positions near liquidation -> warn, then cut reduce-only",
    ),
)

SIZERS: tuple[Entry, ...] = (
    (
        "kelly",
        _plain(sz.KellySizer),
        sz.KellyParams,
        "fractional Kelly from closed round trips with a prior, capped at max_fraction",
    ),
    (
        "atr",
        _plain(sz.AtrSizer),
        sz.AtrParams,
        "equity * risk_pct / (atr_multiple * ATR), capped at max_fraction",
    ),
    (
        "regime",
        _plain(sz.RegimeSizer),
        sz.RegimeParams,
        "notional times a multiplier per market regime (as configured, else 'unknown')",
    ),
)


@hookimpl
def register_guards() -> Iterator[ComponentSpec]:
    for name, factory, model, summary in GUARDS:
        yield ComponentSpec(name, Kind.GUARD, factory, model, summary)


@hookimpl
def register_sizers() -> Iterator[ComponentSpec]:
    for name, factory, model, summary in SIZERS:
        yield ComponentSpec(name, Kind.SIZER, factory, model, summary)


@hookimpl
def register_checks() -> Iterator[Check]:
    from gpt_trader_risk.checks import risk_files_check

    yield risk_files_check({name for name, _, model, _ in GUARDS if "file" in model.model_fields})
