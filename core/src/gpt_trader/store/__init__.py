"""SQLite store: runs, event log, orders, fills, positions, operator actions; migrations.

Names are imported lazily: importing :mod:`gpt_trader.store.plugin` (plugin discovery, on
every CLI command) must not pay for the store's modules and ``sqlite3``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt_trader.store.db import default_db_path, open_db
    from gpt_trader.store.intents import intents_path
    from gpt_trader.store.jsonl import JsonlSink
    from gpt_trader.store.rows import RunRow
    from gpt_trader.store.sink import StoreSink
    from gpt_trader.store.store import (
        WORKING_STATUSES,
        EventRow,
        OperatorAction,
        Store,
    )

_WHERE = {
    "default_db_path": "gpt_trader.store.db",
    "open_db": "gpt_trader.store.db",
    "intents_path": "gpt_trader.store.intents",
    "JsonlSink": "gpt_trader.store.jsonl",
    "StoreSink": "gpt_trader.store.sink",
    "WORKING_STATUSES": "gpt_trader.store.store",
    "EventRow": "gpt_trader.store.store",
    "OperatorAction": "gpt_trader.store.store",
    "RunRow": "gpt_trader.store.rows",
    "Store": "gpt_trader.store.store",
}

__all__ = [
    "WORKING_STATUSES",
    "EventRow",
    "JsonlSink",
    "OperatorAction",
    "RunRow",
    "Store",
    "StoreSink",
    "default_db_path",
    "intents_path",
    "open_db",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
