"""The reports the kernel's reconcile asks for (``gpt_trader.protocols.ReportingBroker``).

The kernel decides what is new; these only read the venue over REST and keep the order
records straight, so that an order is never reported ahead of its fills: fills the
kernel gets from a report count as handed over, and an order whose fills are missing has
them fetched (and handed over through ``on_fill``) before its report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from gpt_trader.domain import Fill, Order

from gpt_trader_coinbase.convert import (
    WORKING_STATUSES,
    WireError,
    fill_from_rest,
    format_time,
    order_from_rest,
)
from gpt_trader_coinbase.rest import RestError
from gpt_trader_coinbase.spot.following import NS, Following
from gpt_trader_coinbase.spot.tracker import Tracked

log = logging.getLogger("gpt_trader_coinbase.spot")


class Reports(Following):
    _started_ns: int

    @property
    def reconcile_interval_s(self) -> float:
        return self.config.reconcile_interval_s

    async def fill_reports(self, since_ts: int) -> list[Fill]:
        """The venue's fills from ``since_ts`` back one more ``fills_window_s`` (the venue
        lists a fill late at times), never from before this broker started; fills of
        orders no client id can be found for are left out."""
        with self._reading("fills report"):
            return await self._fill_reports(since_ts)

    async def _fill_reports(self, since_ts: int) -> list[Fill]:
        start = max(self._started_ns, since_ts - int(self.config.fills_window_s * NS))
        raw = await self.rest.list_fills(start_sequence_timestamp=format_time(start))
        await self._learn_orders({str(f.get("order_id", "")) for f in raw if self._new(f)})
        out = []
        for f in raw:
            tr = self._orders.get(str(f.get("order_id", "")))
            if tr is None:
                continue
            fill = fill_from_rest(f, tr.client_order_id)
            if not fill.trade_id:
                continue
            self._take(fill, tr)
            if self._in_scope(fill.symbol):
                out.append(fill)
        return out

    def _new(self, raw_fill: Mapping[str, Any]) -> bool:
        tr = self._orders.get(str(raw_fill.get("order_id", "")))
        return tr is None or str(raw_fill.get("trade_id", "")) not in tr.fill_ids

    async def order_reports(self, client_order_ids: Sequence[str]) -> list[Order]:
        """The venue's working orders, the orders asked about, every order this broker
        follows that is not settled, and any other it has not reported as it stands, each
        as the venue has it now (its missing fills handed over first)."""
        with self._reading("orders report"):
            return await self._order_reports(client_order_ids)

    async def _order_reports(self, client_order_ids: Sequence[str]) -> list[Order]:
        touched: dict[str, Tracked] = {}
        for o in await self.rest.list_orders(order_status=list(WORKING_STATUSES)):
            tr = self._track(order_from_rest(o))
            touched[tr.order_id] = tr
        for cid in client_order_ids:
            asked = self._tracked_cid(cid) or await self._lookup(cid)
            if asked is not None and asked.order_id not in touched:
                await self._refresh(asked, touched)
        for oid, tr in list(self._orders.items()):
            if oid not in touched and not tr.settled:
                await self._refresh(tr, touched)
        for tr in touched.values():
            if tr.missing > 0:
                try:
                    await self._sync_fills(tr)
                except RestError as exc:
                    log.info("reconcile: fills of %s not fetched: %s", tr.client_order_id, exc)
                except WireError as exc:
                    self._unreadable(f"fills of order {tr.client_order_id}", exc)
        out = []
        for tr in self._orders.values():
            if not self._in_scope(tr.symbol):
                continue
            view = tr.view()
            key = Tracked.key_of(view)
            # Also an order not reported as it stands (one whose fills a report just gave).
            if tr.order_id in touched or key != tr.reported_key:
                tr.reported_key = key  # the caller (the kernel) applies it
                out.append(view)
        self._prune(self._clock())
        return out

    async def _refresh(self, tr: Tracked, touched: dict[str, Tracked]) -> None:
        raw = await self.rest.get_order(tr.order_id)
        if raw is not None:
            tr.update(order_from_rest(raw))
            touched[tr.order_id] = tr
