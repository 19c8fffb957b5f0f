"""An in-memory order journal for backtests, where nothing survives the process anyway."""

from __future__ import annotations

from gpt_trader.domain import Fill, Order, OrderRequest
from gpt_trader.errors import StoreError


class MemoryJournal:
    """Same contract as the SQLite store's journal: an id is never accepted twice."""

    def __init__(self) -> None:
        self._intents: dict[str, Order] = {}

    def record_intent(self, request: OrderRequest, ts: int) -> None:
        if request.client_order_id in self._intents:
            raise StoreError(f"client_order_id {request.client_order_id!r} was already used")
        self._intents[request.client_order_id] = Order.from_request(request, ts)

    def working_orders(self) -> list[Order]:
        return []

    def fills(self) -> list[Fill]:
        return []
