from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import (
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from gpt_trader.store import Store


class Build:
    """Builders for domain objects (importlib mode: tests cannot import a helper module)."""

    @staticmethod
    def request(cid: str = "c-1", **kw: Any) -> OrderRequest:
        values: dict[str, Any] = {
            "client_order_id": cid,
            "symbol": "BTC-USD",
            "side": Side.BUY,
            "size": Decimal("0.00000001"),
            "order_type": OrderType.LIMIT,
            "limit_price": Decimal("105573.73"),
            "time_in_force": TimeInForce.GTC,
            "tag": "sma",
        }
        values.update(kw)
        return OrderRequest(**values)

    @staticmethod
    def order(cid: str = "c-1", status: OrderStatus = OrderStatus.OPEN, **kw: Any) -> Order:
        o = Order.from_request(Build.request(cid), 2_000)
        o.status = status
        o.order_id = "venue-1"
        o.updated_ts = 3_000
        for key, value in kw.items():
            setattr(o, key, value)
        return o

    @staticmethod
    def fill(trade_id: str = "t-1", cid: str = "c-1", ts: int = 4_000, **kw: Any) -> Fill:
        values: dict[str, Any] = {
            "trade_id": trade_id,
            "client_order_id": cid,
            "order_id": "venue-1",
            "symbol": "BTC-USD",
            "side": Side.BUY,
            "price": Decimal("105573.73"),
            "size": Decimal("0.00000001"),
            "fee": Decimal("0.0000063344238"),
            "liquidity": Liquidity.MAKER,
            "ts": ts,
        }
        values.update(kw)
        return Fill(**values)


@pytest.fixture
def build() -> type[Build]:
    return Build


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "gpt_trader.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(db_path)
    s.start_run("run-1", "dev", "backtest", 1_000)
    yield s
    s.close()
