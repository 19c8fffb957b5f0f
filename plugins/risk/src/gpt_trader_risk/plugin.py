"""Entry point ``risk``: registers this distribution's guards and sizers.

Every guard and sizer is its own named component, so a profile picks exactly the ones it
wants (``[[guards]] use = "daily_loss"``) and ``gpt-trader plugins list`` shows each. Models
and classes are named as ``"module:Name"`` within this package and imported when a profile
uses one, so listing plugins or a run of other guards never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_trader.checks import Check
from gpt_trader.components import BuildContext, ComponentSpec, Kind, load
from gpt_trader.hookspecs import hookimpl

if TYPE_CHECKING:
    from gpt_trader_risk import breakers as rt
    from gpt_trader_risk import pretrade as pre

__all__ = ["GUARDS", "SIZERS", "register_checks", "register_guards", "register_sizers"]


def _here(ref: str) -> str:
    return f"gpt_trader_risk.{ref}"


def _plain(ref: str) -> Callable[[Any, BuildContext], Any]:
    def factory(params: Any, ctx: BuildContext) -> Any:
        return load(_here(ref))(params)

    return factory


def _daily_loss(params: rt.DailyLossParams, ctx: BuildContext) -> rt.DailyLoss:
    from gpt_trader_risk import breakers as rt
    from gpt_trader_risk.base import currency_of

    persist = params.persist if params.persist is not None else ctx.mode in ("live", "paper")
    state_file = Path(ctx.state_dir) / "risk" / f"daily_loss-{ctx.profile or 'default'}.json"
    return rt.DailyLoss(
        params, currency=currency_of(ctx.products), state_file=state_file if persist else None
    )


def _max_drawdown(params: rt.MaxDrawdownParams, ctx: BuildContext) -> rt.MaxDrawdown:
    from gpt_trader_risk import breakers as rt
    from gpt_trader_risk.base import currency_of

    return rt.MaxDrawdown(params, currency=currency_of(ctx.products))


def _exposure(params: pre.ExposureParams, ctx: BuildContext) -> pre.ExposureGuard:
    from gpt_trader_risk import pretrade as pre

    if params.min_correlation is not None:
        return pre.CorrelatedExposureGuard(params)
    return pre.ExposureGuard(params)


# name, factory, settings model ("module:Model" in this package), summary
Entry = tuple[str, Callable[[Any, BuildContext], Any], str, str]

GUARDS: tuple[Entry, ...] = (
    # pre-trade
    (
        "max_order_size",
        _plain("pretrade:MaxOrderSize"),
        "pretrade:MaxOrderSizeParams",
        "pre-trade: block orders above max_size (base) or max_notional (quote)",
    ),
    (
        "max_position",
        _plain("pretrade:MaxPosition"),
        "pretrade:MaxPositionParams",
        "pre-trade: block orders that take a position above max_size (base units)",
    ),
    (
        "notional_caps",
        _plain("pretrade:NotionalCaps"),
        "pretrade:NotionalCapsParams",
        "pre-trade: per-symbol caps on position value, inline or from a risk file",
    ),
    (
        "leverage",
        _plain("pretrade:LeverageGuard"),
        "pretrade:LeverageParams",
        "pre-trade: gross position value over equity at most max_leverage (1 for spot)",
    ),
    (
        "impact_cost",
        _plain("impact:ImpactCost"),
        "impact:ImpactCostParams",
        "pre-trade: cost of taking liquidity in bps: the book walked, else a square-root "
        "estimate from daily_volume; says what it cannot judge",
    ),
    (
        "liquidity",
        _plain("pretrade:LiquidityGuard"),
        "pretrade:LiquidityParams",
        "pre-trade: bid/ask spread in bps and optional depth (needs state.book; else WARN)",
    ),
    (
        "reduce_only",
        _plain("pretrade:ReduceOnlyGuard"),
        "pretrade:ReduceOnlyParams",
        "pre-trade: reduce-only orders must reduce; listed symbols accept exits only",
    ),
    (
        "product_limits",
        _plain("pretrade:ProductLimits"),
        "pretrade:ProductLimitsParams",
        "pre-trade: the venue's size, increment, tick and min-notional limits",
    ),
    (
        "trading_window",
        _plain("pretrade:TradingWindow"),
        "pretrade:TradingWindowParams",
        "pre-trade: entries only between start and end (UTC HH:MM); exits always",
    ),
    (
        "max_open_orders",
        _plain("pretrade:MaxOpenOrders"),
        "pretrade:MaxOpenOrdersParams",
        "pre-trade: at most max_orders working orders (and per_symbol)",
    ),
    (
        "orders_per_minute",
        _plain("pretrade:OrdersPerMinute"),
        "pretrade:OrdersPerMinuteParams",
        "pre-trade: at most max_orders orders per window_s seconds",
    ),
    (
        "stale_data",
        _plain("pretrade:StaleData"),
        "pretrade:StaleDataParams",
        "pre-trade + runtime: block entries on symbols whose data is older than max_age_s",
    ),
    (
        "exposure",
        _exposure,
        "pretrade:ExposureParams",
        "pre-trade: gross, grouped and correlated exposure in percent of equity",
    ),
    (
        "derivative_leverage",
        _plain("derivatives:DerivativeLeverage"),
        "derivatives:DerivativeLeverageParams",
        "pre-trade: per-product leverage caps on futures and perpetuals (contracts valued)",
    ),
    (
        "margin_requirement",
        _plain("derivatives:MarginRequirement"),
        "derivatives:MarginRequirementParams",
        "pre-trade: initial margin after the order within equity less headroom (CFM windows)",
    ),
    # runtime
    (
        "daily_loss",
        _daily_loss,
        "breakers:DailyLossParams",
        "runtime: loss since 00:00 UTC at the limit -> reduce-only",
    ),
    (
        "max_drawdown",
        _max_drawdown,
        "breakers:MaxDrawdownParams",
        "runtime: drawdown from the equity peak at pct -> reduce-only",
    ),
    (
        "error_rate",
        _plain("breakers:ErrorRate"),
        "breakers:ErrorRateParams",
        "runtime: broker error rate over window_s at max_rate -> halted",
    ),
    (
        "volatility_breaker",
        _plain("breakers:VolatilityBreaker"),
        "breakers:VolatilityParams",
        "runtime: a price move above pct within window_s -> reduce-only",
    ),
    (
        "consecutive_losses",
        _plain("breakers:ConsecutiveLosses"),
        "breakers:ConsecutiveLossesParams",
        "runtime: max_losses losing round trips in a row -> reduce-only",
    ),
    (
        "liquidation_buffer",
        _plain("derivatives:LiquidationBuffer"),
        "derivatives:LiquidationBufferParams",
        "runtime: derivative positions near liquidation -> warn, then cut reduce-only",
    ),
)

SIZERS: tuple[Entry, ...] = (
    (
        "kelly",
        _plain("sizers:KellySizer"),
        "sizers:KellyParams",
        "fractional Kelly from closed round trips with a prior, capped at max_fraction",
    ),
    (
        "atr",
        _plain("sizers:AtrSizer"),
        "sizers:AtrParams",
        "equity * risk_pct / (atr_multiple * ATR), capped at max_fraction",
    ),
    (
        "regime",
        _plain("sizers:RegimeSizer"),
        "sizers:RegimeParams",
        "notional times a multiplier per market regime (as configured, else 'unknown')",
    ),
)


@hookimpl
def register_guards() -> Iterator[ComponentSpec]:
    for name, factory, model, summary in GUARDS:
        yield ComponentSpec(name, Kind.GUARD, factory, _here(model), summary)


@hookimpl
def register_sizers() -> Iterator[ComponentSpec]:
    for name, factory, model, summary in SIZERS:
        yield ComponentSpec(name, Kind.SIZER, factory, _here(model), summary)


@hookimpl
def register_checks() -> Iterator[Check]:
    from gpt_trader_risk.checks import risk_files_check

    with_file = {name for name, _, model, _ in GUARDS if "file" in load(_here(model)).model_fields}
    yield risk_files_check(with_file)
