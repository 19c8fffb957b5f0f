"""An in-memory order journal for backtests, where nothing survives the process anyway."""

from __future__ import annotations

from typing import Any

from gpt_trader.domain import Fill, FundingPayment, InventoryAdjustment, Order, OrderRequest
from gpt_trader.errors import StoreError


class MemoryJournal:
    """Same contract as the SQLite store's journal: an id is never accepted twice."""

    def __init__(self) -> None:
        self._intents: set[str] = set()  # the ids recorded (nothing reads the rest back)
        self._adjustments: list[InventoryAdjustment] = []
        self._state: dict[str, dict[str, Any]] = {}

    def record_intent(self, request: OrderRequest, ts: int) -> None:
        if request.client_order_id in self._intents:
            raise StoreError(f"client_order_id {request.client_order_id!r} was already used")
        self._intents.add(request.client_order_id)

    def working_orders(self) -> list[Order]:
        return []

    def fills(self) -> list[Fill]:
        return []

    def adjustments(self) -> list[InventoryAdjustment]:
        return list(self._adjustments)

    def record_adjustment(self, adjustment: InventoryAdjustment) -> None:
        self._adjustments.append(adjustment)

    def funding_payments(self) -> list[FundingPayment]:
        return []

    def record_state(self, key: str, value: dict[str, Any] | None, ts: int) -> None:
        if value is None:
            self._state.pop(key, None)
        else:
            self._state[key] = value

    def kernel_state(self) -> dict[str, dict[str, Any]]:
        return dict(self._state)
