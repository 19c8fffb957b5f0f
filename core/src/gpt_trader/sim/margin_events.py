"""What happens to derivative positions with time and prices: funding, margin-window
changes, expiry and liquidation.

Funding (products with a funding interval). At every multiple of the interval since the
epoch an open position pays ``size * contract_size * mark * rate`` (longs pay a positive
rate, shorts receive), rounded half-even to the quote currency's increment, out of / into
the pool (or the isolated margin). Each payment is a :class:`~gpt_trader.domain.
FundingPayment` with an id, kept in order. Rates: the product's, changeable with
:meth:`MarginEvents.set_funding_rate`.

Margin windows. While the account uses intraday rates and a cross position of a scheduled
product is open, the next window boundary is an event (its margin changes there, so the
exchange checks liquidations).

Expiry. At ``expiry_ts`` a product stops trading, and the exchange cancels its working
orders and closes its position by a venue order (tag ``SETTLEMENT_TAG``, no fee) at the
settlement price (:meth:`MarginEvents.set_settlement_price`, else the last price),
recorded as a :class:`~gpt_trader.sim.margin_records.Settlement`.

Liquidation. When a mark reaches a position's liquidation price the whole position is
closed by a venue order (tag ``LIQUIDATION_TAG``) AT that price, fee = taker rate, reported
as a :class:`~gpt_trader.sim.margin_records.LiquidationFill`; a gap through the price is
absorbed by the venue (insurance fund). When a pool's equity falls below its maintenance
margin for another reason (funding, a margin-window change), its largest cross position is
closed at the mark. The exchange cancels the product's working orders first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gpt_trader.domain import FundingPayment, MarginType, Side
from gpt_trader.domain.margin_schedule import window_end
from gpt_trader.domain.money import currency_increment, quantize
from gpt_trader.sim.margin_account import MarginAccount
from gpt_trader.sim.margin_records import Close, Settlement
from gpt_trader.sim.margin_rules import NS, next_boundary

ZERO = Decimal(0)


class MarginEvents(MarginAccount):
    """Funding, margin windows, expiry and liquidation (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_funding: dict[str, int] = {}
        self._next_window: int | None = None
        self._rates: dict[str, Decimal] = {}
        self._settle_px: dict[str, Decimal] = {}
        self._funding: list[FundingPayment] = []
        self._settlements: list[Settlement] = []
        self._liquidations: set[str] = set()

    def funding_rate(self, symbol: str) -> Decimal:
        return self._rates.get(symbol, self._terms[symbol].funding_rate)

    def next_funding_ts(self, symbol: str, ts: int) -> int | None:
        terms = self._terms[symbol]
        if terms.funding_interval_s is None:
            return None
        return self._next_funding.get(symbol) or next_boundary(ts, terms.funding_interval_s)

    def funding_payments(
        self, since_ts: int = 0, symbol: str | None = None
    ) -> list[FundingPayment]:
        return [
            p for p in self._funding if p.ts >= since_ts and (symbol is None or p.symbol == symbol)
        ]

    def settlements(self, symbol: str | None = None) -> list[Settlement]:
        return [s for s in self._settlements if symbol is None or s.symbol == symbol]

    def is_liquidation(self, trade_id: str) -> bool:
        return trade_id in self._liquidations

    def mark_liquidation(self, trade_id: str) -> None:
        self._liquidations.add(trade_id)

    def set_intraday_margin(self, on: bool, ts: int) -> None:
        """Opt in to (or out of) intraday margin rates."""
        self.intraday_margin = on
        self._next_window = None
        self._arm_window(ts)

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        if not self._terms[symbol].has_funding:
            raise ValueError(f"{symbol} has no funding")
        self._rates[symbol] = rate

    def set_settlement_price(self, symbol: str, price: Decimal) -> None:
        if self._terms[symbol].expiry_ts is None:
            raise ValueError(f"{symbol} does not expire")
        self._settle_px[symbol] = price

    def _opened(self, symbol: str, ts: int) -> None:
        """A position of ``symbol`` is open at ``ts``: funding and window events apply."""
        interval = self._terms[symbol].funding_interval_s
        if interval is not None and symbol not in self._next_funding:
            self._next_funding[symbol] = next_boundary(ts, interval)
        self._arm_window(ts)

    def _closed(self, symbol: str) -> None:
        self._next_funding.pop(symbol, None)

    def _arm_window(self, ts: int) -> None:
        """Wake at the next margin-window boundary while intraday rates are in use and a
        cross position of a scheduled product is open (its margin changes there)."""
        if self._next_window is not None or not self.intraday_margin:
            return
        ends = [
            window_end(ts, schedule)
            for s, b in self._books.items()
            if b.position.size != 0
            and b.margin_type is MarginType.CROSS
            and (schedule := self._terms[s].schedule) is not None
        ]
        if ends:
            self._next_window = min(ends)

    def next_event(self, ts: int) -> tuple[int, int, str, str] | None:
        """The earliest scheduled event due at or before ``ts``: (time, order, kind, key).

        Kinds: "funding" (key = symbol), "window" (a margin-window boundary while intraday
        rates are in use and scheduled cross positions are open), "expiry" (symbol). The
        caller processes it and asks again; each processing moves the item on.
        """
        due: list[tuple[int, int, str, str]] = []
        for symbol, t in self._next_funding.items():
            if t <= ts:
                due.append((t, 0, "funding", symbol))
        if self._next_window is not None and self._next_window <= ts:
            due.append((self._next_window, 1, "window", ""))
        for symbol, terms in self._terms.items():
            expiry = terms.expiry_ts
            if expiry is not None and expiry <= ts and symbol not in self._expired:
                due.append((expiry, 2, "expiry", symbol))
        return min(due) if due else None

    def apply_funding(self, symbol: str, t: int) -> FundingPayment | None:
        """The funding exchange due at ``t`` on ``symbol``'s position (None when flat)."""
        terms = self._terms[symbol]
        assert terms.funding_interval_s is not None
        b = self.book(symbol)
        pos = b.position
        if pos.size == 0:
            self._next_funding.pop(symbol, None)
            return None
        self._next_funding[symbol] = t + terms.funding_interval_s * NS
        product = self._products[symbol]
        mark = self._mark(symbol)
        rate = self.funding_rate(symbol)
        raw = -(pos.size * pos.contract_size * mark * rate)
        amount = quantize(raw, currency_increment(product.quote))
        payment = FundingPayment(
            payment_id=self._next_id("funding", symbol),
            symbol=symbol,
            ts=t,
            rate=rate,
            mark_price=mark,
            size=pos.size,
            contract_size=pos.contract_size,
            amount=amount,
            currency=product.quote,
        )
        pos.funding += amount
        if b.margin_type is MarginType.ISOLATED:
            b.isolated_margin += amount
        else:
            self._cash.credit(terms.pool, amount)
        self._funding.append(payment)
        return payment

    def window_passed(self, t: int) -> None:
        self._next_window = None
        self._arm_window(t)

    def expire(self, symbol: str) -> Close | None:
        """Mark ``symbol`` expired; the close that settles its position (None when flat)."""
        self._expired.add(symbol)
        pos = self.book(symbol).position
        if pos.size == 0:
            return None
        price = self._settle_px.get(symbol, self._mark(symbol))
        side = Side.SELL if pos.size > 0 else Side.BUY
        return Close(symbol, side, abs(pos.size), price)

    def record_settlement(
        self, close: Close, ts: int, realized: Decimal, trade_id: str
    ) -> Settlement:
        signed = close.size if close.side is Side.SELL else -close.size
        record = Settlement(
            settlement_id=self._next_id("settlement", close.symbol),
            symbol=close.symbol,
            ts=ts,
            price=close.price,
            size=signed,
            realized_pnl=realized,
            currency=self._products[close.symbol].quote,
            trade_id=trade_id,
        )
        self._settlements.append(record)
        return record

    def venue_order_id(self, kind: str, symbol: str) -> str:
        """A client_order_id for a venue-originated order (liquidation, settlement)."""
        return self._next_id(kind.lower(), symbol)

    def _breached(self, symbol: str, price: Decimal | None) -> bool:
        if price is None:
            return False
        mark = self._mark_of(symbol)
        if mark is None:
            return False
        size = self.book(symbol).position.size
        return mark <= price if size > 0 else mark >= price

    def next_liquidation(self, ts: int, moved: str | None = None) -> Close | None:
        """The next position the venue must close, or None when every pool is healthy."""
        for symbol, b in sorted(self._books.items()):
            if b.position.size != 0 and b.margin_type is MarginType.ISOLATED:
                price = self.liquidation_price(symbol, ts)
                if self._breached(symbol, price):
                    assert price is not None
                    return self._close_at(symbol, price)
        for account in self.accounts():
            cross = self.cross(account)
            if not cross:
                continue
            if moved in cross:
                price = self.liquidation_price(moved, ts)
                if self._breached(moved, price):
                    assert price is not None
                    return self._close_at(moved, price)
            mm = sum((self.measure(s, ts).maintenance_margin for s in cross), ZERO)
            if self.equity(account, ts) < mm:
                worst = max(cross, key=lambda s: (self.measure(s, ts).maintenance_margin, s))
                return self._close_at(worst, self._mark(worst))
        return None

    def _close_at(self, symbol: str, price: Decimal) -> Close:
        size = self.book(symbol).position.size
        return Close(symbol, Side.SELL if size > 0 else Side.BUY, abs(size), price)
