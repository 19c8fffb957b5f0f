"""Working orders on derivative products: what each holds of its pool's margin, and why
the exchange refuses one.

An accepted order holds, in its pool, the initial margin of the part that would open or
grow a position (``max(0, size - what it can close)`` at the limit price, or the estimated
price of a market order) plus the taker fee on the whole order; the hold is recomputed
after each fill and released when the order ends. Too little available margin ->
``INSUFFICIENT_MARGIN``; an order that only reduces is never refused for margin, except a
bracket: it rests, and its hold (the taker fee, on the dearer of its two prices) must be
there when it is placed, as for any resting order. A bracket is an exit: one larger than
the position it closes -> ``EXCEEDS_POSITION``; once accepted, the exchange keeps it within
the position (cancelled when the position is gone or turned, cut when it shrank). An order
past the product's expiry -> ``PRODUCT_NOT_TRADING``; leverage below 1 or above the cap ->
``INVALID_LEVERAGE``; a margin type the product does not offer -> ``INVALID_MARGIN_TYPE``,
one other than the open position's on an order that adds to it -> ``OPPOSITE_MARGIN_TYPE``;
a ``reduce_only`` order that would open, grow or flip a position ->
``REDUCE_ONLY_INCREASES`` (checked at submit, against the position only; resting
reduce-only orders other than brackets are not resized when the position changes).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gpt_trader.domain import MarginType, OrderRequest, OrderType, Side
from gpt_trader.domain.money import currency_increment, fee_amount
from gpt_trader.domain.reasons import RejectReason
from gpt_trader.sim import margin_rules as rules
from gpt_trader.sim.margin_account import MarginAccount
from gpt_trader.sim.margin_records import OrderTerms

ZERO = Decimal(0)


class OrderHolds(MarginAccount):
    """Margin holds and refusal checks of working orders (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orders: dict[str, OrderTerms] = {}

    def order_hold(self, client_order_id: str) -> Decimal:
        return self._cash.order_hold(client_order_id)

    def hold_required(
        self,
        symbol: str,
        side: Side,
        size: Decimal,
        price: Decimal,
        *,
        leverage: Decimal | None,
        reduce_only: bool,
        ts: int,
    ) -> Decimal:
        """Initial margin of the opening part plus the taker fee on the whole order."""
        terms = self._terms[symbol]
        product = self._products[symbol]
        cs = product.contract_size
        b = self.book(symbol)
        opening = ZERO if reduce_only else rules.opening(b.position.size, side, size)
        base = self.rates(symbol, ts).for_sign(side.sign)
        lev = rules.effective_leverage(terms, leverage if leverage is not None else b.leverage)
        margin = opening * cs * price * rules.im_rate(base, lev)
        fee = fee_amount(size * cs * price, self.taker_fee, currency_increment(product.quote))
        return margin + fee

    def order_reason(
        self,
        request: OrderRequest,
        ts: int,
        margin_type: MarginType | None,
        price: Decimal | None,
    ) -> RejectReason | None:
        """Why the exchange refuses ``request`` on a derivative product, or None."""
        symbol = request.symbol
        terms = self._terms[symbol]
        if self.is_expired(symbol) or (terms.expiry_ts is not None and ts >= terms.expiry_ts):
            return RejectReason.PRODUCT_NOT_TRADING
        lev, cap = request.leverage, terms.max_leverage
        if lev is not None and (not lev.is_finite() or lev < 1 or (cap is not None and lev > cap)):
            return RejectReason.INVALID_LEVERAGE
        if margin_type is not None and margin_type not in terms.margin_types:
            return RejectReason.INVALID_MARGIN_TYPE
        b = self.book(symbol)
        pos = b.position.size
        opening = rules.opening(pos, request.side, request.size)
        bracket = request.order_type is OrderType.BRACKET
        if bracket and opening > 0:
            return RejectReason.EXCEEDS_POSITION
        if request.reduce_only and opening > 0:
            return RejectReason.REDUCE_ONLY_INCREASES
        if (
            pos != 0
            and margin_type is not None
            and margin_type is not b.margin_type
            and (pos > 0) == (request.side is Side.BUY)
        ):
            # adds to a position margined the other way (a flip may change the type)
            return RejectReason.OPPOSITE_MARGIN_TYPE
        if price is None or (opening == 0 and not bracket):
            return None
        need = self.hold_required(
            symbol,
            request.side,
            request.size,
            price,
            leverage=lev,
            reduce_only=request.reduce_only,
            ts=ts,
        )
        if need > self.available(terms.pool, ts):
            return RejectReason.INSUFFICIENT_MARGIN
        return None

    def accept(
        self, request: OrderRequest, ts: int, margin_type: MarginType | None, price: Decimal
    ) -> None:
        """Record an accepted order's terms and hold its margin."""
        terms = OrderTerms(margin_type, request.leverage, request.reduce_only, price)
        self._orders[request.client_order_id] = terms
        self._hold(request.client_order_id, request.symbol, request.side, request.size, ts)

    def _hold(self, cid: str, symbol: str, side: Side, remaining: Decimal, ts: int) -> None:
        terms = self._orders.get(cid)
        if terms is None or remaining <= 0:
            self._cash.release(cid)
            return
        need = self.hold_required(
            symbol,
            side,
            remaining,
            terms.price,
            leverage=terms.leverage,
            reduce_only=terms.reduce_only,
            ts=ts,
        )
        self._cash.place_hold(cid, self._terms[symbol].pool, need)

    def edit_need(
        self, cid: str, symbol: str, side: Side, remaining: Decimal, price: Decimal, ts: int
    ) -> tuple[Decimal, Decimal]:
        """(hold the edited order needs, margin available for it) for an edit check."""
        terms = self._orders.get(cid)
        lev = terms.leverage if terms else None
        reduce_only = terms.reduce_only if terms else False
        need = self.hold_required(
            symbol, side, remaining, price, leverage=lev, reduce_only=reduce_only, ts=ts
        )
        have = self.available(self._terms[symbol].pool, ts) + self._cash.order_hold(cid)
        return need, have

    def edited(
        self, cid: str, symbol: str, side: Side, remaining: Decimal, price: Decimal, ts: int
    ) -> None:
        terms = self._orders.get(cid)
        if terms is not None:
            terms.price = price
        self._hold(cid, symbol, side, remaining, ts)

    def resized(self, cid: str, symbol: str, side: Side, remaining: Decimal, ts: int) -> None:
        """The exchange cut a working order to ``remaining``: its hold follows."""
        self._hold(cid, symbol, side, remaining, ts)

    def after_update(
        self,
        symbol: str,
        cid: str,
        side: Side,
        remaining: Decimal,
        terminal: bool,
        filled: bool,
        ts: int,
    ) -> None:
        """Release an ended order's hold; re-hold the rest of a partly filled one."""
        if terminal:
            self._cash.release(cid)
            self._orders.pop(cid, None)
        elif filled:
            self._hold(cid, symbol, side, remaining, ts)
