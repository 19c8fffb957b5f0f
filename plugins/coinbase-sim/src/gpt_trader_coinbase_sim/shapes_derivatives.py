"""Derivative objects -> Coinbase JSON: futures product details, CFM balance summary and
positions, sweeps, INTX portfolio, positions and balances (coinbase-api.md §3.2, §3.10,
§3.11, §4.3). Pure functions, as in :mod:`shapes`.

Money is rounded to the cent for display (the ledger keeps exact Decimals). REST money is
``{"value","currency"}`` where the docs say so, plain strings elsewhere (the WebSocket
summary, the CFM position fields, the window measures).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gpt_trader.domain import MarginType, Product
from gpt_trader.domain.margin_schedule import MarginWindow, margin_window, window_end
from gpt_trader.sim import PositionView

from gpt_trader_coinbase_sim.catalogue import CFM_SCHEDULE, FCM, INTX, Listing, wire_window
from gpt_trader_coinbase_sim.summaries import AccountSummary, WindowMeasure, pool_summary
from gpt_trader_coinbase_sim.sweeps import Sweep
from gpt_trader_coinbase_sim.wire import ZERO_TIME, dec, dec_n, rfc3339

if TYPE_CHECKING:
    from gpt_trader_coinbase_sim.venue import Venue

ZERO = Decimal(0)
CENT = Decimal("0.01")
DAY_NS = 86_400 * 1_000_000_000
SESSION_HOUR_UTC = 22


def cents(value: Decimal) -> str:
    return dec(value.quantize(CENT))


def money(value: Decimal, currency: str) -> dict[str, str]:
    return {"value": cents(value), "currency": currency}


def _rate(value: Decimal) -> str:
    return dec_n(value)


# -- products ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DerivativeMarket:
    """What a product reply shows besides the spec: live funding, settlement, interest."""

    funding_rate: Decimal
    next_funding_ts: int | None
    open_interest: Decimal
    settlement_price: Decimal
    index_price: Decimal


def future_product_details(
    spec: Listing, product: Product, market: DerivativeMarket
) -> dict[str, Any]:
    terms = spec.terms
    funding = terms.has_funding
    funding_time = rfc3339(market.next_funding_ts) if market.next_funding_ts else ""
    intx = spec.account == INTX
    return {
        "venue": spec.venue,
        "contract_code": spec.contract_code,
        "contract_expiry": rfc3339(terms.expiry_ts) if terms.expiry_ts is not None else "",
        "contract_size": dec(product.contract_size),
        "contract_root_unit": spec.root,
        "group_description": spec.group_description,
        "contract_expiry_timezone": "Europe/London" if not intx else "",
        "group_short_description": spec.group_description.removesuffix(" Futures"),
        "risk_managed_by": "MANAGED_BY_VENUE" if intx else "MANAGED_BY_FCM",
        "contract_expiry_type": terms.expiry_type.value,
        "perpetual_details": {
            "open_interest": dec(market.open_interest),
            "funding_rate": _rate(market.funding_rate) if intx else "",
            "funding_time": funding_time if intx else None,
            "max_leverage": dec(terms.max_leverage) if intx else "",
            "base_asset_uuid": "",
            "underlying_type": "PERP" if intx else "",
        },
        "contract_display_name": spec.display_name,
        "funding_interval": f"{terms.funding_interval_s}s" if funding else "",
        "open_interest": dec(market.open_interest),
        "funding_rate": _rate(market.funding_rate) if funding else "",
        "funding_time": funding_time,
        "display_name": spec.display_name,
        "intraday_margin_rate": {
            "long_margin_rate": _rate(terms.intraday.long),
            "short_margin_rate": _rate(terms.intraday.short),
        },
        "overnight_margin_rate": {
            "long_margin_rate": _rate(terms.overnight.long),
            "short_margin_rate": _rate(terms.overnight.short),
        },
        "settlement_price": dec(market.settlement_price),
        "futures_asset_type": "FUTURES_ASSET_TYPE_CRYPTO",
        "index_price": dec(market.index_price),
    }


def session_details(spec: Listing, now: int, expired: bool) -> dict[str, Any] | None:
    """The FCM trading session (a daily session from 22:00 UTC; always open in the sim until
    the contract expires). None for INTX products, as for spot."""
    if spec.account != FCM:
        return None
    day = now - now % DAY_NS
    open_t = day + SESSION_HOUR_UTC * 3600 * 1_000_000_000
    if open_t > now:
        open_t -= DAY_NS
    return {
        "is_session_open": not expired,
        "open_time": rfc3339(open_t),
        "close_time": rfc3339(open_t + DAY_NS),
        "session_state": (
            "FCM_TRADING_SESSION_STATE_CLOSE" if expired else "FCM_TRADING_SESSION_STATE_OPEN"
        ),
        "after_hours_order_entry_disabled": False,
        "closed_reason": (
            "FCM_TRADING_SESSION_CLOSED_REASON_EXCHANGE_MAINTENANCE"
            if expired
            else "FCM_TRADING_SESSION_CLOSED_REASON_UNDEFINED"
        ),
        "maintenance": {"start_time": ZERO_TIME, "end_time": ZERO_TIME},
    }


# -- CFM ----------------------------------------------------------------------------------------


def margin_level(measure: WindowMeasure) -> str:
    """BASE above a 50 % buffer over maintenance, WARNING above 20 %, DANGER above 0."""
    if measure.maintenance_margin <= 0 or measure.liquidation_buffer_pct >= 50:
        return "MARGIN_LEVEL_TYPE_BASE"
    if measure.liquidation_buffer_pct >= 20:
        return "MARGIN_LEVEL_TYPE_WARNING"
    if measure.liquidation_buffer_pct > 0:
        return "MARGIN_LEVEL_TYPE_DANGER"
    return "MARGIN_LEVEL_TYPE_LIQUIDATION"


def _measure(m: WindowMeasure, hold: Decimal) -> dict[str, str]:
    window = MarginWindow.INTRADAY if m.window is MarginWindow.INTRADAY else MarginWindow.OVERNIGHT
    return {
        "margin_window_type": wire_window(window),
        "margin_level": margin_level(m),
        "initial_margin": cents(m.initial_margin),
        "maintenance_margin": cents(m.maintenance_margin),
        "liquidation_buffer_percentage": dec(m.liquidation_buffer_pct),
        "total_hold": cents(hold),
        "futures_buying_power": cents(max(ZERO, m.buying_power)),
    }


def fcm_summary_fields(s: AccountSummary | None, cbi_usd: Decimal) -> dict[str, Any]:
    """The balance summary with plain-string money (the WebSocket form). ``s`` None = an
    account that trades no CFM product: zero futures figures."""
    if s is None:
        zero_measure = WindowMeasure(MarginWindow.INTRADAY, ZERO, ZERO, ZERO, ZERO)
        measures = (zero_measure, WindowMeasure(MarginWindow.OVERNIGHT, ZERO, ZERO, ZERO, ZERO))
        cfm = upnl = daily = im = available = mm = buffer = hold = pct = ZERO
    else:
        measures = (s.intraday, s.overnight)
        cfm, upnl, daily = s.collateral, s.unrealized_pnl, s.daily_realized_pnl
        im, available, mm = s.initial_margin, s.available_margin, s.maintenance_margin
        buffer, hold, pct = s.liquidation_buffer, s.order_hold, s.liquidation_buffer_pct
    return {
        "futures_buying_power": cents(max(ZERO, available)),
        "total_usd_balance": cents(cbi_usd + cfm),
        "cbi_usd_balance": cents(cbi_usd),
        "cfm_usd_balance": cents(cfm),
        "total_open_orders_hold_amount": cents(hold),
        "unrealized_pnl": cents(upnl),
        "daily_realized_pnl": cents(daily),
        "initial_margin": cents(im),
        "available_margin": cents(available),
        "liquidation_threshold": cents(mm),
        "liquidation_buffer_amount": cents(buffer),
        "liquidation_buffer_percentage": dec(pct),
        "intraday_margin_window_measure": _measure(measures[0], hold),
        "overnight_margin_window_measure": _measure(measures[1], hold),
    }


MONEY_FIELDS = (
    "futures_buying_power",
    "total_usd_balance",
    "cbi_usd_balance",
    "cfm_usd_balance",
    "total_open_orders_hold_amount",
    "unrealized_pnl",
    "daily_realized_pnl",
    "initial_margin",
    "available_margin",
    "liquidation_threshold",
    "liquidation_buffer_amount",
)


def fcm_balance_summary(s: AccountSummary | None, cbi_usd: Decimal) -> dict[str, Any]:
    """The REST ``balance_summary``: the same figures, money as {value, currency}."""
    fields = fcm_summary_fields(s, cbi_usd)
    for key in MONEY_FIELDS:
        fields[key] = {"value": fields[key], "currency": "USD"}
    return fields


def fcm_fields(venue: Venue, *, rest: bool) -> dict[str, Any]:
    """The CFM balance summary now: REST form (money objects) or WebSocket form."""
    deriv = venue.derivatives
    summary = None
    if deriv is not None and FCM in deriv.accounts():
        summary = pool_summary(deriv, FCM, venue.clock.now_ns())
    cbi = venue.cash("USD")
    return fcm_balance_summary(summary, cbi) if rest else fcm_summary_fields(summary, cbi)


def cfm_position_json(v: PositionView) -> dict[str, str]:
    return {
        "product_id": v.symbol,
        "expiration_time": rfc3339(v.expiry_ts) if v.expiry_ts is not None else "",
        "side": v.side,
        "number_of_contracts": dec_n(abs(v.size)),
        "current_price": dec_n(v.mark_price),
        "avg_entry_price": dec_n(v.entry_price),
        "unrealized_pnl": cents(v.unrealized_pnl),
        "daily_realized_pnl": cents(v.daily_realized_pnl),
    }


def sweep_json(sweep: Sweep) -> dict[str, Any]:
    """Both ``scheduled_time`` (docs) and ``schedule_time`` (the SDK's type) are sent."""
    when = rfc3339(sweep.scheduled_ts)
    return {
        "id": sweep.sweep_id,
        "requested_amount": money(sweep.amount or ZERO, "USD"),
        "should_sweep_all": sweep.sweep_all,
        "status": sweep.status.value,
        "scheduled_time": when,
        "schedule_time": when,
    }


def margin_window_json(now: int) -> dict[str, Any]:
    return {
        "margin_window": {
            "margin_window_type": wire_window(margin_window(now, CFM_SCHEDULE)),
            "end_time": rfc3339(window_end(now, CFM_SCHEDULE)),
        },
        "is_intraday_margin_killswitch_enabled": False,
        "is_intraday_margin_enrollment_killswitch_enabled": False,
    }


# -- INTX ----------------------------------------------------------------------------------------


def product_uuid(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"gpt-trader-sim/product/{symbol}"))


