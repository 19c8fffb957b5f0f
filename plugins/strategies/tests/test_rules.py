"""Declarative rules: the grammar, three-valued warm-up, equality with the built-in signals
they spell out, and one-line errors naming the column of a bad expression."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.decisions import Action
from gpt_trader.domain.market import NS, Candle
from gpt_trader_strategies.channels import Bollinger, Donchian, ZScore
from gpt_trader_strategies.rules import Rule, RuleError, RuleParams, compile_rule
from gpt_trader_strategies.signals import BarSignal
from pydantic import ValidationError

SYMBOL = "BTC-USD"
T0 = 1_747_699_200 * NS
Data = tuple[BarSeries, list[Candle]]


def evaluate(text: str, bars: Sequence[tuple[float, float, float, float]]) -> list[object]:
    """The ``long`` condition's value at each bar (indicators fed as a Rule feeds them)."""
    rule = compile_rule(text, "close < 0")
    env: list[float | None] = [None] * len(rule.feeds)
    out = []
    for bar in bars:
        for i, f in enumerate(rule.feeds):
            env[i] = f(bar)
        out.append(rule.long(bar, env))
    return out


def test_arithmetic_precedence_and_logic() -> None:
    bar = [(12.0, 8.0, 10.0, 5.0)]
    assert evaluate("close == 10", bar) == [True]
    assert evaluate("-close + 2 * 3 == -4", bar) == [True]
    assert evaluate("(high - low) / 2 == 2", bar) == [True]
    assert evaluate("close / (volume - 5) > 0", bar) == [None]  # division by zero: unknown
    assert evaluate("close > 5 and volume < 1 or high == 12", bar) == [True]  # and binds tighter
    assert evaluate("close > 5 and not (volume < 1 or high == 12)", bar) == [False]
    assert evaluate("not not close > 11", bar) == [False]
    assert evaluate(".5 * 20 <= close and close >= 10.", bar) == [True]


def test_warm_up_is_unknown_and_logic_is_three_valued() -> None:
    bars = [(p, p, p, 1.0) for p in (1.0, 2.0, 3.0)]
    assert evaluate("sma(2) > 1", bars) == [None, True, True]
    assert evaluate("not sma(2) > 1", bars) == [None, False, False]
    assert evaluate("sma(3) > 100 and close > 100", bars) == [False, False, False]
    assert evaluate("sma(3) > 100 or close > 1", bars) == [None, True, True]
    assert evaluate("highest(2) < close", bars) == [None, None, True]  # of the bars before


def test_indicator_calls_share_one_instance() -> None:
    rule = compile_rule("rsi(14) < 30 and close > sma(200)", "rsi(14) > 55 or rsi() > 90")
    assert len(rule.feeds) == 2  # rsi(14) (rsi() is rsi(14)) and sma(200)
    rule = compile_rule("sma(20, volume) > sma(20)", "close < 0")
    assert len(rule.feeds) == 2


def actions(signal: BarSignal, bars: BarSeries) -> list[int]:
    return signal.compute(bars)


@pytest.mark.parametrize(
    ("long", "flat", "builtin"),
    [
        ("close > bb_upper(20, 2)", "close < sma(20)", lambda: Bollinger(SYMBOL)),
        ("zscore(20) < -2", "zscore(20) > 0", lambda: ZScore(SYMBOL)),
        ("close > highest(20)", "close < lowest(10)", lambda: Donchian(SYMBOL)),
    ],
)
def test_a_rule_spelling_a_builtin_signal_acts_like_it(
    sample: Data, long: str, flat: str, builtin: object
) -> None:
    bars, candles = sample
    rule = Rule(SYMBOL, long=long, flat=flat)
    expected = actions(builtin(), bars)  # type: ignore[operator]
    assert actions(rule, bars) == expected
    assert sum(1 for a in expected if a != 2) >= 10
    fed = Rule(SYMBOL, long=long, flat=flat)
    incremental = [2 if (v := fed.update(c)) is None else int(v.action) for c in candles]
    assert incremental == expected


def test_strength_expression_is_clamped() -> None:
    rule = Rule(SYMBOL, long="close > 10", flat="close < 5", strength="close / 20", name="mine")
    cs = [
        Candle(SYMBOL, T0 + i * 60 * NS, *(Decimal(p),) * 4, Decimal(1), 60)
        for i, p in enumerate((12, 4, 30))
    ]
    got = [rule.update(c) for c in cs]
    assert [(v.name, v.action, v.strength) for v in got if v] == [
        ("mine", Action.LONG, 0.6),
        ("mine", Action.FLAT, 0.2),
        ("mine", Action.LONG, 1.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rsi(14) < 30 and clsoe > sma(200)", "unknown name 'clsoe' at column 18 of 'rsi(14) < 30 and clsoe > sma(200)'; sources: high, low, close"),
        ("rsi(14 < 30", "expected ',', found '<' at column 8"),
        ("close >", "expected a number, a source, a function or '(', found the end at column 8"),
        ("close > 1 1", "unexpected '1' at column 11"),
        ("close $ 3", "unexpected character '$' at column 7"),
        ("__import__('os').system('x')", "unexpected character \"'\" at column 12"),
        ("close.real > 1", "unexpected character '.' at column 6"),
        ("sma(0) > 1", "sma() period must be a whole number in 1..100000 at column 1"),
        ("close > sma(20.5)", "sma() period must be a whole number in 1..100000 at column 9"),
        ("sma() > 1", "sma() needs a period at column 1"),
        ("rsi(14, 3) > 1", "rsi() takes at most 1 numbers at column 1"),
        ("sma(20, vol) > 1", "sma() takes a number or a source here at column 9"),
        ("atr(14, close) > 1", "atr() takes a number here at column 9"),
        ("macd(26, 12) > 0", "macd(): fast (26) must be less than slow (12) at column 1"),
        ("(close > 1", "expected ')', found the end at column 11"),
        ("and close", "expected a number, a source, a function or '(', found 'and' at column 1"),
    ],
)  # fmt: skip
def test_bad_expressions_name_the_column(text: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        compile_rule(text, "close < 0")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_params_check_every_expression() -> None:
    with pytest.raises(ValidationError, match=r"flat\n.*unknown name 'rsx' at column 1"):
        RuleParams(long="close > 0", flat="rsx(14) > 55")
    with pytest.raises(ValidationError, match="strength"):
        RuleParams(long="close > 0", flat="close < 0", strength="1 +")
    with pytest.raises(ValidationError, match="long"):
        RuleParams(flat="close < 0")  # type: ignore[call-arg]
