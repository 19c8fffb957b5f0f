"""JSON form of the simulator's state: orders, fills, amounts; atomic file writes.

Used by :meth:`SimExchange.to_state` / :meth:`SimExchange.load_state` and by the sim
broker's ``state_file``, so that a restarted bot finds the same simulated exchange.
Every Decimal is written as its exact string and read back unchanged.
"""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gpt_trader.domain import Fill, Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from gpt_trader.errors import UserError

STATE_VERSION = 1


def dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def undec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def need_dec(value: Any) -> Decimal:
    out = undec(value)
    if out is None:
        raise ValueError("missing amount")
    return out


def order_to_json(o: Order) -> dict[str, Any]:
    return {
        "client_order_id": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "size": dec(o.size),
        "order_type": o.order_type.value,
        "time_in_force": o.time_in_force.value,
        "status": o.status.value,
        "order_id": o.order_id,
        "limit_price": dec(o.limit_price),
        "stop_price": dec(o.stop_price),
        "post_only": o.post_only,
        "reduce_only": o.reduce_only,
        "end_ts": o.end_ts,
        "filled_size": dec(o.filled_size),
        "avg_fill_price": dec(o.avg_fill_price),
        "fees": dec(o.fees),
        "created_ts": o.created_ts,
        "updated_ts": o.updated_ts,
        "reject_reason": o.reject_reason,
        "tag": o.tag,
        "trade_ids": list(o.trade_ids),
    }


def order_from_json(d: dict[str, Any]) -> Order:
    return Order(
        client_order_id=str(d["client_order_id"]),
        symbol=str(d["symbol"]),
        side=Side(d["side"]),
        size=need_dec(d["size"]),
        order_type=OrderType(d["order_type"]),
        time_in_force=TimeInForce(d["time_in_force"]),
        status=OrderStatus(d["status"]),
        order_id=str(d["order_id"]),
        limit_price=undec(d.get("limit_price")),
        stop_price=undec(d.get("stop_price")),
        post_only=bool(d.get("post_only", False)),
        reduce_only=bool(d.get("reduce_only", False)),
        end_ts=None if d.get("end_ts") is None else int(d["end_ts"]),
        filled_size=need_dec(d["filled_size"]),
        avg_fill_price=need_dec(d["avg_fill_price"]),
        fees=need_dec(d["fees"]),
        created_ts=int(d["created_ts"]),
        updated_ts=int(d["updated_ts"]),
        reject_reason=str(d.get("reject_reason", "")),
        tag=str(d.get("tag", "")),
        trade_ids=tuple(str(t) for t in d.get("trade_ids", [])),
    )


def fill_to_json(f: Fill) -> dict[str, Any]:
    return {
        "trade_id": f.trade_id,
        "client_order_id": f.client_order_id,
        "order_id": f.order_id,
        "symbol": f.symbol,
        "side": f.side.value,
        "price": dec(f.price),
        "size": dec(f.size),
        "fee": dec(f.fee),
        "liquidity": f.liquidity.value,
        "ts": f.ts,
    }


def fill_from_json(d: dict[str, Any]) -> Fill:
    return Fill(
        trade_id=str(d["trade_id"]),
        client_order_id=str(d["client_order_id"]),
        order_id=str(d["order_id"]),
        symbol=str(d["symbol"]),
        side=Side(d["side"]),
        price=need_dec(d["price"]),
        size=need_dec(d["size"]),
        fee=need_dec(d["fee"]),
        liquidity=Liquidity(d["liquidity"]),
        ts=int(d["ts"]),
    )


def write_json_atomic(path: Path, data: dict[str, Any], *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, whole.

    The JSON goes to a temporary file in the same folder, then ``os.replace`` swaps it in:
    a process that dies at any point leaves a complete file. ``fsync=True`` also survives
    an OS crash or power loss, at a few milliseconds per write (the sim broker does not
    need it: its state is a simulation, and it writes after every change).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`UserError` (one line) if it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read sim state {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(
            f"sim state {path} is not valid JSON ({exc}); delete it to start afresh"
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"sim state {path} is not a JSON object; delete it to start afresh")
    return data


def state_error(path: Path | str, exc: Exception) -> UserError:
    """A one-line error for a state file whose content does not fit the simulator."""
    kind = "missing field" if isinstance(exc, KeyError) else type(exc).__name__
    if isinstance(exc, InvalidOperation):
        kind = "bad amount"
    return UserError(f"sim state {path} is damaged ({kind}: {exc}); delete it to start afresh")