def intx_margin_type(mt: MarginType) -> str:
    return f"MARGIN_TYPE_{mt.value}"


def intx_position_json(
    v: PositionView, portfolio_uuid: str, buy_open: Decimal, sell_open: Decimal, im_total: Decimal
) -> dict[str, Any]:
    c = v.currency
    liq = v.liquidation_price
    aggregated = v.realized_pnl + v.unrealized_pnl + v.funding - v.fees
    return {
        "product_id": product_uuid(v.symbol),
        "product_uuid": product_uuid(v.symbol),
        "portfolio_uuid": portfolio_uuid,
        "symbol": v.symbol,
        "vwap": money(v.entry_price, c),
        "entry_vwap": money(v.entry_price, c),
        "position_side": (
            "POSITION_SIDE_LONG"
            if v.size > 0
            else "POSITION_SIDE_SHORT"
            if v.size < 0
            else "POSITION_SIDE_UNKNOWN"
        ),
        "margin_type": intx_margin_type(v.margin_type),
        "net_size": dec_n(v.size),
        "buy_order_size": dec_n(buy_open),
        "sell_order_size": dec_n(sell_open),
        "im_contribution": dec_n((v.initial_margin / im_total).quantize(Decimal("0.0001")))
        if im_total > 0
        else "0",
        "unrealized_pnl": money(v.unrealized_pnl, c),
        "mark_price": money(v.mark_price, c),
        "liquidation_price": money(liq if liq is not None else ZERO, c),
        "leverage": dec_n(v.leverage.quantize(CENT)),
        "im_notional": money(v.initial_margin, c),
        "mm_notional": money(v.maintenance_margin, c),
        "position_notional": money(v.notional, c),
        "aggregated_pnl": money(aggregated, c),
    }


