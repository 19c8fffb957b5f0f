"""The plain JSON the store logs for an event (to_jsonable converts by type, decided once
per type): the shape every reader of the event log relies on."""

from __future__ import annotations

from decimal import Decimal

from gpt_trader.domain import Side
from gpt_trader.domain.decisions import Action, SignalValue, TradingState
from gpt_trader.domain.events import RunStopped, SignalEmitted, TradingStateChanged, to_jsonable


def test_an_event_is_plain_json_with_its_type() -> None:
    event = SignalEmitted(7, signal=SignalValue("sma", "BTC-USD", 7, Action.LONG, 0.5))
    assert to_jsonable(event) == {
        "ts": 7,
        "signal": {
            "name": "sma",
            "symbol": "BTC-USD",
            "ts": 7,
            "action": "LONG",  # an int-valued enum by name
            "strength": 0.5,
            "reason": "",
            "kind": "SignalValue",  # a value that is not an event says what it is
        },
        "type": "signal",
    }


def test_values_inside_containers_are_converted_too() -> None:
    summary = {
        "fees": Decimal("1E-8"),
        3: (Side.SELL, [TradingState.HALTED, None, True]),
    }
    assert to_jsonable(RunStopped(1, "run-1", "done", summary))["summary"] == {
        "fees": "0.00000001",
        "3": ["SELL", ["HALTED", None, True]],
    }


def test_enum_fields_of_an_event() -> None:
    change = TradingStateChanged(2, TradingState.REDUCE_ONLY, TradingState.HALTED, "loss")
    assert to_jsonable(change) == {
        "ts": 2,
        "old": "REDUCE_ONLY",
        "new": "HALTED",
        "reason": "loss",
        "operator": False,
        "type": "trading_state",
    }
