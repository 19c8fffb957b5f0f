"""Exits: the venue-side bracket that protects each open position, and why a trade ended.

With ``[exits] stop_loss_pct`` and ``take_profit_pct``, every position gets ONE bracket
order at the venue (``OrderType.BRACKET``: a take-profit limit plus a stop trigger; on
Coinbase ``trigger_bracket_gtc``), so the stop holds while the bot is down. Its levels come
from the position's average entry price (the entry's fills), rounded to the price increment
towards the entry: neither leg is ever further away than the profile asked.

The bracket is (re)placed at the kernel's next async point after a fill, once no entry or
close of the symbol is working (partial fills settle first), and sized to the position: a
position a guard cut is re-bracketed at its new size, a flat one loses its bracket. One
bracket per position, found again after a restart by its order type (the store keeps its
tag ``exit:bracket``), never placed twice.

A signal exit first cancels the bracket; fills the venue made before the cancel landed are
read back (by client order id) before the close is sized from what is left, so a bracket
filling while it is being cancelled never leads to a double close or a reversed position.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from gpt_trader.domain import (
    MarginType,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Side,
    TimeInForce,
)
from gpt_trader.domain.orders import LIQUIDATION_TAG, SETTLEMENT_TAG
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import Broker

log = logging.getLogger("gpt_trader.exits")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
EXIT_PREFIX = "exit:"
BRACKET_TAG = "exit:bracket"


class ExitReason(StrEnum):
    """Why a position was closed (reported per trade)."""

    SIGNAL = "signal"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING = "trailing"
    ROI = "roi"
    MAX_HOLD = "max_hold"
    LIQUIDATION = "liquidation"
    SETTLEMENT = "settlement"
    GUARD = "guard"


def is_exit(order: Order) -> bool:
    """An order the exit machinery owns (it never blocks a decision on its symbol)."""
    return order.order_type is OrderType.BRACKET or order.tag.startswith(EXIT_PREFIX)


def exit_reason(order: Order | None, price: Decimal) -> ExitReason:
    """Why the fill at ``price`` of ``order`` closed a position. A bracket's fill at or
    beyond its take-profit limit is the target; any other fill of it is the stop."""
    if order is None:
        return ExitReason.SIGNAL
    tag = order.tag
    if tag == LIQUIDATION_TAG:
        return ExitReason.LIQUIDATION
    if tag == SETTLEMENT_TAG:
        return ExitReason.SETTLEMENT
    if order.order_type is OrderType.BRACKET and order.limit_price is not None:
        limit = order.limit_price
        target = price >= limit if order.side is Side.SELL else price <= limit
        return ExitReason.TAKE_PROFIT if target else ExitReason.STOP_LOSS
    if tag.startswith("guard:"):
        return ExitReason.GUARD
    if tag.startswith(EXIT_PREFIX):
        try:
            return ExitReason(tag.removeprefix(EXIT_PREFIX))
        except ValueError:
            return ExitReason.SIGNAL
    return ExitReason.SIGNAL


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """The profile's ``[exits]`` as fractions of the entry price."""

    stop_loss: Decimal
    take_profit: Decimal

    @classmethod
    def from_pcts(
        cls, stop_loss_pct: Decimal | None, take_profit_pct: Decimal | None
    ) -> ExitPlan | None:
        if stop_loss_pct is None or take_profit_pct is None:
            return None
        return cls(stop_loss_pct / HUNDRED, take_profit_pct / HUNDRED)

    def levels(self, product: Product, long: bool, entry: Decimal) -> tuple[Decimal, Decimal]:
        """(stop, take-profit) for a position entered at ``entry``, each rounded to the tick
        towards the entry (ceiling is "SELL" rounding, floor "BUY")."""
        up, down = "SELL", "BUY"
        if long:
            stop = product.quantize_price(entry * (1 - self.stop_loss), conservative_for=up)
            target = product.quantize_price(entry * (1 + self.take_profit), conservative_for=down)
        else:
            stop = product.quantize_price(entry * (1 + self.stop_loss), conservative_for=down)
            target = product.quantize_price(entry * (1 - self.take_profit), conservative_for=up)
        return stop, target


class ExitHost(Protocol):
    """What the exits need of the kernel."""

    orders: dict[str, Order]
    working: set[str]
    products: dict[str, Product]
    broker: Broker

    @property
    def positions(self) -> Mapping[str, Position]: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def next_client_order_id(self) -> str: ...

    async def submit(self, request: OrderRequest) -> Order | None: ...

    async def backfill(self, since_ts: int, client_order_id: str | None = None) -> int: ...

    def on_order(self, order: Order) -> None: ...

    def margin_terms(self, symbol: str) -> tuple[Decimal | None, MarginType | None]: ...


