"""Orders over REST: submit, cancel, edit, and finding out how an ambiguous submit went.

A reply means OPEN (or REJECTED with the venue's reasons); a timeout, 5xx or a dropped
connection means UNKNOWN: the order is then looked up by ``client_order_id`` in the
background and by the kernel's timer, never sent again. An acknowledged order the user
channel stays silent about is looked up too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from gpt_trader.domain import Order, OrderRequest, OrderStatus, RejectReason
from gpt_trader.errors import BrokerError, VenueRefused

from gpt_trader_coinbase.convert import (
    CANCELLABLE_STATUSES,
    Unsupported,
    create_reply_problem,
    order_configuration,
    order_from_rest,
    preview_rejection,
    rejection_reason,
    text,
)
from gpt_trader_coinbase.reasons import first_reason
from gpt_trader_coinbase.rest import Ambiguous, RestError
from gpt_trader_coinbase.spot.following import Following
from gpt_trader_coinbase.spot.tracker import Tracked

log = logging.getLogger("gpt_trader_coinbase.spot")
RESOLVE_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


class OrderCalls(Following):
    async def submit(self, request: OrderRequest) -> Order:
        cid = request.client_order_id
        now = self._clock()
        self.stats.submits += 1
        try:
            body = self.order_body(request)
        except Unsupported as exc:
            return self._refused(request, now, exc.reason, str(exc))
        if self.config.preview:
            refused = await self._preview(request, body, now)
            if refused is not None:
                return refused
        self._requests[cid] = (request, now)
        self.stats.create_calls[cid] = self.stats.create_calls.get(cid, 0) + 1
        try:
            reply = await self.rest.create_order(body)
            unreadable = create_reply_problem(reply)
            if unreadable:
                # Placed or not, this reply cannot say: looked up like a lost reply.
                self.malformed.report("reply to POST /orders", unreadable)
                raise Ambiguous("POST /orders: outcome unknown, unreadable reply", status=200)
        except Ambiguous as exc:
            self.stats.ambiguous_submits += 1
            # After a 5xx the venue is done with the request; after silence it may not be.
            grace = (
                min(1.0, self.config.ambiguous_grace_s)
                if exc.replied
                else self.config.ambiguous_grace_s
            )
            known = self._tracked_cid(cid)
            if known is not None:
                # The user channel told of it while the reply was late: nothing to resolve.
                log.info("submit %s: %s; the venue already showed the order", cid, exc)
                return self._view_of(known)
            self._ambiguous[cid] = time.monotonic() + grace
            log.warning("submit %s: %s; resolving by client_order_id", cid, exc)
            self._spawn(self._resolve(cid), f"coinbase-resolve-{cid}")
            order = Order.from_request(request, now)
            order.status = OrderStatus.UNKNOWN
            order.reject_reason = str(exc)
            return order
        except RestError as exc:
            # Certainly not placed (refused with a 4xx, or never reached the venue).
            # A 400 is the gateway refusing the request itself; anything else (401, 403, a
            # connection never made) says nothing about the order.
            why = RejectReason.INVALID_REQUEST if exc.status == 400 else RejectReason.UNKNOWN
            return self._refused(request, now, why, str(exc))
        if not reply.get("success"):
            return self._refused(request, now, *rejection_reason(reply))
        sr = reply.get("success_response") or {}
        order_id = str(sr.get("order_id") or reply.get("order_id") or "")
        tr = self._tracked_cid(cid)
        if tr is None and order_id:
            ack = Order.from_request(request, now)
            ack.status = OrderStatus.OPEN
            ack.order_id = order_id
            tr = self._track(ack)
            tr.heard = False
            if self._listener is not None:
                self._spawn(self._watch(tr), f"coinbase-watch-{cid}")
        if tr is None:
            return self._refused(
                request, now, RejectReason.UNKNOWN, "venue reply without an order id"
            )
        tr.request = request
        view = tr.view()
        tr.reported_key = Tracked.key_of(view)
        return view

    def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The ``POST /orders`` body; raises ``Unsupported`` for a request the venue has no
        configuration for."""
        return {
            "client_order_id": request.client_order_id,
            "product_id": request.symbol,
            "side": request.side.value,
            "order_configuration": order_configuration(request),
        }

    async def _preview(self, request: OrderRequest, body: dict[str, Any], ts: int) -> Order | None:
        """Ask the venue's preview first (``[execution] preview``): an order it would refuse
        comes back REJECTED and is never sent. A preview that cannot be had (a timeout, a
        5xx) does not stop the submit: the venue still checks the order itself."""
        self.stats.previews += 1
        ask = {k: v for k, v in body.items() if k != "client_order_id"}
        try:
            reply = await self.rest.preview_order(ask)
        except RestError as exc:
            log.warning("preview of %s failed (%s); submitting", request.client_order_id, exc)
            return None
        refused = preview_rejection(reply)
        if refused is None:
            return None
        return self._refused(request, ts, *refused)

    def _refused(
        self, request: OrderRequest, ts: int, reason: RejectReason, venue_text: str
    ) -> Order:
        self.stats.rejected_submits += 1
        log.warning("order %s refused: %s (%s)", request.client_order_id, reason, venue_text)
        order = Order.from_request(request, ts)
        order.status = OrderStatus.REJECTED
        order.reject_reason = reason
        return order

    async def cancel(self, client_order_ids: Sequence[str]) -> dict[str, bool]:
        """Cancel by client order id, in batches of at most 100; True when the venue took
        the cancel (or the order is already being cancelled)."""
        result: dict[str, bool] = {}
        by_oid: dict[str, str] = {}
        for cid in client_order_ids:
            oid = self._by_cid.get(cid)
            if not oid:
                tr = await self._lookup(cid)
                oid = tr.order_id if tr is not None else ""
            if oid:
                by_oid[oid] = cid
            else:
                result[cid] = False
        oids = list(by_oid)
        step = max(1, min(self.config.cancel_batch, 100))
        for i in range(0, len(oids), step):
            batch = oids[i : i + step]
            try:
                answers = await self.rest.cancel_orders(batch)
            except RestError as exc:
                log.warning("cancel of %d order(s) failed: %s; checking each", len(batch), exc)
                answers = []
            seen = set()
            for ans in answers:
                oid = str(ans.get("order_id", ""))
                if oid not in by_oid:
                    continue
                seen.add(oid)
                reason = str(ans.get("failure_reason", ""))
                ok = bool(ans.get("success")) or reason == "DUPLICATE_CANCEL_REQUEST"
                result[by_oid[oid]] = ok
            for oid in batch:
                if oid not in seen:
                    result[by_oid[oid]] = await self._is_cancelled(oid)
        return {cid: result.get(cid, False) for cid in client_order_ids}

    async def _is_cancelled(self, order_id: str) -> bool:
        try:
            raw = await self.rest.get_order(order_id)
        except RestError:
            return False
        if raw is None:
            return False
        return str(raw.get("status")) in ("CANCELLED", "CANCEL_QUEUED") or bool(
            raw.get("pending_cancel")
        )

    async def cancel_all(self, symbols: Iterable[str] | None = None) -> dict[str, bool]:
        """Every cancellable order (OPEN, PENDING, QUEUED, EDIT_QUEUED), optionally by symbol."""
        wanted = set(symbols) if symbols else None
        raw = await self.rest.list_orders(order_status=list(CANCELLABLE_STATUSES))
        cids = []
        for o in raw:
            order = order_from_rest(o)
            if wanted is None or order.symbol in wanted:
                self._track(order)
                cids.append(order.client_order_id)
        return await self.cancel(cids) if cids else {}

    async def edit(
        self, client_order_id: str, *, size: Decimal | None, price: Decimal | None
    ) -> Order:
        tr = await self._lookup(client_order_id)
        if tr is None:
            raise BrokerError(f"edit {client_order_id}: no such order at the venue")
        current = tr.venue
        new_price = price if price is not None else current.limit_price
        new_size = size if size is not None else current.size
        if new_price is None:
            raise BrokerError(f"edit {client_order_id}: only limit orders can be edited")
        try:
            reply = await self.rest.edit_order(
                tr.order_id, price=text(new_price), size=text(new_size)
            )
        except Ambiguous as exc:
            raise BrokerError(
                f"edit {client_order_id}: outcome unknown ({exc}); check the order"
            ) from None
        except RestError as exc:
            raise BrokerError(f"edit {client_order_id}: {exc}") from None
        if not reply.get("success"):
            reasons = []
            for err in reply.get("errors") or []:
                for key in ("edit_failure_reason", "preview_failure_reason"):
                    value = str(err.get(key) or "")
                    if value and not value.startswith("UNKNOWN_"):
                        reasons.append(value)
            raise VenueRefused(
                f"edit {client_order_id} refused: {', '.join(reasons) or 'unknown reason'}",
                first_reason(reasons),
            )
        raw = await self.rest.get_order(tr.order_id)
        if raw is not None:
            tr.update(order_from_rest(raw))
        return self._view_of(tr)

    async def _watch(self, tr: Tracked) -> None:
        """An acknowledged order the user channel stays silent about is looked up."""
        for delay in (
            self.config.ack_watch_s,
            2 * self.config.ack_watch_s,
            4 * self.config.ack_watch_s,
        ):
            await asyncio.sleep(delay)
            if tr.heard:
                return
            try:
                raw = await self.rest.get_order(tr.order_id)
            except RestError:
                continue
            if raw is not None:
                tr.update(order_from_rest(raw))
                if tr.missing > 0:
                    self._schedule_sync(tr)
                self._report(tr)
                return

    async def _resolve(self, cid: str) -> None:
        """After an ambiguous submit: look the order up until it is found (or time is up)."""
        for delay in RESOLVE_DELAYS:
            await asyncio.sleep(delay)
            tr = self._tracked_cid(cid)
            if tr is None:
                try:
                    tr = await self._lookup(cid)
                except RestError:
                    continue
            if tr is not None:
                if tr.missing > 0:
                    self._schedule_sync(tr)
                self._report(tr)
                return
        log.warning("submit %s: not found at the venue after the ambiguous reply", cid)
