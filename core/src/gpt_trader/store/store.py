"""The store: runs, the event log, orders, fills, positions and operator actions in SQLite.

:class:`Store` is the one object the rest of the program uses. It is synchronous and meant
to be used from one thread (the kernel's). What the guarantees rest on is committed before
the method returns: :meth:`Store.record_intent` (exactly-once orders, in the intent file
beside the store) and
:meth:`Store.add_fill` (no lost fills); so are order updates, positions and operator
actions. Only the event log is written in batches, by :class:`~gpt_trader.store.StoreSink`.

Money is Decimal in and out, stored as exact TEXT; timestamps are int nanoseconds UTC.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from gpt_trader.domain.events import Event, to_jsonable
from gpt_trader.domain.orders import (
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from gpt_trader.domain.portfolio import FundingPayment, InventoryAdjustment, Position
from gpt_trader.domain.products import Product
from gpt_trader.domain.reasons import RejectReason
from gpt_trader.errors import StoreError, UserError
from gpt_trader.store.db import Synchronous, open_db
from gpt_trader.store.intents import IntentFile, intents_path
from gpt_trader.store.migrations import migrate
from gpt_trader.store.rows import (
    RunRow,
    adjustment_from_row,
    fill_from_row,
    funding_from_row,
    position_from_row,
    product_from_row,
    run_from_row,
)

# WAL pages (4 KiB) past which a connection that leaves checkpoints to the store writer
# checkpoints on commit anyway: a writer starved of the CPU must not let the WAL grow.
BACKSTOP_CHECKPOINT_PAGES = 500

WORKING_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.PENDING,
    OrderStatus.UNKNOWN,
    OrderStatus.OPEN,
    OrderStatus.PARTIALLY_FILLED,
)

# How far an order has got. An update that would move it back is stale (a reordered or
# late message) and is ignored; a terminal status is final.
_PROGRESS: dict[OrderStatus, int] = {
    OrderStatus.PENDING: 0,
    OrderStatus.UNKNOWN: 0,
    OrderStatus.OPEN: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELLED: 3,
    OrderStatus.EXPIRED: 3,
    OrderStatus.REJECTED: 3,
}

_INSERT_ORDER = """
INSERT INTO orders (
    client_order_id, run_id, order_id, symbol, side, order_type, time_in_force, size,
    limit_price, stop_price, end_ts, leverage, status, filled_size, avg_fill_price, fees,
    created_ts, updated_ts, reject_reason, tag, post_only, reduce_only, trade_ids
) VALUES (
    :client_order_id, :run_id, :order_id, :symbol, :side, :order_type, :time_in_force, :size,
    :limit_price, :stop_price, :end_ts, :leverage, :status, :filled_size, :avg_fill_price, :fees,
    :created_ts, :updated_ts, :reject_reason, :tag, :post_only, :reduce_only, :trade_ids
)
"""
# What a venue or the kernel may change on a known order (never its identity or run).
_INSERT_INTENT = _INSERT_ORDER.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
_UPDATE_ORDER = """
UPDATE orders SET order_id = :order_id, size = :size, limit_price = :limit_price,
    stop_price = :stop_price, end_ts = :end_ts, status = :status, filled_size = :filled_size,
    avg_fill_price = :avg_fill_price, fees = :fees, updated_ts = :updated_ts,
    reject_reason = :reject_reason, tag = :tag, trade_ids = :trade_ids
WHERE client_order_id = :client_order_id
"""
_INSERT_FILL = """
INSERT OR IGNORE INTO fills (
    trade_id, client_order_id, order_id, run_id, symbol, side, price, size, fee, liquidity, ts
) VALUES (
    :trade_id, :client_order_id, :order_id, :run_id, :symbol, :side, :price, :size, :fee,
    :liquidity, :ts
)
"""
# The order's trade ids follow its recorded fills, each once, in arrival order.
_ADD_TRADE_ID = """
UPDATE orders SET trade_ids = json_insert(trade_ids, '$[#]', :trade_id)
WHERE client_order_id = :cid
  AND NOT EXISTS (SELECT 1 FROM json_each(orders.trade_ids) WHERE value = :trade_id)
