"""The kernel's sink into the store: events, order updates and fills, encoded and written
in batches by a writer thread, so that no SQLite write or JSON encoding sits on the
tick-to-order path."""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gpt_trader.domain import Fill, FundingPayment, Order
from gpt_trader.domain.events import (
    Event,
    FillReceived,
    FundingReceived,
    MarketData,
    OrderIntent,
    OrderUpdated,
    RunStopped,
)
from gpt_trader.errors import StoreError
from gpt_trader.store.store import EncodedEvent, encode_events, intent_row

if TYPE_CHECKING:
    from gpt_trader.store.store import Store

log = logging.getLogger("gpt_trader.store")

# Batches between two WAL checkpoints (of the store's file and the intent file) by the
# writer; the run's connections checkpoint on commit only as a backstop (see
# Store(autocheckpoint=False)). Often enough that a run sending an order a tick
# (bench/orders.py: several WAL pages a tick) restarts both WALs before that backstop, past
# which every commit checkpoints, the intent commit's included (when intents shared the
# store's file: tick->order p99 ~2.2 ms at 8, ~1.7 ms at 4, ~1.25 ms at 2). Not more often:
# each checkpoint's second pass holds the store's file through its fsyncs.
CHECKPOINT_EVERY = 4

# The interpreter's switch interval while a writer runs. The writer encodes and writes
# while the trading thread decides; a thread that wants the GIL back waits up to the switch
# interval (5 ms by default) before the holder is asked to let go, which would sit in the
# tick-to-order tail (bench/orders.py, 10,000 ticks: p99 ~1.5 ms at 5 ms, ~1.0 ms at
# 0.2 ms; 0.05 ms gained nothing more).
WRITER_SWITCH_INTERVAL_S = 0.0002


@dataclass
class _Batch:
    events: list[Event] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    funding: list[FundingPayment] = field(default_factory=list)
    intents: list[OrderIntent] = field(default_factory=list)
    rows: list[EncodedEvent] | None = None  # encoded by the writer
    done: threading.Event | None = None


class StoreSink:
    """Records every domain event of one run in the store at ``store.path``.

    Events are buffered and handed to a writer thread, with its own connection, when
    ``flush_every`` are buffered, when the oldest has waited ``max_delay_s`` (checked on
    each ``handle`` and whenever the kernel's timer calls :meth:`flush`), on
    :class:`RunStopped` and on :meth:`close`. The writer puts the batch's order updates
    (:class:`OrderUpdated`), fills (:class:`FillReceived`) and log rows in ONE transaction.
    That is safe because neither orders nor fills are the exactly-once anchor: the intent
    row is (committed by :meth:`Store.record_intent` before the broker is called), and a
    restart backfills from the venue, by trade id, the fills of every order still working
    in the store. An :class:`OrderIntent` gives ``orders`` the intent's PENDING row (the
    intent itself was committed to the intent file). :class:`MarketData` is logged only
    with ``record_market``.

    While a writer runs, the interpreter's switch interval is at most
    :data:`WRITER_SWITCH_INTERVAL_S` (put back when the last sink closes).

    Nothing ``handle`` accepted is dropped: :meth:`flush` and :meth:`close` wait until it
    is written. A failed write makes the next ``handle``/``flush`` raise
    :class:`StoreError` (the kernel then halts trading); after :meth:`close`, ``handle``
    raises too.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        flush_every: int = 64,
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
        self._batch = _Batch()
        self._first_buffered = 0.0
        self._closed = False
        self._error: BaseException | None = None
        self._failed: list[_Batch] = []
        self._queue: queue.Queue[_Batch | None] = queue.Queue()
        _FAST_SWITCHING.enter()
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._writer.start()

    def handle(self, event: Event) -> None:
        if self._closed:
            raise StoreError(f"store sink of run {self.run_id!r} is closed")
        self._raise_if_failed()
        if isinstance(event, MarketData) and not self.record_market:
            self._flush_if_due()
            return
        batch = self._batch
        if not batch.events:
            self._first_buffered = time.monotonic()
        batch.events.append(event)
        if isinstance(event, OrderUpdated):
            batch.orders.append(event.order)
        elif isinstance(event, FillReceived):
            batch.fills.append(event.fill)
        elif isinstance(event, FundingReceived):
            batch.funding.append(event.payment)
        elif isinstance(event, OrderIntent):
            batch.intents.append(event)
        if isinstance(event, RunStopped):
            self.flush()
        elif len(batch.events) >= self.flush_every:
            self._hand_over(None)
        else:
            self._flush_if_due()

    def _flush_if_due(self) -> None:
        if self._batch.events and time.monotonic() - self._first_buffered >= self.max_delay_s:
            self._hand_over(None)

    def _hand_over(self, done: threading.Event | None) -> None:
        batch, self._batch = self._batch, _Batch()
        batch.done = done
        self._queue.put(batch)

    def flush(self) -> None:
        """Write everything buffered so far (and retry what failed) and wait for the commit."""
        if self._error is not None:
            self._error = None  # the writer retries the failed batches first
        done = threading.Event()
        self._hand_over(done)
        done.wait()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise StoreError(f"the store writer failed: {self._error}") from self._error

    def _write_loop(self) -> None:
        from gpt_trader.store.store import Store

        store: Store | None = None
        written = 0
        while True:
            batch = self._queue.get()
            if batch is None:
                break
            # A failed batch is kept and retried before later ones, so order is preserved
            # and nothing is lost; meanwhile the error is reported on the kernel's next call.
            todo, self._failed = [*self._failed, batch], []
            try:
                if self._error is not None:
                    raise self._error
                if store is None:
                    store = Store(self.store.path, create=False, autocheckpoint=False)
                while todo:
                    self._write(store, todo[0])
                    todo.pop(0)
                    written += 1
                if written >= CHECKPOINT_EVERY:
                    # Here, outside any transaction: a checkpoint inside a commit would hold
                    # the store's file longer against the trading thread's writes.
                    written = 0
                    try:
                        store.checkpoint()
                    except StoreError as exc:  # nothing is lost: the WAL just grows
                        log.warning("%s; tried again later", exc)
            except BaseException as exc:
                self._error = exc
            finally:
                self._failed = todo
                if batch.done is not None:
                    batch.done.set()
        if store is not None:
            store.checkpoint()
            store.close()

    def _write(self, store: Store, batch: _Batch) -> None:
        if batch.rows is None:
            batch.rows = encode_events(self.run_id, batch.events)
        if batch.rows or batch.orders or batch.fills or batch.funding:
            intents = [intent_row(e.request, e.ts, self.run_id) for e in batch.intents]
            store.write_batch(
                self.run_id, batch.rows, batch.orders, batch.fills, batch.funding, intents
            )

    @property
    def pending(self) -> int:
        """Events accepted and not handed to the writer, or in batches that failed."""
        return len(self._batch.events) + sum(len(b.events) for b in self._failed)

    def close(self) -> None:
        """Write what is buffered and stop the writer; accepts nothing afterwards. Idempotent."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._queue.put(None)
            self._writer.join()
            _FAST_SWITCHING.leave()


class _FastSwitching:
    """The first running writer lowers the switch interval; the last one puts it back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writers = 0
        self._before = 0.0

    def enter(self) -> None:
        with self._lock:
            if self._writers == 0:
                self._before = sys.getswitchinterval()
                sys.setswitchinterval(min(self._before, WRITER_SWITCH_INTERVAL_S))
            self._writers += 1

    def leave(self) -> None:
        with self._lock:
            self._writers -= 1
            if self._writers == 0:
                sys.setswitchinterval(self._before)


_FAST_SWITCHING = _FastSwitching()
