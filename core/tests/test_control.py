"""``gpt_trader.control.record``: the one way any front end records an operator action."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpt_trader.control import record
from gpt_trader.errors import UserError
from gpt_trader.store import Store


def test_an_action_is_recorded_pending_in_the_bots_store(tmp_path: Path) -> None:
    Store(tmp_path / "gpt_trader.db").close()
    action_id = record(tmp_path, "pause", "exchange maintenance")
    store = Store(tmp_path / "gpt_trader.db", create=False)
    try:
        (pending,) = store.operator_actions(pending_only=True)
    finally:
        store.close()
    assert (pending.id, pending.action, pending.reason) == (
        action_id,
        "pause",
        "exchange maintenance",
    )


def test_no_store_and_an_unknown_action_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no store in"):
        record(tmp_path, "pause", "why")
    Store(tmp_path / "gpt_trader.db").close()
    with pytest.raises(UserError, match="unknown operator action 'sell-everything'"):
        record(tmp_path, "sell-everything", "why")
