"""Exits: the venue-side bracket that protects each open position, and why a trade ended.

With ``[exits] stop_loss_pct`` and ``take_profit_pct``, every position gets ONE bracket
order at the venue (``OrderType.BRACKET``: a take-profit limit plus a stop trigger, one
order the venue holds), so the stop holds while the bot is down. With only one of them the
position gets that leg alone, also held by the venue: a stop-limit (tag ``exit:stop_loss``;
its limit :data:`STOP_LIMIT_ROOM` beyond the trigger, freqtrade's
``stoploss_on_exchange_limit_ratio``, so a fast market still fills it) or a GTC limit (tag
``exit:take_profit``). "Bracket" below means whichever of the three. Its levels come
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

``trailing_pct`` moves the stop behind the best price since entry (a bar's high for a
long), once the price is ``trailing_activation_pct`` beyond the entry; that best price is
in the journal (key ``best:<symbol>``, written before a moved stop goes to the venue and
at each timer step it moved), so a restart never loosens the stop; the stop only ever
tightens, in steps of at least a tenth of its distance. Venues edit limit orders, not a
bracket's stop, so the bracket is cancelled and replaced (the new one tagged ``exit:trailing``): never two
brackets for one position; between the cancel and the replacement (one round trip) the
position has no venue stop. ``max_hold`` and
``roi`` close at market (tags ``exit:max_hold`` / ``exit:roi``) when the position is that
old, or its return since entry reached the ROI table's threshold for its age.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from gpt_trader.domain import (
    Fill,
    MarginType,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Product,
    RejectReason,
    Side,
    TimeInForce,
)
from gpt_trader.domain.orders import LIQUIDATION_TAG, SETTLEMENT_TAG
from gpt_trader.engine.cancels import CancelWatch
from gpt_trader.errors import BrokerError
from gpt_trader.protocols import Broker, OrderJournal

log = logging.getLogger("gpt_trader.exits")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
EXIT_PREFIX = "exit:"
BRACKET_TAG = "exit:bracket"
TRAILING_TAG = "exit:trailing"  # a bracket (or lone stop) whose stop a trailing stop moved
STOP_TAG = "exit:stop_loss"  # a lone stop-loss leg (a stop-limit)
TARGET_TAG = "exit:take_profit"  # a lone take-profit leg (a GTC limit)
LEG_TAGS = frozenset({TRAILING_TAG, STOP_TAG, TARGET_TAG})
# A lone stop is a stop-limit: its limit sits this fraction beyond the trigger (1 %, as
# freqtrade's stoploss_on_exchange_limit_ratio = 0.99), room for the fill after a trigger.
STOP_LIMIT_ROOM = Decimal("0.01")
MINUTE_NS = 60_000_000_000
BEST_PREFIX = "best:"  # the journal's key for a position's best price since entry
TRAIL_STEPS = 10  # a trailing stop moves in steps of a tenth of its distance, at least


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


def is_bracket(order: Order) -> bool:
    """A position's resting exit (a bracket, or a lone stop or take-profit leg): it never
    holds back a decision on its symbol (it is cancelled first) and outlives the bot."""
    if order.order_type is OrderType.BRACKET:
        return True
    return order.order_type is not OrderType.MARKET and order.tag in LEG_TAGS


def exit_levels(order: Order) -> tuple[Decimal | None, Decimal | None]:
    """(stop, target) that a position's resting exit holds (None for a leg it lacks)."""
    if order.order_type is OrderType.BRACKET:
        return order.stop_price, order.limit_price
    if order.order_type is OrderType.STOP_LIMIT:
        return order.stop_price, None
    return None, order.limit_price


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
        if target:
            return ExitReason.TAKE_PROFIT
        return ExitReason.TRAILING if tag == TRAILING_TAG else ExitReason.STOP_LOSS
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
    """The profile's ``[exits]``: percentages as fractions of the entry price, ``max_hold``
    in nanoseconds, ``roi`` as (minutes held in ns, minimum return) from the longest."""

    stop_loss: Decimal | None
    take_profit: Decimal | None
    trailing: Decimal | None = None
    activation: Decimal | None = None
    max_hold_ns: int | None = None
    roi: tuple[tuple[int, Decimal], ...] = ()

    @classmethod
    def from_pcts(
        cls,
        stop_loss_pct: Decimal | None,
        take_profit_pct: Decimal | None,
        *,
        trailing_pct: Decimal | None = None,
        trailing_activation_pct: Decimal | None = None,
        max_hold_s: float | None = None,
        roi: Mapping[int, Decimal] | None = None,
    ) -> ExitPlan | None:
        """None when nothing is asked for."""

        def frac(pct: Decimal | None) -> Decimal | None:
            return None if pct is None else pct / HUNDRED

        table = tuple(sorted(((m * MINUTE_NS, v / HUNDRED) for m, v in (roi or {}).items()),
                             reverse=True))  # fmt: skip
        plan = cls(
            frac(stop_loss_pct),
            frac(take_profit_pct),
            frac(trailing_pct),
            frac(trailing_activation_pct),
            None if max_hold_s is None else int(max_hold_s * 1_000_000_000),
            table,
        )
        return None if plan == cls(None, None) else plan

    @property
    def bracket(self) -> bool:
        """Whether positions get a resting exit at the venue (both legs, or one alone)."""
        return self.stop_loss is not None or self.take_profit is not None

    @property
    def watches_prices(self) -> bool:
        """Whether each market event may move a stop or end a position (trailing, ROI, or
        a maximum hold, which a replay checks at each bar's close)."""
        return self.trailing is not None or bool(self.roi) or self.max_hold_ns is not None

    def levels(
        self, product: Product, long: bool, entry: Decimal
    ) -> tuple[Decimal | None, Decimal | None]:
        """(stop, take-profit) for a position entered at ``entry``, each rounded to the tick
        towards the entry (ceiling is "SELL" rounding, floor "BUY"); None for a leg the
        plan does not ask for."""
        sign = 1 if long else -1
        stop = target = None
        if self.stop_loss is not None:
            stop = _toward_price(product, entry * (1 - sign * self.stop_loss), long)
        if self.take_profit is not None:
            target = product.quantize_price(
                entry * (1 + sign * self.take_profit), conservative_for="BUY" if long else "SELL"
            )
        return stop, target

    def trailing_stop(
        self, product: Product, long: bool, entry: Decimal, best: Decimal
    ) -> Decimal | None:
        """The trailing stop from the best price since entry, once active (None before)."""
        if self.trailing is None:
            return None
        sign = 1 if long else -1
        if self.activation is not None and sign * (best - entry) < entry * self.activation:
            return None
        return _toward_price(product, best * (1 - sign * self.trailing), long)

    def roi_due(self, age_ns: int, ret: Decimal) -> bool:
        """Whether a position ``age_ns`` old with return ``ret`` (a fraction) is to close:
        the threshold of the largest minutes key at or below its age."""
        for at, minimum in self.roi:
            if age_ns >= at:
                return ret >= minimum
        return False


