"""The margin ledger of the simulated exchange's derivative products.

:class:`DerivativesLedger` is what :class:`~gpt_trader.sim.exchange.SimExchange` uses for
every FUTURE / PERPETUAL product, driven by each product's
:class:`~gpt_trader.domain.DerivativeTerms` (``Product.derivative``), no venue's rules. Its
parts, one job each:

* :mod:`gpt_trader.sim.margin_account`: the pools, the positions and what they require
  (equity, initial / maintenance / available margin, liquidation prices);
* :mod:`gpt_trader.sim.margin_holds`: working orders' margin holds and refusals;
* :mod:`gpt_trader.sim.margin_events`: funding, margin windows, expiry, liquidation;
* :mod:`gpt_trader.sim.margin_rules`: the maths of one position;
* :mod:`gpt_trader.sim.margin_records` / :mod:`gpt_trader.sim.margin_state`: its records
  and their JSON form;
* this module: fills into positions and realised P&L, position views, transfers, the state.

Fills. A fill moves the position (average-cost entry and realised P&L are the domain
:class:`~gpt_trader.domain.Position`'s, so ``funding`` and ``contract_size`` are filled),
credits the pool with its realised P&L and debits its fee; an opening fill of an ISOLATED
position moves its initial margin from the pool into the position, a closing one releases
it pro rata. Daily realised P&L is per UTC day.

Cash rounding: every amount that moves a pool's cash is on the quote currency's increment
(cents), so pools stay on cents after any number of fills: fees are rounded up (the
matching engine's, :func:`~gpt_trader.domain.money.fee_amount`), funding payments
half-even, isolated margin taken from the pool up, margin released pro rata half-even,
withdrawals down. Positions keep their exact realised P&L; a fill credits the pool with
what it moved the pool's total realised P&L once rounded half-even, so the pool holds the
exact figure rounded, never drifting from it. Order holds are not cash: exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gpt_trader.domain import Fill, MarginType, Side
from gpt_trader.domain.money import quantize
from gpt_trader.domain.products import quantize_down
from gpt_trader.sim import margin_rules as rules
from gpt_trader.sim import margin_state as codec
from gpt_trader.sim.ledger import Ledger, ceil_to
from gpt_trader.sim.margin_events import MarginEvents
from gpt_trader.sim.margin_holds import OrderHolds
from gpt_trader.sim.margin_records import PositionView
from gpt_trader.sim.margin_rules import NS
from gpt_trader.sim.state import need_dec

ZERO = Decimal(0)
DAY_S = 86_400


class DerivativesLedger(OrderHolds, MarginEvents):
    """Collateral pools, positions, margin, holds, funding and expiry (module docstring);
    constructed as :class:`~gpt_trader.sim.margin_account.MarginAccount`."""

    def on_fill(self, fill: Fill) -> Decimal:
        """Settle one fill: position, realised P&L and fee into the pool, isolated margin.
        Returns the realised P&L (before fees)."""
        symbol = fill.symbol
        terms = self._terms[symbol]
        account = terms.pool
        b = self.book(symbol)
        pos = b.position
        before = pos.size
        signed = fill.size if fill.side is Side.BUY else -fill.size
        same = before == 0 or (before > 0) == (signed > 0)
        closing = ZERO if same else min(abs(signed), abs(before))
        cents = self._cents(account)
        if closing and b.margin_type is MarginType.ISOLATED:
            freed = (
                b.isolated_margin
                if closing == abs(before)
                else quantize(b.isolated_margin * closing / abs(before), cents)
            )
            b.isolated_margin -= freed
            self._cash.credit(account, freed)
        booked = self._realized(account)
        realized = pos.apply(fill)
        # the pool holds its positions' exact realised P&L rounded, never further off
        moved = quantize(self._realized(account), cents) - quantize(booked, cents)
        self._cash.credit(account, moved - fill.fee)
        day = fill.ts // NS // DAY_S
        if b.day != day:
            b.day, b.daily_realized = day, ZERO
        b.daily_realized += realized
        order = self._orders.get(fill.client_order_id)
        if pos.size == 0:
            self._cash.credit(account, b.isolated_margin)
            b.isolated_margin = ZERO
            b.margin_type = MarginType.CROSS
            b.leverage = None
            self._closed(symbol)
            return realized
        opened = before == 0 or (pos.size > 0) != (before > 0)
        if opened:
            b.margin_type = (order.margin_type if order else None) or MarginType.CROSS
            b.leverage = order.leverage if order else None
        elif same and order is not None and order.leverage is not None:
            b.leverage = order.leverage
        opening = abs(signed) - closing
        if opening > 0 and b.margin_type is MarginType.ISOLATED:
            base = self.rates(symbol, fill.ts).for_sign(rules.sign(pos.size))
            rate = rules.im_rate(base, rules.effective_leverage(terms, b.leverage))
            need = ceil_to(opening * pos.contract_size * fill.price * rate, cents)
            self._cash.debit(account, need)
            b.isolated_margin += need
        self._opened(symbol, fill.ts)
        return realized

    # ------------------------------------------------------------------ views

    def position_view(self, symbol: str, ts: int) -> PositionView:
        b = self.book(symbol)
        pos = b.position
        terms = self._terms[symbol]
        notional, upnl, im, mm = self.measure(symbol, ts)
        day = ts // NS // DAY_S
        return PositionView(
            symbol=symbol,
            account=terms.pool,
            currency=self._products[symbol].quote,
            size=pos.size,
            contract_size=pos.contract_size,
            entry_price=pos.avg_entry_price,
            mark_price=self._mark(symbol),
            notional=notional,
            unrealized_pnl=upnl,
            realized_pnl=pos.realized_pnl,
            daily_realized_pnl=b.daily_realized if b.day == day else ZERO,
            funding=pos.funding,
            fees=pos.fees,
            initial_margin=b.isolated_margin if b.margin_type is MarginType.ISOLATED else im,
            maintenance_margin=mm,
            liquidation_price=self.liquidation_price(symbol, ts),
            leverage=notional / im if im > 0 else ZERO,
            margin_type=b.margin_type,
            isolated_margin=b.isolated_margin,
            expiry_ts=terms.expiry_ts,
        )

    def open_positions(self, ts: int, account: str | None = None) -> list[PositionView]:
        return [
            self.position_view(s, ts)
            for s, b in self._books.items()
            if b.position.size != 0 and (account is None or self._terms[s].pool == account)
        ]

    # ------------------------------------------------------------------ transfers

    def deposit(self, account: str, amount: Decimal) -> None:
        """Add collateral to a pool (a transfer in; the caller debits the source)."""
        if amount <= 0:
            raise ValueError("amount must be positive")
        self._cash.credit(account, amount)

    def withdrawable(self, account: str, ts: int) -> Decimal:
        """What can leave a pool now: its free cash, capped by the available margin, down to
        the cent."""
        can = max(ZERO, min(self._cash.available(account), self.available(account, ts)))
        return quantize_down(can, self._cents(account))

    def withdraw(self, account: str, amount: Decimal, ts: int) -> None:
        if amount <= 0 or amount > self.withdrawable(account, ts):
            raise ValueError(f"cannot withdraw {amount} from {account}")
        self._cash.debit(account, amount)

    def allocate(self, symbol: str, amount: Decimal, ts: int) -> Decimal:
        """Move ``amount`` from the pool into an open ISOLATED position's margin; returns
        the new isolated margin. ValueError when there is no such position or cash."""
        b = self._books.get(symbol)
        if b is None or b.position.size == 0 or b.margin_type is not MarginType.ISOLATED:
            raise ValueError(f"no open isolated position in {symbol}")
        account = self._terms[symbol].pool
        if amount <= 0 or amount > self.withdrawable(account, ts):
            raise ValueError(f"cannot allocate {amount} to {symbol}")
        self._cash.debit(account, amount)
        b.isolated_margin += amount
        return b.isolated_margin

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        return {
            "cash": self._cash.to_state(),
            "books": {s: codec.book_to_json(b) for s, b in self._books.items()},
            "terms": {cid: codec.order_terms_to_json(t) for cid, t in self._orders.items()},
            "next_funding": dict(self._next_funding),
            "next_window": self._next_window,
            "expired": sorted(self._expired),
            "rates": {s: str(r) for s, r in self._rates.items()},
            "settle_px": {s: str(p) for s, p in self._settle_px.items()},
            "funding": [codec.funding_to_json(p) for p in self._funding],
            "settlements": [codec.settlement_to_json(s) for s in self._settlements],
            "liquidations": sorted(self._liquidations),
            "counters": dict(self._counters),
            "intraday_margin": self.intraday_margin,
            "multi_asset_collateral": self.multi_asset_collateral,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self._cash = Ledger()
        self._cash.load_state(state["cash"])
        self._books = {
            s: codec.book_from_json(s, d, self._products[s].contract_size)
            for s, d in state["books"].items()
            if s in self._products
        }
        self._orders = {cid: codec.order_terms_from_json(t) for cid, t in state["terms"].items()}
        self._next_funding = {str(s): int(t) for s, t in state["next_funding"].items()}
        nw = state.get("next_window")
        self._next_window = None if nw is None else int(nw)
        self._expired = set(state["expired"])
        self._rates = {s: need_dec(r) for s, r in state["rates"].items()}
        self._settle_px = {s: need_dec(p) for s, p in state["settle_px"].items()}
        self._funding = [codec.funding_from_json(p) for p in state["funding"]]
        self._settlements = [codec.settlement_from_json(s) for s in state["settlements"]]
        self._liquidations = set(state["liquidations"])
        self._counters = {str(k): int(v) for k, v in state["counters"].items()}
        self.intraday_margin = bool(state.get("intraday_margin", False))
        self.multi_asset_collateral = bool(state.get("multi_asset_collateral", False))


__all__ = ["DerivativesLedger"]