def _liquidation_status(s: AccountSummary) -> str:
    if s.maintenance_margin > 0 and s.liquidation_buffer < 0:
        return "PORTFOLIO_LIQUIDATION_STATUS_LIQUIDATING"
    return "PORTFOLIO_LIQUIDATION_STATUS_NOT_LIQUIDATING"


def intx_portfolio_json(
    s: AccountSummary, portfolio_uuid: str, margin_flags: str
) -> dict[str, Any]:
    c = s.currency
    notional = s.position_notional
    im_frac = s.initial_margin / notional if notional > 0 else ZERO
    mm_frac = s.maintenance_margin / notional if notional > 0 else ZERO
    liq_pct = s.maintenance_margin / s.equity * 100 if s.equity > 0 else ZERO
    return {
        "portfolio_uuid": portfolio_uuid,
        "collateral": cents(s.collateral + s.isolated_margin),
        "position_notional": cents(notional),
        "open_position_notional": cents(notional),
        "pending_fees": "0",
        "borrow": "0",
        "accrued_interest": "0",
        "rolling_debt": "0",
        "portfolio_initial_margin": dec_n(im_frac.quantize(Decimal("0.0001"))),
        "portfolio_im_notional": money(s.initial_margin, c),
        "portfolio_maintenance_margin": dec_n(mm_frac.quantize(Decimal("0.0001"))),
        "portfolio_mm_notional": money(s.maintenance_margin, c),
        "liquidation_percentage": dec_n(liq_pct.quantize(CENT)),
        "liquidation_buffer": cents(s.liquidation_buffer),
        "margin_type": "MARGIN_TYPE_CROSS",
        "margin_flags": margin_flags,
        "liquidation_status": _liquidation_status(s),
        "unrealized_pnl": money(s.unrealized_pnl, c),
        "total_balance": money(s.total_balance, c),
    }