def _toward_price(product: Product, stop: Decimal, long: bool) -> Decimal:
    """A stop on the tick grid, rounded towards the price (never further away than asked)."""
    return product.quantize_price(stop, conservative_for="SELL" if long else "BUY")


def entry_times(fills: Iterable[Fill]) -> dict[str, int]:
    """When each open position was opened (its first fill since it was last flat)."""
    size: dict[str, Decimal] = {}
    since: dict[str, int] = {}
    for fill in sorted(fills, key=lambda f: f.ts):
        was = size.get(fill.symbol, ZERO)
        now = size[fill.symbol] = was + (fill.size if fill.side is Side.BUY else -fill.size)
        if now == 0:
            since.pop(fill.symbol, None)
        elif was == 0 or (was > 0) != (now > 0):
            since[fill.symbol] = fill.ts
    return since


class ExitHost(Protocol):
    """What the exits need of the kernel."""

    orders: dict[str, Order]
    working: set[str]
    products: dict[str, Product]
    broker: Broker
    journal: OrderJournal
    cancels: CancelWatch

    @property
    def positions(self) -> Mapping[str, Position]: ...

    @property
    def now(self) -> int: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def next_client_order_id(self) -> str: ...

    async def submit(self, request: OrderRequest) -> Order | None: ...

    async def backfill(self, since_ts: int, client_order_id: str | None = None) -> int: ...

    def on_order(self, order: Order) -> None: ...

    def margin_terms(self, symbol: str) -> tuple[Decimal | None, MarginType | None]: ...


