"""What Coinbase says about an order that the domain Order does not carry.

The echo of the request's ``order_configuration`` (a quote-sized market buy stays quote-sized
on the wire), the edit history, whether a cancel was asked for. Keyed by venue order id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class OrderMeta:
    order_id: str
    config_key: str
    config: dict[str, Any]
    size_in_quote: bool = False
    quote_size: Decimal | None = None
    stop_direction: str = ""
    leverage: str = ""
    margin_type: str = "UNKNOWN_MARGIN_TYPE"
    edit_history: list[dict[str, str]] = field(default_factory=list)
    cancel_requested: bool = False
    cancel_message: str = ""

    def configuration(self) -> dict[str, Any]:
        return {self.config_key: dict(self.config)}


class OrderMetaStore:
    def __init__(self) -> None:
        self._by_id: dict[str, OrderMeta] = {}

    def put(self, meta: OrderMeta) -> None:
        self._by_id[meta.order_id] = meta

    def get(self, order_id: str) -> OrderMeta | None:
        return self._by_id.get(order_id)

    def __contains__(self, order_id: str) -> bool:
        return order_id in self._by_id

    def all(self) -> list[OrderMeta]:
        return list(self._by_id.values())
