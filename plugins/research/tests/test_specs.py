"""Command-line component specs and search spaces."""

from __future__ import annotations

import pytest
from gpt_trader.errors import UserError
from gpt_trader_research.specs import ComponentArg, parse_component, parse_space


def test_name_and_params() -> None:
    arg = parse_component("sma_cross:fast=10,slow=30")
    assert arg == ComponentArg("sma_cross", {"fast": "10", "slow": "30"})
    assert arg.ref() == {"use": "sma_cross", "fast": "10", "slow": "30"}
    assert arg.label() == "sma_cross:fast=10,slow=30"
    assert parse_component("majority") == ComponentArg("majority", {})


def test_json_and_quoted_values() -> None:
    arg = parse_component('weighted:weights={"rsi": 2, "macd_cross": 1},threshold=0.2', "voter")
    assert arg.params == {"weights": {"rsi": 2, "macd_cross": 1}, "threshold": "0.2"}
    assert parse_component("x.y:name='a,b'").params == {"name": "a,b"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "NAME"),
        ("SMA", "lower-case"),
        ("sma_cross:fast", "bad parameter 'fast'"),
        ("sma_cross:fast=", "bad parameter"),
        ("sma_cross:=3", "bad parameter"),
        ("sma_cross:fast=1,fast=2", "given twice"),
        ("sma_cross:", "nothing after ':'"),
        ("weighted:weights={oops", "not valid JSON"),
    ],
)
def test_bad_specs_are_one_line_errors(text: str, needle: str) -> None:
    with pytest.raises(UserError, match="--signal") as err:
        parse_component(text)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_spaces() -> None:
    sigs = [parse_component("sma_cross")]
    d = parse_space("fast=5:50", sigs)
    assert (d.kind, d.low, d.high, d.step, d.target) == ("int", 5, 50, None, 0)
    d = parse_space("fast=5:50:5", sigs)
    assert d.step == 5
    d = parse_space("alpha=0.01:1:log", sigs)
    assert (d.kind, d.log) == ("float", True)
    d = parse_space("period=7,14,21", sigs)
    assert (d.kind, d.choices) == ("choice", (7, 14, 21))
    two = [parse_component("rsi"), parse_component("macd_cross")]
    assert parse_space("macd_cross.fast=5:20", two).target == 1
    assert parse_space("1.fast=5:20", two).target == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("fast", "expected key"),
        ("fast=50:5", "below low"),
        ("fast=1:2:3:4", "low:high"),
        ("fast=0:5:log", "low > 0"),
        ("nope.fast=1:5", "no --signal named"),
        ("fast=a:b", "--space"),
    ],
)
def test_bad_spaces(text: str, needle: str) -> None:
    with pytest.raises(UserError) as err:
        parse_space(text, [parse_component("sma_cross")])
    assert needle in str(err.value)


def test_several_signals_need_a_qualified_key() -> None:
    with pytest.raises(UserError, match="name the signal"):
        parse_space("fast=1:5", [parse_component("rsi"), parse_component("macd_cross")])