"""
_SAVE_POSITION = """
INSERT OR REPLACE INTO positions (
    symbol, size, avg_entry_price, realized_pnl, fees, funding, mark_price, contract_size,
    liquidation_price, leverage, initial_margin, account_size, updated_ts, run_id
) VALUES (
    :symbol, :size, :avg_entry_price, :realized_pnl, :fees, :funding, :mark_price,
    :contract_size, :liquidation_price, :leverage, :initial_margin, :account_size,
    :updated_ts, :run_id
)
"""


@dataclass(frozen=True, slots=True)
class EventRow:
    """One entry of the event log; ``payload`` is ``to_jsonable(event)``."""

    id: int
    run_id: str
    ts: int
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OperatorAction:
    """An operator command (resume, pause, ...) with when and why; applied by a run later."""

    id: int
    ts: int
    action: str
    reason: str
    applied_run_id: str | None


class Store:
    """SQLite-backed record of runs, events, orders, fills, positions and operator actions.

    Implements :class:`gpt_trader.protocols.OrderJournal`. ``start_run`` makes a run the
    current one: writes that take an optional ``run_id`` default to it.

    Intents are committed to the intent file beside it (:mod:`gpt_trader.store.intents`),
    which only the trading thread writes. The ``orders`` table gets each intent's PENDING
    row from the store writer (:meth:`write_batch`), and from whichever store next reads
    or updates orders (intents the writer had not copied when the process stopped).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Synchronous = "NORMAL",
        create: bool = True,
        autocheckpoint: bool = True,
    ) -> None:
        """``autocheckpoint=False``: this connection leaves folding the WAL back into the
        database to someone calling :meth:`checkpoint` (a run's store writer does, off the
        tick-to-order path), and does it on commit only as a backstop, when that someone
        fell behind and the WAL passed ``BACKSTOP_CHECKPOINT_PAGES`` (SQLite's default is
        1,000 pages, on every connection)."""
        self.path = Path(path)
        self.db = open_db(self.path, synchronous=synchronous, create=create)
        # One lock per file in this process (see _write), looked up once.
        self._lock = _file_lock(self.path)
        if not autocheckpoint:
            self.db.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES};")
        try:
            migrate(self.db)
        except sqlite3.Error as exc:
            self.db.close()
            raise UserError(f"cannot prepare the store {self.path}: {exc}") from None
        self.run_id: str | None = None
        self._closed = False
        try:
            self.intents = IntentFile(
                intents_path(self.path),
                synchronous=synchronous,
                checkpoint_pages=None if autocheckpoint else BACKSTOP_CHECKPOINT_PAGES,
            )
            # the last intent this store copied into orders (or found there)
            self._copied = self.intents.copied_through()
        except (sqlite3.Error, UserError) as exc:
            self.db.close()
            raise UserError(f"cannot prepare the intents of the store {self.path}: {exc}") from None

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- plumbing --------------------------------------------------------------------

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed when the block ends.

        Connections to one file in this process take turns on a Python lock first: a
        thread waiting on it wakes the moment the other commits, where SQLite's own busy
        handler would sleep 1, 2, 5, 10 ms... (the tail of the tick-to-order latency).
        """
        with self._lock, self._transaction(what) as conn:
            yield conn

    def checkpoint(self) -> None:
        """Fold the WAL back into the database. The bulk is copied without holding the
        file (other connections of this process keep committing); a second pass, holding
        it, copies what they added meanwhile, so the checkpoint completes and the WAL
        starts over instead of growing."""
        try:
            self.intents.checkpoint()
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE);")
            with self._lock:
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE);")
        except sqlite3.Error as exc:
            raise StoreError(f"checkpointing {self.path}: {exc}") from exc

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        conn = self.db
        try:
            if conn.in_transaction:
                raise StoreError(f"{what}: a transaction is already open; it would not commit")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{what}: {exc}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{what}: {exc}") from exc
            raise

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._query(sql, params, f"reading the store {self.path}")

    def _select(
        self,
        table: str,
        where: Sequence[str],
        params: Sequence[Any],
        order_by: str,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` matching every ``where`` fragment (``?`` placeholders only)."""
        # Table, fragments and order are the store's own text; values go in as parameters.
        sql = f"SELECT * FROM {table}{_where(where)} ORDER BY {order_by}"  # noqa: S608
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._query(sql, params, f"reading {table} from the store {self.path}")

    def _query(self, sql: str, params: Sequence[Any], what: str) -> list[dict[str, Any]]:
        try:
            cursor = self.db.execute(sql, list(params))
            columns = [c[0] for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor]
        except sqlite3.Error as exc:
            raise StoreError(f"{what}: {exc}") from exc

    def _count(self, table: str, where: Sequence[str], params: Sequence[Any]) -> int:
        try:
            sql = f"SELECT count(*) FROM {table}{_where(where)}"  # noqa: S608 - as in _select
            cursor = self.db.execute(sql, list(params))
            count: int = cursor.fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"counting {table} in the store {self.path}: {exc}") from exc
        return count

    def _run_for(self, run_id: str | None, what: str) -> str:
        run = run_id if run_id is not None else self.run_id
        if run is None:
            raise StoreError(f"{what}: no run; call start_run first or pass run_id")
        return run

    # -- runs ------------------------------------------------------------------------

    def start_run(
        self, run_id: str, profile: str, mode: str, ts: int, resumed_from: str = ""
    ) -> None:
        """Record a new run and make it the current one. A run id is never reused."""
        with self._write(f"starting run {run_id!r}") as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, profile, mode, started_ts, resumed_from) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (run_id, profile, mode, ts, resumed_from),
                )
            except sqlite3.IntegrityError:
                raise StoreError(f"run {run_id!r} already exists") from None
        self.run_id = run_id
        # Before the run sends anything: the intents of earlier runs are in orders now,
        # and later stores start copying after them.
        self.copy_intents()
        try:
            self.intents.mark_copied(self._copied)
        except sqlite3.Error as exc:
            raise StoreError(f"marking the copied intents of {self.path}: {exc}") from exc

    def finish_run(self, run_id: str, ts: int, reason: str, summary: dict[str, Any]) -> None:
        """Record how a run ended; it stops being the current run."""
        payload = _dumps(summary)
        with self._write(f"finishing run {run_id!r}") as conn:
            cur = conn.execute(
                "UPDATE runs SET stopped_ts = ?, stop_reason = ?, summary = ? WHERE run_id = ?",
                (ts, reason, payload, run_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"no run {run_id!r} to finish")
        if self.run_id == run_id:
            self.run_id = None

    def run(self, run_id: str) -> RunRow | None:
        rows = self._rows("SELECT * FROM runs WHERE run_id = ?", [run_id])
        return run_from_row(rows[0]) if rows else None

    def runs(self) -> list[RunRow]:
        """Every run, oldest first."""
        return [
            run_from_row(r) for r in self._rows("SELECT * FROM runs ORDER BY started_ts, rowid")
        ]

    def last_run(self) -> RunRow | None:
        """The most recently started run; unfinished (``stopped_ts`` None) if it crashed."""
        rows = self._rows("SELECT * FROM runs ORDER BY started_ts DESC, rowid DESC LIMIT 1")
        return run_from_row(rows[0]) if rows else None

    # -- orders ----------------------------------------------------------------------

    def record_intent(self, request: OrderRequest, ts: int, run_id: str | None = None) -> None:
        """Record an order as PENDING, committed to the intent file before returning: call
        it before sending. The store's reads of orders include it from then on.

        Raises :class:`~gpt_trader.errors.StoreError` if ``client_order_id`` was ever
        recorded, even for an identical request: an id is never reused, so a retry must be
        reconciled (``order(client_order_id)``), not recorded again.
        """
        cid = request.client_order_id
        what = f"recording the intent {cid!r}"
        run = self._run_for(run_id, what)
        row = intent_row(request, ts, run)
        try:
            self.intents.record(cid, run, row)
        except sqlite3.IntegrityError:
            raise StoreError(
                f"client_order_id {cid!r} is already recorded; an id is never reused"
            ) from None
        except sqlite3.Error as exc:
            raise StoreError(f"{what}: {exc}") from exc

    def copy_intents(self) -> int:
        """Copy into ``orders`` the intents it lacks (as PENDING rows) and return how
        many it lacked; the store's own reads and updates of orders call it first."""
        try:
            pending = self.intents.since(self._copied)
        except sqlite3.Error as exc:
            raise StoreError(f"reading the intents of {self.path}: {exc}") from exc
        if not pending:
            return 0
        known = self._known_orders([row["client_order_id"] for _, row in pending])
        missing = [row for _, row in pending if row["client_order_id"] not in known]
        if missing:
            with self._write(f"copying {len(missing)} intents into the orders") as conn:
                for row in missing:
                    _insert_intent(conn, row)
        self._copied = pending[-1][0]
        return len(missing)

    def _known_orders(self, ids: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            where = _in("client_order_id", chunk)
            sql = f"SELECT client_order_id FROM orders WHERE {where}"  # noqa: S608 - placeholders only
            known.update(r["client_order_id"] for r in self._rows(sql, chunk))
        return known

    def upsert_order(self, order: Order, run_id: str | None = None) -> bool:
        """Insert or update an order; False when the update is stale and was ignored.

        Stale: it would move the order back (a terminal status is final; OPEN or
        PARTIALLY_FILLED never return to PENDING/UNKNOWN) or shrink ``filled_size``.
        A known ``order_id``, ``tag``, ``reject_reason`` or trade id is never blanked out.
        """
        what = f"updating order {order.client_order_id!r}"
        run = self._run_for(run_id, what)
        row = _order_row(order, run)
        self.copy_intents()
        with self._write(what) as conn:
            return _upsert_order(conn, order, row)

    def order(self, client_order_id: str) -> Order | None:
        self.copy_intents()
        rows = self._rows("SELECT * FROM orders WHERE client_order_id = ?", [client_order_id])
        return _order_from(rows[0]) if rows else None

    def orders(
        self, run_id: str | None = None, statuses: Iterable[OrderStatus | str] | None = None
    ) -> list[Order]:
        """Orders, oldest first, optionally of one run and/or in the given statuses."""
        self.copy_intents()
        where: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if statuses is not None:
            wanted = [OrderStatus(s).value for s in statuses]
            where.append(_in("status", wanted))
            params.extend(wanted)
        rows = self._select("orders", where, params, order_by="created_ts, rowid")
        return [_order_from(r) for r in rows]

    def working_orders(self) -> list[Order]:
        """Orders of any run that may still fill or are unanswered: what restart reconciles."""
        return self.orders(statuses=WORKING_STATUSES)

    # -- kernel state ----------------------------------------------------------------

    def record_state(
        self, key: str, value: dict[str, Any] | None, ts: int, run_id: str | None = None
    ) -> None:
        """Keep ``value`` (JSON) under ``key``, or forget the key (None), committed before
        returning: what a restart resumes from (:class:`~gpt_trader.protocols.OrderJournal`)."""
        what = f"recording kernel state {key!r}"
        run = self._run_for(run_id, what)
        with self._write(what) as conn:
            if value is None:
                conn.execute("DELETE FROM kernel_state WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO kernel_state (key, value, run_id, updated_ts) "
                    "VALUES (?, ?, ?, ?)",
                    (key, _dumps(value), run, ts),
                )

    def kernel_state(self) -> dict[str, dict[str, Any]]:
        """Every key :meth:`record_state` keeps, with its value."""
        return {
            r["key"]: json.loads(r["value"])
            for r in self._rows("SELECT key, value FROM kernel_state ORDER BY key")
        }

    # -- fills and positions ---------------------------------------------------------

    def add_fill(self, fill: Fill, run_id: str | None = None) -> bool:
        """Record a fill once, keyed by ``trade_id``, committed before returning.

        True when it is new, False when that trade id was already recorded (duplicate
        message, backfill overlap): apply it to positions only when True.
        """
        what = f"recording fill {fill.trade_id!r}"
        run = self._run_for(run_id, what)
        row = _fill_row(fill, run)
        self.copy_intents()  # the order's row takes the fill's trade id
        with self._write(what) as conn:
            return _insert_fill(conn, row)

    def fills(self, since_ts: int = 0, run_id: str | None = None) -> list[Fill]:
        """Fills with ``ts >= since_ts`` (of one run if given), oldest first."""
        where: list[str] = ["ts >= ?"]
        params: list[Any] = [since_ts]
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        return [fill_from_row(r) for r in self._select("fills", where, params, "ts, rowid")]

    def funding_payments(self, since_ts: int = 0) -> list[FundingPayment]:
        """Recorded funding payments with ``ts >= since_ts``, oldest first."""
        return [
            funding_from_row(r)
            for r in self._select("funding", ["ts >= ?"], [since_ts], "ts, rowid")
        ]

    def save_positions(
        self,
        positions: Iterable[Position],
        run_id: str | None,
        ts: int,
        holdings: Mapping[str, Decimal] | None = None,
    ) -> None:
        """Upsert these positions (by symbol) in one transaction; others are left as they are.
        ``holdings``: what the account held of each spot position's base."""
        held = holdings or {}
        what = "saving positions"
        run = self._run_for(run_id, what)
        rows = [
            {
                "symbol": p.symbol,
                "size": _dec(p.size),
                "avg_entry_price": _dec(p.avg_entry_price),
                "realized_pnl": _dec(p.realized_pnl),
                "fees": _dec(p.fees),
                "funding": _dec(p.funding),
                "mark_price": _dec(p.mark_price),
                "contract_size": _dec(p.contract_size),
                "liquidation_price": ""
                if p.liquidation_price is None
                else _dec(p.liquidation_price),
                "leverage": "" if p.leverage is None else _dec(p.leverage),
                "initial_margin": _dec(p.initial_margin) if p.initial_margin else "",
                "account_size": _dec(held[p.symbol]) if p.symbol in held else "",
                "updated_ts": ts,
                "run_id": run,
            }
            for p in positions
        ]
        if not rows:
            return
        with self._write(what) as conn:
            conn.executemany(_SAVE_POSITION, rows)

    def positions(self) -> list[Position]:
        return [position_from_row(r) for r in self._rows("SELECT * FROM positions ORDER BY symbol")]

    def holdings(self) -> dict[str, Decimal]:
        """What the account held of each spot position's base at the last save."""
        rows = self._rows("SELECT symbol, account_size FROM positions WHERE account_size != ''")
        return {r["symbol"]: Decimal(r["account_size"]) for r in rows}

    # -- products --------------------------------------------------------------------

    def save_products(self, products: Iterable[Product], ts: int) -> None:
        """Record the products a run trades (upsert by symbol; earlier ones stay)."""
        rows = [
            (
                p.symbol,
                p.base,
                p.quote,
                p.product_type.value,
                _dec(p.base_increment),
                _dec(p.price_increment),
                _dec(p.quote_increment),
                _dec(p.base_min_size),
                _dec(p.base_max_size),
                _dec(p.quote_min_size),
                _dec(p.contract_size),
                ts,
            )
            for p in products
        ]
        if not rows:
            return
        with self._write("recording the products") as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO products (symbol, base, quote, product_type, "
                "base_increment, price_increment, quote_increment, base_min_size, "
                "base_max_size, quote_min_size, contract_size, updated_ts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def products(self) -> dict[str, Product]:
        """Every product a run on this store traded, by symbol (the latest listing)."""
        return {
            p.symbol: p
            for p in map(product_from_row, self._rows("SELECT * FROM products ORDER BY symbol"))
        }

    # -- inventory adjustments -------------------------------------------------------

    def record_adjustment(self, adjustment: InventoryAdjustment, run_id: str | None = None) -> None:
        """Record an adopted holding or a shrink, committed before returning."""
        what = f"recording an inventory adjustment of {adjustment.symbol}"
        run = self._run_for(run_id, what)
        with self._write(what) as conn:
            conn.execute(
                "INSERT INTO inventory_adjustments "
                "(run_id, ts, symbol, kind, size, price, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run,
                    adjustment.ts,
                    adjustment.symbol,
                    adjustment.kind,
                    _dec(adjustment.size),
                    _dec(adjustment.price),
                    adjustment.reason,
                ),
            )

    def adjustments(self) -> list[InventoryAdjustment]:
        """Every inventory adjustment, oldest first."""
        return [
            adjustment_from_row(r)
            for r in self._rows("SELECT * FROM inventory_adjustments ORDER BY ts, id")
        ]

    # -- event log -------------------------------------------------------------------

    def write_batch(
        self,
        run_id: str,
        rows: Sequence[EncodedEvent],
        orders: Sequence[Order] = (),
        fills: Sequence[Fill] = (),
        funding: Sequence[FundingPayment] = (),
        intents: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Intents (:func:`intent_row`, copied into orders unless there), orders, fills
        and encoded events (:func:`encode_events`) in ONE transaction: the sink's batched
        path. Orders apply in sequence with the same stale-update rule as
        :meth:`upsert_order`; fills are inserted once by trade id."""
        # Rows are built before the transaction: other writers of the file wait for it.
        fill_rows = [_fill_row(fill, run_id) for fill in fills]
        funding_rows = [
            (
                payment.payment_id,
                run_id,
                payment.symbol,
                payment.ts,
                _dec(payment.rate),
                _dec(payment.mark_price),
                _dec(payment.size),
                _dec(payment.contract_size),
                _dec(payment.amount),
                payment.currency,
            )
            for payment in funding
        ]
        order_rows = [(order, _order_row(order, run_id)) for order in orders]
        with self._write(f"writing a batch of {len(rows)} events") as conn:
            for intent in intents:
                _insert_intent(conn, intent)
            for row in fill_rows:
                _insert_fill(conn, row)
            if funding_rows:
                conn.executemany(
                    "INSERT OR IGNORE INTO funding (payment_id, run_id, symbol, ts, rate, "
                    "mark_price, size, contract_size, amount, currency) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    funding_rows,
                )
            for order, row in order_rows:
                _upsert_order(conn, order, row)
            _insert_events(conn, rows)

    def append_events(self, run_id: str, events: Sequence[Event]) -> None:
        """Append events to the log in one transaction (``payload = to_jsonable(event)``)."""
        if not events:
            return
        rows = encode_events(run_id, events)
        with self._write(f"appending {len(rows)} events") as conn:
            _insert_events(conn, rows)

    def events(
        self,
        run_id: str | None = None,
        types: str | Iterable[str] | None = None,
        limit: int | None = None,
        *,
        since_id: int = 0,
        newest_first: bool = False,
    ) -> list[EventRow]:
        """Logged events with ``id > since_id``, in log order (or newest first)."""
        where: list[str] = ["id > ?"]
        params: list[Any] = [since_id]
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if types is not None:
            wanted = [types] if isinstance(types, str) else list(types)
            where.append(_in("type", wanted))
            params.extend(wanted)
        order = "id DESC" if newest_first else "id"
        return [
            EventRow(r["id"], r["run_id"], r["ts"], r["type"], json.loads(r["payload"]))
            for r in self._select("events", where, params, order, limit)
        ]

    # -- operator actions ------------------------------------------------------------

    def record_operator_action(self, ts: int, action: str, reason: str) -> int:
        """Record an operator command (e.g. ``resume``) with its reason; returns its id."""
        with self._write(f"recording operator action {action!r}") as conn:
            cur = conn.execute(
                "INSERT INTO operator_actions (ts, action, reason) VALUES (?, ?, ?)",
                (ts, action, reason),
            )
            action_id = cur.lastrowid
        assert action_id is not None
        return action_id

    def mark_operator_action_applied(self, action_id: int, run_id: str) -> None:
        with self._write(f"marking operator action {action_id} applied") as conn:
            conn.execute(
                "UPDATE operator_actions SET applied_run_id = ? WHERE id = ?", (run_id, action_id)
            )

    def operator_actions(
        self, since_id: int = 0, *, pending_only: bool = False
    ) -> list[OperatorAction]:
        where = ["id > ?"]
        if pending_only:
            where.append("applied_run_id IS NULL")
        return [
            OperatorAction(r["id"], r["ts"], r["action"], r["reason"], r["applied_run_id"])
            for r in self._select("operator_actions", where, [since_id], "id")
        ]

    # -- summaries -------------------------------------------------------------------

    def counts(self, run_id: str | None = None) -> dict[str, Any]:
        """``{"runs": n, "orders": {status: n}, "working_orders": n, "fills": n, "events": n}``."""
        self.copy_intents()
        where, params = (["run_id = ?"], [run_id]) if run_id is not None else ([], [])
        group = (
            "SELECT status, count(*) AS n FROM orders WHERE run_id = ? GROUP BY status"
            if run_id is not None
            else "SELECT status, count(*) AS n FROM orders GROUP BY status"
        )
        by_status = {r["status"]: int(r["n"]) for r in self._rows(group, params)}

        def count(table: str) -> int:
            return self._count(table, where, params)

        return {
            "runs": count("runs"),
            "orders": by_status,
            "working_orders": sum(by_status.get(s.value, 0) for s in WORKING_STATUSES),
            "fills": count("fills"),
            "events": count("events"),
        }

    # -- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.intents.close()
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- conversions -------------------------------------------------------------------------


def _dec(value: Decimal) -> str:
    """Exact text for a money value; a float here is a bug upstream, not a rounding choice."""
    if isinstance(value, float):
        raise TypeError(f"money must be Decimal, not float ({value!r})")
    if isinstance(value, Decimal) and value.is_finite() and int(value.as_tuple().exponent) <= 0:
        return format(value, "f")  # "0.00000001", not "1E-8": same digits and exponent
    return str(value)


def _dec_or_none(value: Decimal | None) -> str | None:
    return None if value is None else _dec(value)


def _opt_dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _where(fragments: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(fragments)}" if fragments else ""


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join('?' * len(values))})"


EncodedEvent = tuple[str, int, str, str]


def encode_events(run_id: str, events: Sequence[Event]) -> list[EncodedEvent]:
    """Rows for the event log: ``(run_id, ts, type, JSON payload)``."""
    return [(run_id, e.ts, e.type, _dumps(e)) for e in events]


def _dumps(value: Any) -> str:
    return _encode(to_jsonable(value))


# One encoder for the process: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _is_stale(status: OrderStatus, filled: Decimal, new: Order) -> bool:
    if new.filled_size < filled:
        return True
    if new.status is status:
        return False
    if status.is_terminal:
        return True
    return _PROGRESS[new.status] < _PROGRESS[status]


def _order_row(order: Order, run_id: str) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id,
        "run_id": run_id,
        "order_id": order.order_id,
        "symbol": order.symbol,
        "side": _member_value(order.side, Side),
        "order_type": _member_value(order.order_type, OrderType),
        "time_in_force": _member_value(order.time_in_force, TimeInForce),
        "size": _dec(order.size),
        "limit_price": _dec_or_none(order.limit_price),
        "stop_price": _dec_or_none(order.stop_price),
        "end_ts": order.end_ts,
        "leverage": None,
        "status": _member_value(order.status, OrderStatus),
        "filled_size": _dec(order.filled_size),
        "avg_fill_price": _dec(order.avg_fill_price),
        "fees": _dec(order.fees),
        "created_ts": order.created_ts,
        "updated_ts": order.updated_ts,
        "reject_reason": _stored_reason(order.status, order.reject_reason),
        "tag": order.tag,
        "post_only": int(order.post_only),
        "reduce_only": int(order.reduce_only),
        "trade_ids": json.dumps(list(order.trade_ids)) if order.trade_ids else "[]",
    }


def _member_value(value: Any, kind: type[StrEnum]) -> str:
    """``kind(value).value``, without the lookup by value when ``value`` is a member
    already (an intent's row is built on the tick-to-order path)."""
    return str(value.value) if type(value) is kind else str(kind(value).value)


def _order_from(r: dict[str, Any]) -> Order:
    order = Order(
        client_order_id=r["client_order_id"],
        symbol=r["symbol"],
        side=Side(r["side"]),
        size=Decimal(r["size"]),
        order_type=OrderType(r["order_type"]),
        time_in_force=TimeInForce(r["time_in_force"]),
        status=OrderStatus(r["status"]),
        order_id=r["order_id"],
        limit_price=_opt_dec(r["limit_price"]),
        stop_price=_opt_dec(r["stop_price"]),
        post_only=bool(r["post_only"]),
        reduce_only=bool(r["reduce_only"]),
        end_ts=r["end_ts"],
        filled_size=Decimal(r["filled_size"]),
        avg_fill_price=Decimal(r["avg_fill_price"]),
        fees=Decimal(r["fees"]),
        created_ts=r["created_ts"],
        updated_ts=r["updated_ts"],
        reject_reason=r["reject_reason"],
        tag=r["tag"],
        trade_ids=tuple(json.loads(r["trade_ids"])),
    )
    # Rows written before reasons were typed read as their member (UNKNOWN for free text).
    order.reject_reason = _stored_reason(order.status, order.reject_reason)
    return order


def _stored_reason(status: OrderStatus, text: str) -> str:
    """A refusal as its typed reason, never a venue's or an error's text; other notes (a
    cancel message, the error of an unknown submit) as they are."""
    return RejectReason.of(text) if status is OrderStatus.REJECTED else text


def _upsert_order(conn: sqlite3.Connection, order: Order, row: dict[str, Any]) -> bool:
    """Apply ``order`` (``row`` is its :func:`_order_row`) unless the update is stale."""
    cid = order.client_order_id
    current = conn.execute(
        "SELECT status, filled_size, order_id, tag, reject_reason, trade_ids "
        "FROM orders WHERE client_order_id = ?",
        (cid,),
    ).fetchone()
    if current is None:
        conn.execute(_INSERT_ORDER, row)
        # Fills of a venue-originated order (a liquidation) can arrive before the order.
        _add_recorded_trade_ids(conn, cid)
        return True
    status, filled, order_id, tag, reject_reason, trade_ids = current
    if _is_stale(OrderStatus(status), Decimal(filled), order):
        return False
    known: list[str] = json.loads(trade_ids)
    known.extend(t for t in order.trade_ids if t not in known)
    row["trade_ids"] = json.dumps(known)
    row["order_id"] = order.order_id or order_id
    row["tag"] = order.tag or tag
    row["reject_reason"] = _stored_reason(order.status, order.reject_reason or reject_reason)
    conn.execute(_UPDATE_ORDER, row)
    return True


def intent_row(request: OrderRequest, ts: int, run_id: str) -> dict[str, Any]:
    """The PENDING ``orders`` row of an intent: what the intent file keeps and the store
    writer copies from the run's ``order.intent`` events."""
    row = _order_row(Order.from_request(request, ts), run_id)
    row["leverage"] = _dec_or_none(request.leverage)
    return row


def _insert_intent(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    """Add an intent's PENDING row unless the order is recorded, with the trade ids of
    fills recorded before it."""
    if conn.execute(_INSERT_INTENT, row).rowcount == 1:
        _add_recorded_trade_ids(conn, row["client_order_id"])


def _add_recorded_trade_ids(conn: sqlite3.Connection, cid: str) -> None:
    for (trade_id,) in conn.execute(
        "SELECT trade_id FROM fills WHERE client_order_id = ? ORDER BY ts, rowid", (cid,)
    ).fetchall():
        conn.execute(_ADD_TRADE_ID, {"cid": cid, "trade_id": trade_id})


def _fill_row(fill: Fill, run_id: str) -> dict[str, Any]:
    return {
        "trade_id": fill.trade_id,
        "client_order_id": fill.client_order_id,
        "order_id": fill.order_id,
        "run_id": run_id,
        "symbol": fill.symbol,
        "side": Side(fill.side).value,
        "price": _dec(fill.price),
        "size": _dec(fill.size),
        "fee": _dec(fill.fee),
        "liquidity": Liquidity(fill.liquidity).value,
        "ts": fill.ts,
    }


def _insert_fill(conn: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """Insert a :func:`_fill_row` unless its trade id is recorded; True when it was new."""
    if conn.execute(_INSERT_FILL, row).rowcount != 1:
        return False
    conn.execute(_ADD_TRADE_ID, {"cid": row["client_order_id"], "trade_id": row["trade_id"]})
    return True


# Events per INSERT statement: one statement for a whole batch (each statement is a trip
# out of the GIL and back, and the trading thread's writes to the store's file wait for the
# batch's transaction), well under SQLite's limit of 32,766 parameters.
EVENTS_PER_INSERT = 256


def _insert_events(conn: sqlite3.Connection, rows: Sequence[EncodedEvent]) -> None:
    for start in range(0, len(rows), EVENTS_PER_INSERT):
        chunk = rows[start : start + EVENTS_PER_INSERT]
        conn.execute(_insert_events_sql(len(chunk)), [v for row in chunk for v in row])


@functools.cache
def _insert_events_sql(n: int) -> str:
    values = ", ".join(["(?, ?, ?, ?)"] * n)
    return f"INSERT INTO events (run_id, ts, type, payload) VALUES {values}"  # noqa: S608 - placeholders only


_FILE_LOCKS: dict[Path, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    key = path.resolve()
    with _FILE_LOCKS_GUARD:
        lock = _FILE_LOCKS.get(key)
        if lock is None:
            lock = _FILE_LOCKS[key] = threading.Lock()
        return lock
