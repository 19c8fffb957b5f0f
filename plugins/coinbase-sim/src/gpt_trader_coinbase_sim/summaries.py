"""A margin pool at one time, as Coinbase's CFM balance summary and INTX portfolio summary
report it, measured from the core derivatives ledger.

``collateral`` is the pool's cash (isolated margins excluded); ``equity`` = collateral +
unrealised P&L of its cross positions; ``available_margin`` = equity - cross initial margin
- order holds; the liquidation buffer is equity - cross maintenance margin. A CFM summary
also measures the account under each window's rates (intraday and overnight) and names the
window in force (:data:`~gpt_trader_coinbase_sim.catalogue.CFM_SCHEDULE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gpt_trader.domain import MarginType
from gpt_trader.domain.margin_schedule import MarginWindow, margin_window
from gpt_trader.sim import DerivativesLedger

from gpt_trader_coinbase_sim.catalogue import CFM_SCHEDULE

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
NS = 1_000_000_000
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class WindowMeasure:
    """The account's requirements under one window's rates (cross positions)."""

    window: MarginWindow
    initial_margin: Decimal
    maintenance_margin: Decimal
    buying_power: Decimal
    liquidation_buffer_pct: Decimal


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One collateral pool at one time (module docstring)."""

    account: str
    currency: str
    window: MarginWindow
    collateral: Decimal
    isolated_margin: Decimal
    unrealized_pnl: Decimal
    daily_realized_pnl: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    order_hold: Decimal
    equity: Decimal
    available_margin: Decimal
    liquidation_buffer: Decimal
    liquidation_buffer_pct: Decimal
    position_notional: Decimal
    intraday: WindowMeasure
    overnight: WindowMeasure

    @property
    def total_balance(self) -> Decimal:
        """Cash + isolated margins + all unrealised P&L: what the pool is worth now."""
        return self.collateral + self.isolated_margin + self.unrealized_pnl


def _pct(buffer: Decimal, mm: Decimal) -> Decimal:
    return (buffer / mm * HUNDRED).quantize(ONE) if mm > 0 else ZERO


def _window_measure(
    deriv: DerivativesLedger, account: str, ts: int, window: MarginWindow
) -> WindowMeasure:
    im = mm = ZERO
    for s in deriv.cross(account):
        terms = deriv.terms(s)
        rates = terms.intraday if window is MarginWindow.INTRADAY else terms.overnight
        m = deriv.measure(s, ts, rates)
        im += m.initial_margin
        mm += m.maintenance_margin
    equity = deriv.equity(account, ts)
    buying_power = equity - im - deriv.pool_hold(account)
    return WindowMeasure(window, im, mm, buying_power, _pct(equity - mm, mm))


def pool_summary(deriv: DerivativesLedger, account: str, ts: int) -> AccountSummary:
    """The summary of pool ``account`` at ``ts``."""
    upnl_all = im_all = mm_all = notional = isolated = daily = ZERO
    day = ts // NS // DAY_S
    for s, b in deriv.books().items():
        if deriv.terms(s).pool != account:
            continue
        if b.day == day:
            daily += b.daily_realized
        if b.position.size == 0:
            continue
        n, upnl, im, mm = deriv.measure(s, ts)
        notional += n
        upnl_all += upnl
        mm_all += mm
        if b.margin_type is MarginType.ISOLATED:
            isolated += b.isolated_margin
            im_all += b.isolated_margin
        else:
            im_all += im
    cross = deriv.cross(account)
    im_cross = sum((deriv.measure(s, ts).initial_margin for s in cross), ZERO)
    mm_cross = sum((deriv.measure(s, ts).maintenance_margin for s in cross), ZERO)
    equity = deriv.equity(account, ts)
    hold = deriv.pool_hold(account)
    return AccountSummary(
        account=account,
        currency=deriv.currency(account),
        window=margin_window(ts, CFM_SCHEDULE),
        collateral=deriv.cash(account),
        isolated_margin=isolated,
        unrealized_pnl=upnl_all,
        daily_realized_pnl=daily,
        initial_margin=im_all,
        maintenance_margin=mm_all,
        order_hold=hold,
        equity=equity,
        available_margin=equity - im_cross - hold,
        liquidation_buffer=equity - mm_cross,
        liquidation_buffer_pct=_pct(equity - mm_cross, mm_cross),
        position_notional=notional,
        intraday=_window_measure(deriv, account, ts, MarginWindow.INTRADAY),
        overnight=_window_measure(deriv, account, ts, MarginWindow.OVERNIGHT),
    )