def intx_summary_json(s: AccountSummary, withdrawable: Decimal) -> dict[str, Any]:
    c = s.currency
    return {
        "unrealized_pnl": money(s.unrealized_pnl, c),
        "buying_power": money(max(ZERO, s.available_margin), c),
        "total_balance": money(s.total_balance, c),
        "max_withdrawal_amount": money(withdrawable, c),
    }


def intx_balance_json(s: AccountSummary, withdrawable: Decimal) -> dict[str, Any]:
    c = s.currency
    return {
        "asset": {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"gpt-trader-sim/asset/{c}")),
            "asset_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"gpt-trader-sim/asset/{c}")),
            "asset_name": c,
            "status": "ACTIVE",
            "collateral_weight": "1",
            "account_collateral_limit": "",
            "ecosystem_collateral_limit_breached": False,
            "asset_icon_url": "",
            "supported_networks_enabled": True,
        },
        "quantity": cents(s.collateral + s.isolated_margin),
        "hold": cents(s.order_hold + s.isolated_margin),
        "transfer_hold": "0",
        "collateral_value": cents(s.collateral + s.isolated_margin),
        "collateral_weight": "1",
        "max_withdraw_amount": cents(withdrawable),
        "loan": "0",
        "loan_collateral_requirement_usd": "0",
        "pledged_quantity": "0",
    }
