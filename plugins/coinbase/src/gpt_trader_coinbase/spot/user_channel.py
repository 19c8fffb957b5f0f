"""The user channel: cumulative order updates over WebSocket, and resyncs when it falters.

An increase of an order's ``cumulative_quantity`` triggers a REST fetch of that order's
fills (retried with backoff while REST lags). After a reconnect, a sequence gap or a
silent channel the broker pauses entries (through the kernel's ``pause_entries``) and asks
the kernel for a reconcile (``ReconcilingListener.reconcile_now``), again until one
succeeds; entries resume once the channel is back and the reconcile is done. A listener
that cannot reconcile (a test recorder) only hears the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from gpt_trader.errors import BrokerError
from gpt_trader.protocols import ReconcilingListener

from gpt_trader_coinbase.convert import WireError, order_from_rest, order_from_ws
from gpt_trader_coinbase.pause import PauseGate
from gpt_trader_coinbase.rest import RestError
from gpt_trader_coinbase.spot.following import Following
from gpt_trader_coinbase.spot.tracker import Tracked
from gpt_trader_coinbase.stream import Frame, Notice, WsStream

log = logging.getLogger("gpt_trader_coinbase.spot")


class UserChannel(Following):
    _gate: PauseGate | None
    _stream: WsStream | None
    _resync_task: asyncio.Task[None] | None
    _resync_again: bool
    user_connected: asyncio.Event
    # The venue's clock as its latest user-channel frame (heartbeats included) showed it.
    venue_ts: int

    def _on_ws_order(self, body: Mapping[str, Any], ts: int) -> None:
        try:
            order = order_from_ws(body, ts)
        except WireError as exc:
            self._unreadable("user-channel order", exc)
            return
        if not order.order_id:
            return
        stranger = (
            order.order_id not in self._orders and order.client_order_id not in self._requests
        )
        tr = self._track(order)
        if stranger and self._listener is not None:
            # Not ours (a liquidation, a settlement, a manual order): REST says which.
            self._spawn(self._describe(tr), f"coinbase-describe-{order.order_id}")
        if tr.missing > 0:
            self._schedule_sync(tr)
        self._report(tr)  # capped while fills are missing: still working until they are in

    async def _describe(self, tr: Tracked) -> None:
        try:
            raw = await self.rest.get_order(tr.order_id)
        except RestError as exc:
            log.info("order %s not described yet: %s", tr.order_id, exc)
            return
        if raw is not None:
            try:
                tr.update(order_from_rest(raw))
            except WireError as exc:
                self._unreadable(f"order {tr.order_id}", exc)
                return
            self._report(tr)

    async def _user_loop(self) -> None:
        while not self._stopped:
            try:
                await self._consume_user()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("user channel loop failed; restarting it")
                self.request_resync("user channel loop restarted")
                await asyncio.sleep(1.0)

    async def _consume_user(self) -> None:
        assert self._stream is not None
        async for item in self._stream.items():
            if isinstance(item, Frame):
                self.venue_ts = max(self.venue_ts, item.ts)
                if item.channel == "user":
                    for body in self._user_orders(item):
                        self._on_ws_order(body, item.ts)
                elif item.channel == "subscriptions":
                    self.user_connected.set()
                    resyncing = self._resync_task is not None and not self._resync_task.done()
                    if self._gate is not None and not resyncing:
                        self._gate.resume("user")
            elif isinstance(item, Notice):
                if item.kind == "connected" and item.connection > 1:
                    self.request_resync(f"user channel reconnected (#{item.connection})")
                elif item.kind == "gap":
                    self.request_resync("user channel sequence gap")
                elif item.kind == "silence":
                    self.request_resync("user channel silent")
                elif item.kind == "disconnected":
                    self.user_connected.clear()
                    log.info("user channel disconnected (%s)", item.detail)
                    if self._gate is not None and not self._stopped:
                        # Blind to order updates until the reconnect's resync is done.
                        self._gate.pause("user", "user channel disconnected")

    def _user_orders(self, frame: Frame) -> list[Mapping[str, Any]]:
        """The order bodies of a user frame; none, and a resync, when its shape is wrong
        (an update it carried is then unknown)."""
        out: list[Mapping[str, Any]] = []
        for ev in frame.events:
            orders = ev.get("orders") if isinstance(ev, dict) else None
            if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
                why = WireError(f"user frame {frame.seq}: events[].orders is not a list of objects")
                self._unreadable("user-channel frame", why)
                return []
            out.extend(orders)
        return out

    def request_resync(self, reason: str) -> None:
        """Pause entries and have the kernel reconcile (again, if one is already running)."""
        if self._stopped:
            return
        self.stats.resyncs += 1
        self.stats.resync_reasons.append(reason)
        log.warning("resync: %s", reason)
        if self._gate is not None:
            self._gate.pause("user", reason)
        if self._resync_task is not None and not self._resync_task.done():
            self._resync_again = True
            return
        self._resync_task = self._spawn(self._resync_loop(), "coinbase-resync")

    async def _resync_loop(self) -> None:
        attempt = 0
        while not self._stopped:
            self._resync_again = False
            listener = self._listener
            if isinstance(listener, ReconcilingListener):
                try:
                    await listener.reconcile_now()
                except (BrokerError, ValueError) as exc:
                    attempt += 1
                    delay = min(5.0, 0.2 * 2**attempt)
                    log.warning("resync failed (%s); again in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    continue
            if not self._resync_again:
                break
        if self._gate is not None and self.user_connected.is_set():
            self._gate.resume("user")  # else the reconnect's own resync will