class Exits:
    """Keeps one bracket per open position and closes positions on time and return (see
    the module docstring)."""

    def __init__(self, host: ExitHost, plan: ExitPlan | None) -> None:
        self.host = host
        self.plan = plan
        self._due: set[str] = set()
        # Positions whose bracket the venue refused for a reason other than price: not
        # retried on every event (the error is logged); cleared when the position closes.
        self._refused: set[str] = set()
        self._since: dict[str, int] = {}  # when each open position was opened
        self._best: dict[str, Decimal] = {}  # its most favourable price since (trailing)
        self._saved_best: dict[str, Decimal] = {}  # what the journal holds of _best

    @property
    def due(self) -> bool:
        return bool(self._due)

    def bracket(self, symbol: str) -> Order | None:
        """The working bracket of ``symbol``'s position, if any."""
        for cid in self.host.working:
            order = self.host.orders[cid]
            if order.symbol == symbol and is_bracket(order):
                return order
        return None

    def resume(self, fills: Iterable[Fill]) -> None:
        """After a restart: the open positions' entry times from the recorded fills, and
        every position and bracket checked at the next async point (the kernel calls it
        only with a plan)."""
        host = self.host
        self._since = {s: ts for s, ts in entry_times(fills).items()
                       if (p := host.positions.get(s)) is not None and p.size != 0}  # fmt: skip
        self._due.update(s for s, p in host.positions.items() if p.size != 0)
        self._due.update(o.symbol for o in map(host.orders.__getitem__, host.working)
                         if is_bracket(o))  # fmt: skip
        for key, saved in host.journal.kernel_state().items():
            if not key.startswith(BEST_PREFIX):
                continue
            symbol = key.removeprefix(BEST_PREFIX)
            # Only the position it was kept for (opened at that time) takes it up.
            if saved.get("since") == self._since.get(symbol):
                self._best[symbol] = self._saved_best[symbol] = Decimal(saved["best"])
            else:
                host.journal.record_state(key, None, host.now)

    def on_fill(self, fill: Fill) -> None:
        """After the ledger applied ``fill``: the position's bracket is checked next."""
        if self.plan is None:
            return
        pos = self.host.positions.get(fill.symbol)
        if pos is None or pos.size == 0:
            self._since.pop(fill.symbol, None)
            self._best.pop(fill.symbol, None)
            if self._saved_best.pop(fill.symbol, None) is not None:
                self.host.journal.record_state(BEST_PREFIX + fill.symbol, None, self.host.now)
        elif fill.symbol not in self._since:
            self._since[fill.symbol] = fill.ts
        self._due.add(fill.symbol)

    def on_price(self, symbol: str, high: Decimal, low: Decimal) -> None:
        """A market event's range: the trailing stop's best price and the ROI moved."""
        plan = self.plan
        if plan is None or not plan.watches_prices:
            return
        pos = self.host.positions.get(symbol)
        if pos is None or pos.size == 0:
            return
        best = self._best.get(symbol, pos.avg_entry_price)
        self._best[symbol] = max(best, high) if pos.size > 0 else min(best, low)
        self._due.add(symbol)

    def on_timer(self) -> None:
        """Time passed: positions with a maximum hold or an ROI table are checked; best
        prices that moved since the journal last heard are written."""
        plan = self.plan
        if plan is not None and (plan.max_hold_ns is not None or plan.roi):
            self._due.update(self._since)
        if plan is not None and plan.bracket:
            # A close whose bracket was cancelled for it but which never went out (refused,
            # or lost with its reply) brings no fill to re-bracket the position on.
            self._due.update(
                s for s in self._since if s not in self._refused and not self.bracket(s)
            )
        if plan is not None and plan.trailing is not None:
            for symbol in list(self._best):
                self._save_best(symbol)

    def _save_best(self, symbol: str) -> None:
        best = self._best.get(symbol)
        if best is None or self._saved_best.get(symbol) == best:
            return
        state = {"best": str(best), "since": self._since.get(symbol)}
        self.host.journal.record_state(BEST_PREFIX + symbol, state, self.host.now)
        self._saved_best[symbol] = best

    async def settle(self) -> None:
        due, self._due = self._due, set()
        for symbol in sorted(due):
            await self._settle(symbol)

    async def _settle(self, symbol: str) -> None:
        host = self.host
        orders = [host.orders[cid] for cid in host.working]
        if any(o.symbol == symbol and not is_bracket(o) for o in orders):
            self._due.add(symbol)  # an entry or close is still working: wait for its fills
            return
        pos = host.positions.get(symbol)
        if pos is None or pos.size == 0:
            self._refused.discard(symbol)
            if self.bracket(symbol) is not None:
                await self.release(symbol)
            return
        reason = self._time_to_go(symbol, pos)
        if reason is not None:
            await self._close(symbol, pos, reason)
            return
        assert self.plan is not None
        if not self.plan.bracket:
            return
        bracket = self.bracket(symbol)
        stop, target, tag = self._levels(symbol, pos)
        if bracket is not None:
            if self._holds(bracket, pos, stop):
                return
            if not await self.release(symbol) or pos.size == 0:
                if pos.size != 0:
                    self._due.add(symbol)
                return
        if symbol not in self._refused:
            if tag == TRAILING_TAG:
                self._save_best(symbol)  # the journal never holds a looser stop than the venue
            await self._place(symbol, pos, stop, target, tag)

    def _holds(self, bracket: Order, pos: Position, stop: Decimal | None) -> bool:
        """Whether ``bracket`` still fits the position: its side and size, and a stop at
        least as tight as the one wanted (a trailing stop never loosens), or short of it by
        less than a tenth of the trailing distance (each move is a cancel and a replace at
        the venue: not one per tick). A lone take-profit has no stop to judge."""
        long = pos.size > 0
        if bracket.side is not (Side.SELL if long else Side.BUY):
            return False
        if bracket.remaining != abs(pos.size):
            return False
        if stop is None:
            return exit_levels(bracket)[0] is None
        if bracket.stop_price is None:
            return False
        gain = (stop - bracket.stop_price) if long else (bracket.stop_price - stop)
        if gain <= 0:
            return True
        trailing = self.plan.trailing if self.plan is not None else None
        return trailing is not None and gain < stop * trailing / TRAIL_STEPS

    def _levels(self, symbol: str, pos: Position) -> tuple[Decimal | None, Decimal | None, str]:
        """(stop, target, tag) of the exit the position should have now."""
        assert self.plan is not None
        product = self.host.products[symbol]
        long = pos.size > 0
        stop, target = self.plan.levels(product, long, pos.avg_entry_price)
        tag = BRACKET_TAG if stop is not None and target is not None else STOP_TAG
        if stop is None:
            return None, target, TARGET_TAG
        best = self._best.get(symbol)
        trail = (
            None
            if best is None
            else self.plan.trailing_stop(product, long, pos.avg_entry_price, best)
        )
        if trail is not None and (trail > stop if long else trail < stop):
            return trail, target, TRAILING_TAG
        return stop, target, tag

    def _time_to_go(self, symbol: str, pos: Position) -> ExitReason | None:
        """``max_hold`` or ``roi`` says the position is to close now."""
        plan = self.plan
        since = self._since.get(symbol)
        if plan is None or since is None:
            return None
        age = self.host.now - since
        if plan.max_hold_ns is not None and age >= plan.max_hold_ns:
            return ExitReason.MAX_HOLD
        price = self.host.last_price(symbol)
        if plan.roi and price is not None and pos.avg_entry_price:
            ret = (price / pos.avg_entry_price - 1) * (1 if pos.size > 0 else -1)
            if plan.roi_due(age, ret):
                return ExitReason.ROI
        return None

    async def _close(self, symbol: str, pos: Position, reason: ExitReason) -> None:
        """Close the position at market for ``reason``, its bracket cancelled first."""
        if not await self.release(symbol):
            self._due.add(symbol)
            return
        if pos.size == 0:
            return
        host = self.host
        leverage, margin_type = host.margin_terms(symbol)
        await host.submit(
            OrderRequest(
                client_order_id=host.next_client_order_id(),
                symbol=symbol,
                side=Side.SELL if pos.size > 0 else Side.BUY,
                size=abs(pos.size),
                reduce_only=True,
                tag=EXIT_PREFIX + reason.value,
                leverage=leverage,
                margin_type=margin_type,
            )
        )

    async def _place(
        self, symbol: str, pos: Position, stop: Decimal | None, target: Decimal | None, tag: str
    ) -> None:
        host = self.host
        product = host.products[symbol]
        long = pos.size > 0
        leverage, margin_type = host.margin_terms(symbol)
        kind, limit = OrderType.BRACKET, target
        if target is None:
            # A lone stop: a stop-limit whose limit leaves room beyond the trigger.
            assert stop is not None
            room = stop * (1 - STOP_LIMIT_ROOM) if long else stop * (1 + STOP_LIMIT_ROOM)
            kind = OrderType.STOP_LIMIT
            limit = product.quantize_price(room, conservative_for="BUY" if long else "SELL")
        elif stop is None:
            kind = OrderType.LIMIT
        request = OrderRequest(
            client_order_id=host.next_client_order_id(),
            symbol=symbol,
            side=Side.SELL if long else Side.BUY,
            size=abs(pos.size),
            order_type=kind,
            limit_price=limit,
            stop_price=stop,
            time_in_force=TimeInForce.GTC,
            reduce_only=product.is_derivative,
            tag=tag,
            leverage=leverage,
            margin_type=margin_type,
        )
        order = await host.submit(request)
        if order is None or order.status is not OrderStatus.REJECTED:
            return
        last = host.last_price(symbol)
        # the venue's own word that the market is through the stop (a restarted bot may
        # have no last price yet)
        through = order.reject_reason in (
            RejectReason.STOP_ABOVE_LAST,
            RejectReason.STOP_BELOW_LAST,
        )
        hit_stop = through or (
            last is not None and stop is not None and (last <= stop if long else last >= stop)
        )
        hit_target = (
            last is not None and target is not None and (last >= target if long else last <= target)
        )
        if not (hit_stop or hit_target):
            self._refused.add(symbol)
            log.error("bracket for %s refused (%s): the position has no stop", symbol,
                      order.reject_reason)  # fmt: skip
            return
        # The market went through a level before the bracket could rest: close now.
        if hit_stop:
            reason = ExitReason.TRAILING if tag == TRAILING_TAG else ExitReason.STOP_LOSS
        else:
            reason = ExitReason.TAKE_PROFIT
        await self._close(symbol, pos, reason)

    async def release(self, symbol: str) -> bool:
        """Cancel ``symbol``'s bracket before anything else closes the position. True when
        no bracket works any more; the venue's fills of it (made before the cancel landed)
        are applied first, so the position the caller reads next is what is left."""
        bracket = self.bracket(symbol)
        if bracket is None:
            return True
        host = self.host
        cid = bracket.client_order_id
        await host.cancels.cancel(cid)
        if host.cancels.gave_up(cid):
            return False  # flagged: the reconcile learns how it ended, not a lookup per event
        try:
            venue = await host.broker.order(cid)
        except BrokerError as exc:
            log.error("lookup of bracket %s after its cancel failed: %s", cid, exc)
            return False
        if venue is None:
            return False
        host.on_order(venue)
        if venue.filled_size > 0:
            await host.backfill(bracket.created_ts, cid)
        return not venue.status.is_working
