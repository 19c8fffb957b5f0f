"""The kernel's sink into the store: batches the event log, writes orders and fills at once."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gpt_trader.domain.events import Event, FillReceived, MarketData, OrderUpdated, RunStopped
from gpt_trader.errors import StoreError

if TYPE_CHECKING:
    from gpt_trader.store.store import Store


class StoreSink:
    """Records every domain event of one run in ``store``.

    The event log is written in batches: when ``flush_every`` events are buffered, when the
    oldest buffered event has waited ``max_delay_s`` (wall clock, checked on each
    ``handle``), on :class:`RunStopped`, on :meth:`flush` and on :meth:`close`. Orders
    (:class:`OrderUpdated`) and fills (:class:`FillReceived`) are also written to their
    tables immediately. An :class:`OrderIntent` only goes to the log: its orders row was
    committed by :meth:`Store.record_intent` before the broker was called.
    :class:`MarketData` is logged only with ``record_market`` (needed to replay a session).

    An event ``handle`` accepted is never dropped: a failed flush keeps the batch for the
    next one. After :meth:`close`, ``handle`` raises :class:`StoreError`.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        flush_every: int = 256,
        record_market: bool = True,
        max_delay_s: float = 1.0,
    ) -> None:
        if flush_every < 1:
            raise ValueError("flush_every must be at least 1")
        self.store = store
        self.run_id = run_id
        self.flush_every = flush_every
        self.record_market = record_market
        self.max_delay_s = max_delay_s
        self._buffer: list[Event] = []
        self._first_buffered = 0.0
        self._closed = False

    def handle(self, event: Event) -> None:
        if self._closed:
            raise StoreError(f"store sink of run {self.run_id!r} is closed")
        if isinstance(event, MarketData) and not self.record_market:
            self._flush_if_due()
            return
        if not self._buffer:
            self._first_buffered = time.monotonic()
        self._buffer.append(event)
        if isinstance(event, OrderUpdated):
            self.store.upsert_order(event.order, self.run_id)
        elif isinstance(event, FillReceived):
            self.store.add_fill(event.fill, self.run_id)
        if isinstance(event, RunStopped) or len(self._buffer) >= self.flush_every:
            self.flush()
        else:
            self._flush_if_due()

    def _flush_if_due(self) -> None:
        if self._buffer and time.monotonic() - self._first_buffered >= self.max_delay_s:
            self.flush()

    def flush(self) -> None:
        """Write the buffered events in one transaction."""
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        try:
            self.store.append_events(self.run_id, batch)
        except BaseException:
            self._buffer = batch + self._buffer
            raise

    @property
    def pending(self) -> int:
        """Events accepted but not yet written."""
        return len(self._buffer)

    def close(self) -> None:
        """Flush what is buffered; the sink accepts nothing afterwards. Idempotent."""
        if self._closed:
            return
        self.flush()
        self._closed = True