class Exits:
    """Keeps one bracket per open position (see the module docstring)."""

    def __init__(self, host: ExitHost, plan: ExitPlan | None) -> None:
        self.host = host
        self.plan = plan
        self._due: set[str] = set()
        # Positions whose bracket the venue refused for a reason other than price: not
        # retried on every event (the error is logged); cleared when the position closes.
        self._refused: set[str] = set()

    @property
    def due(self) -> bool:
        return bool(self._due)

    def bracket(self, symbol: str) -> Order | None:
        """The working bracket of ``symbol``'s position, if any."""
        for cid in self.host.working:
            order = self.host.orders[cid]
            if order.symbol == symbol and order.order_type is OrderType.BRACKET:
                return order
        return None

    def review(self, symbol: str | None = None) -> None:
        """Check ``symbol``'s bracket (every symbol's when None) at the next async point."""
        if self.plan is None:
            return
        if symbol is not None:
            self._due.add(symbol)
            return
        self._due.update(s for s, p in self.host.positions.items() if p.size != 0)
        self._due.update(o.symbol for o in map(self.host.orders.__getitem__, self.host.working)
                         if o.order_type is OrderType.BRACKET)  # fmt: skip

    async def settle(self) -> None:
        due, self._due = self._due, set()
        for symbol in sorted(due):
            await self._settle(symbol)

    async def _settle(self, symbol: str) -> None:
        host = self.host
        orders = [host.orders[cid] for cid in host.working]
        if any(o.symbol == symbol and not is_exit(o) for o in orders):
            self._due.add(symbol)  # an entry or close is still working: wait for its fills
            return
        pos = host.positions.get(symbol)
        size = pos.size if pos is not None else ZERO
        bracket = self.bracket(symbol)
        if size == 0:
            self._refused.discard(symbol)
            if bracket is not None:
                await self.release(symbol)
            return
        closing = Side.SELL if size > 0 else Side.BUY
        if bracket is not None:
            if bracket.side is closing and bracket.remaining == abs(size):
                return
            if not await self.release(symbol):
                self._due.add(symbol)
                return
            size = pos.size if pos is not None else ZERO
            if size == 0:
                return
        if symbol not in self._refused and pos is not None:
            await self._place(symbol, pos)

    async def _place(self, symbol: str, pos: Position) -> None:
        assert self.plan is not None
        host = self.host
        product = host.products[symbol]
        long = pos.size > 0
        stop, target = self.plan.levels(product, long, pos.avg_entry_price)
        leverage, margin_type = host.margin_terms(symbol)
        request = OrderRequest(
            client_order_id=host.next_client_order_id(),
            symbol=symbol,
            side=Side.SELL if long else Side.BUY,
            size=abs(pos.size),
            order_type=OrderType.BRACKET,
            limit_price=target,
            stop_price=stop,
            time_in_force=TimeInForce.GTC,
            reduce_only=product.is_derivative,
            tag=BRACKET_TAG,
            leverage=leverage,
            margin_type=margin_type,
        )
        order = await host.submit(request)
        if order is None or order.status is not OrderStatus.REJECTED:
            return
        last = host.last_price(symbol)
        through = last is not None and (
            (last <= stop or last >= target) if long else (last >= stop or last <= target)
        )
        if not through:
            self._refused.add(symbol)
            log.error("bracket for %s refused (%s): the position has no stop", symbol,
                      order.reject_reason)  # fmt: skip
            return
        # The market went through a level before the bracket could rest: close now.
        assert last is not None
        hit_stop = (last <= stop) if long else (last >= stop)
        reason = ExitReason.STOP_LOSS if hit_stop else ExitReason.TAKE_PROFIT
        await host.submit(
            OrderRequest(
                client_order_id=host.next_client_order_id(),
                symbol=symbol,
                side=request.side,
                size=abs(pos.size),
                reduce_only=True,
                tag=EXIT_PREFIX + reason.value,
                leverage=leverage,
                margin_type=margin_type,
            )
        )

    async def release(self, symbol: str) -> bool:
        """Cancel ``symbol``'s bracket before anything else closes the position. True when
        no bracket works any more; the venue's fills of it (made before the cancel landed)
        are applied first, so the position the caller reads next is what is left."""
        bracket = self.bracket(symbol)
        if bracket is None:
            return True
        host = self.host
        cid = bracket.client_order_id
        try:
            await host.broker.cancel([cid])
            venue = await host.broker.order(cid)
        except BrokerError as exc:
            log.error("cancel of bracket %s failed: %s", cid, exc)
            return False
        if venue is None:
            return False
        host.on_order(venue)
        if venue.filled_size > 0:
            await host.backfill(bracket.created_ts, cid)
        return not venue.status.is_working
