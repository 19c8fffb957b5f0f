"""Declarative rules: a signal written as conditions over the indicator library.

```toml
[[signals]]
use = "rule"
long = "rsi(14) < 30 and close > sma(200)"
flat = "rsi(14) > 55"
strength = "(30 - rsi(14)) / 30"      # optional, clamped to [0, 1]; default 1
```

The text is parsed by a small recursive-descent parser (nothing is ever evaluated as
Python) into closures over the bar and the indicators it names. Grammar::

    condition  := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | compare
    compare    := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | SOURCE | FUNCTION "(" args? ")" | "(" condition ")"

``SOURCE`` is ``high``, ``low``, ``close`` or ``volume`` of the bar; a function's arguments
are numbers, and a few take a source last (``sma(20, volume)``). Each distinct call (say
``rsi(14)``) is one indicator, updated once per bar whether or not a condition reads it.
While an indicator warms up its value is unknown, and so is any comparison on it; ``and`` /
``or`` / ``not`` follow three-valued logic, and an unknown condition gives no vote.

A bad expression fails when the profile loads, in one line naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpt_trader.domain.decisions import Action
from gpt_trader.params import Params
from pydantic import Field, field_validator

from gpt_trader_strategies.indicators import (
    Adx,
    Atr,
    Ema,
    Macd,
    MeanStd,
    RollingMax,
    RollingMin,
    Rsi,
    Sma,
    Stochastic,
    Vwap,
)
from gpt_trader_strategies.signals import BarSignal, Vote, clamp01

__all__ = ["Rule", "RuleError", "RuleParams", "compile_rule"]

Bar = tuple[float, float, float, float]  # high, low, close, volume
Value = float | bool | None
Eval = Callable[[Bar, list[float | None]], Value]

SOURCES = {"high": 0, "low": 1, "close": 2, "volume": 3}
_MAX_PERIOD = 100_000


class RuleError(ValueError):
    """A bad rule expression: ``message at column N of 'text'``."""

    def __init__(self, message: str, column: int, text: str, hint: str = "") -> None:
        super().__init__(f"{message} at column {column} of {text!r}{'; ' + hint if hint else ''}")
        self.column = column


# --------------------------------------------------------------------------------------
# Indicator functions: name -> (defaults of the numeric args, takes a source, builder)
# A builder gets the numeric args (validated) and the source index, and returns a feed:
# one call per bar, giving the indicator's value then (None while warming up).
# --------------------------------------------------------------------------------------

Feed = Callable[[Bar], float | None]


def _ma(cls: type[Sma] | type[Ema] | type[Rsi]) -> Callable[[list[float], int], Feed]:
    def build(args: list[float], src: int) -> Feed:
        ind = cls(int(args[0]))
        return lambda bar: ind.update(bar[src])

    return build


def _stddev(args: list[float], src: int) -> Feed:
    ind = MeanStd(int(args[0]))
    return lambda bar: ind.update(bar[src])


def _zscore(args: list[float], src: int) -> Feed:
    ind = MeanStd(int(args[0]))

    def feed(bar: Bar) -> float | None:
        std = ind.update(bar[src])
        return None if not std else (bar[src] - ind.mean) / std  # type: ignore[operator]

    return feed


def _bollinger(sign: float) -> Callable[[list[float], int], Feed]:
    def build(args: list[float], src: int) -> Feed:
        ind, k = MeanStd(int(args[0])), args[1]

        def feed(bar: Bar) -> float | None:
            std = ind.update(bar[src])
            return None if std is None else ind.mean + sign * k * std  # type: ignore[operator]

        return feed

    return build


def _prior_extreme(cls: type[RollingMax] | type[RollingMin], col: int) -> Any:
    """Extreme of the ``n`` bars *before* this one, so ``close > highest(20)`` can happen."""

    def build(args: list[float], src: int) -> Feed:
        ind = cls(int(args[0]))

        def feed(bar: Bar) -> float | None:
            before = ind.value
            ind.update(bar[col])
            return before

        return feed

    return build


def _hlc(cls: type[Atr] | type[Adx], attr: str) -> Any:
    def build(args: list[float], src: int) -> Feed:
        ind = cls(int(args[0]))

        def feed(bar: Bar) -> float | None:
            ind.update(bar[0], bar[1], bar[2])
            return getattr(ind, attr)  # type: ignore[no-any-return]

        return feed

    return build


def _stoch(attr: str) -> Any:
    def build(args: list[float], src: int) -> Feed:
        ind = Stochastic(int(args[0]), int(args[1]))

        def feed(bar: Bar) -> float | None:
            d = ind.update(bar[0], bar[1], bar[2])
            return None if d is None else getattr(ind, attr)

        return feed

    return build


def _macd(attr: str) -> Any:
    def build(args: list[float], src: int) -> Feed:
        fast, slow, signal = (int(a) for a in args)
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be less than slow ({slow})")
        ind = Macd(fast, slow, signal)

        def feed(bar: Bar) -> float | None:
            return None if ind.update(bar[src]) is None else getattr(ind, attr)

        return feed

    return build


def _vwap(args: list[float], src: int) -> Feed:
    ind = Vwap(int(args[0]))
    return lambda bar: ind.update(*bar)


@dataclass(frozen=True)
class _Function:
    defaults: tuple[float | None, ...]  # None: required
    source: bool  # takes an optional source name last (default close)
    build: Callable[[list[float], int], Feed]
    periods: int = 0  # how many leading args are periods (positive integers)


FUNCTIONS: dict[str, _Function] = {
    "sma": _Function((None,), True, _ma(Sma), 1),
    "ema": _Function((None,), True, _ma(Ema), 1),
    "rsi": _Function((14,), True, _ma(Rsi), 1),
    "stddev": _Function((None,), True, _stddev, 1),
    "zscore": _Function((None,), True, _zscore, 1),
    "bb_upper": _Function((20, 2.0), True, _bollinger(1.0), 1),
    "bb_lower": _Function((20, 2.0), True, _bollinger(-1.0), 1),
    "highest": _Function((None,), False, _prior_extreme(RollingMax, 0), 1),
    "lowest": _Function((None,), False, _prior_extreme(RollingMin, 1), 1),
    "atr": _Function((14,), False, _hlc(Atr, "value"), 1),
    "adx": _Function((14,), False, _hlc(Adx, "value"), 1),
    "plus_di": _Function((14,), False, _hlc(Adx, "plus_di"), 1),
    "minus_di": _Function((14,), False, _hlc(Adx, "minus_di"), 1),
    "stoch_k": _Function((14, 3), False, _stoch("k"), 2),
    "stoch_d": _Function((14, 3), False, _stoch("d"), 2),
    "macd": _Function((12, 26, 9), True, _macd("line"), 3),
    "macd_signal": _Function((12, 26, 9), True, _macd("signal"), 3),
    "macd_hist": _Function((12, 26, 9), True, _macd("histogram"), 3),
    "vwap": _Function((20,), False, _vwap, 1),
}


# --------------------------------------------------------------------------------------
# Tokens and parser
# --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z_]\w*)|(?P<op><=|>=|==|!=|[<>+\-*/(),]))"
)
_KEYWORDS = {"and", "or", "not"}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class _Token:
    kind: str  # num | name | op | end
    text: str
    column: int  # 1-based


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            out.append(_Token("end", "", pos + 1))
            return out
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise RuleError(f"unexpected character {text[pos]!r}", pos + 1, text)
        kind = match.lastgroup
        out.append(_Token(kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()


class _Parser:
    """Recursive descent over the tokens; indicator calls land in the shared ``calls``."""

    def __init__(self, text: str, calls: dict[str, tuple[int, Feed]]) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.calls = calls

    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def error(self, message: str, tok: _Token | None = None, hint: str = "") -> RuleError:
        return RuleError(message, (tok or self.tok).column, self.text, hint)

    def take(self, text: str) -> bool:
        if self.tok.text == text and self.tok.kind in ("op", "name"):
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.take(text):
            found = f"{self.tok.text!r}" if self.tok.kind != "end" else "the end"
            raise self.error(f"expected {text!r}, found {found}")

    def condition(self) -> Eval:
        node = self.or_()
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.text!r}")
        return node

    def or_(self) -> Eval:
        parts = [self.and_()]
        while self.take("or"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else _any(parts)

    def and_(self) -> Eval:
        parts = [self.not_()]
        while self.take("and"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else _all(parts)

    def not_(self) -> Eval:
        if self.take("not"):
            inner = self.not_()

            def negate(bar: Bar, env: list[float | None]) -> Value:
                v = inner(bar, env)
                return None if v is None else not v

            return negate
        return self.compare()

    def compare(self) -> Eval:
        left = self.sum()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARE:
            self.i += 1
            cmp, right = _COMPARE[tok.text], self.sum()

            def compare(bar: Bar, env: list[float | None]) -> Value:
                a, b = left(bar, env), right(bar, env)
                return None if a is None or b is None else cmp(a, b)

            return compare
        return left

    def sum(self) -> Eval:
        node = self.product()
        while self.tok.text in ("+", "-") and self.tok.kind == "op":
            op = self.tok.text
            self.i += 1
            node = _arith(op, node, self.product())
        return node

    def product(self) -> Eval:
        node = self.unary()
        while self.tok.text in ("*", "/") and self.tok.kind == "op":
            op = self.tok.text
            self.i += 1
            node = _arith(op, node, self.unary())
        return node

    def unary(self) -> Eval:
        if self.take("-"):
            inner = self.unary()
            return lambda bar, env: None if (v := inner(bar, env)) is None else -v
        return self.atom()

    def atom(self) -> Eval:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            value = float(tok.text)
            return lambda bar, env: value
        if self.take("("):
            node = self.or_()
            self.expect(")")
            return node
        if tok.kind == "name" and tok.text not in _KEYWORDS:
            self.i += 1
            if tok.text in SOURCES:
                col = SOURCES[tok.text]
                return lambda bar, env: bar[col]
            if tok.text in FUNCTIONS:
                slot = self.call(tok)
                return lambda bar, env: env[slot]
            known = ", ".join(sorted(FUNCTIONS))
            raise self.error(
                f"unknown name {tok.text!r}",
                tok,
                f"sources: high, low, close, volume; functions: {known}",
            )
        found = "the end" if tok.kind == "end" else repr(tok.text)
        raise self.error(f"expected a number, a source, a function or '(', found {found}")

    def call(self, name_tok: _Token) -> int:
        fn = FUNCTIONS[name_tok.text]
        self.expect("(")
        args: list[float] = []
        src = SOURCES["close"]
        src_name = ""
        if not self.take(")"):
            while True:
                tok = self.tok
                if tok.kind == "num" and not src_name:
                    args.append(float(tok.text))
                elif fn.source and tok.kind == "name" and tok.text in SOURCES and not src_name:
                    src_name, src = tok.text, SOURCES[tok.text]
                else:
                    what = "a number or a source" if fn.source else "a number"
                    raise self.error(f"{name_tok.text}() takes {what} here")
                self.i += 1
                if self.take(")"):
                    break
                self.expect(",")
        if len(args) > len(fn.defaults):
            raise self.error(
                f"{name_tok.text}() takes at most {len(fn.defaults)} numbers", name_tok
            )
        full = args + list(fn.defaults[len(args) :])
        if any(a is None for a in full):
            raise self.error(f"{name_tok.text}() needs a period", name_tok)
        values = [float(a) for a in full if a is not None]
        for a in values[: fn.periods]:
            if a != int(a) or not 0 < a <= _MAX_PERIOD:
                raise self.error(
                    f"{name_tok.text}() period must be a whole number in 1..{_MAX_PERIOD}",
                    name_tok,
                )
        key = name_tok.text + repr((values, src))
        if key not in self.calls:
            try:
                feed = fn.build(values, src)
            except ValueError as exc:
                raise self.error(f"{name_tok.text}(): {exc}", name_tok) from None
            self.calls[key] = (len(self.calls), feed)
        return self.calls[key][0]


def _arith(op: str, left: Eval, right: Eval) -> Eval:
    def apply(bar: Bar, env: list[float | None]) -> Value:
        a, b = left(bar, env), right(bar, env)
        if a is None or b is None:
            return None
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return None if b == 0 else a / b  # dividing by zero is unknown, not an error

    return apply


def _all(parts: list[Eval]) -> Eval:
    def both(bar: Bar, env: list[float | None]) -> Value:
        values = [p(bar, env) for p in parts]
        if any(v is not None and not v for v in values):
            return False
        return None if any(v is None for v in values) else True

    return both


def _any(parts: list[Eval]) -> Eval:
    def either(bar: Bar, env: list[float | None]) -> Value:
        values = [p(bar, env) for p in parts]
        if any(v is not None and v for v in values):
            return True
        return None if any(v is None for v in values) else False

    return either


@dataclass
class CompiledRule:
    """The conditions of one rule and the indicator feeds they read (in slot order)."""

    long: Eval
    flat: Eval
    strength: Eval
    feeds: list[Feed]


def compile_rule(long: str, flat: str, strength: str = "1") -> CompiledRule:
    """Parse the three expressions; raises :class:`RuleError` naming the bad column."""
    calls: dict[str, tuple[int, Feed]] = {}
    conditions = [_Parser(text, calls).condition() for text in (long, flat, strength)]
    feeds = [feed for _, feed in sorted(calls.values(), key=lambda slot_feed: slot_feed[0])]
    return CompiledRule(conditions[0], conditions[1], conditions[2], feeds)


# --------------------------------------------------------------------------------------
# Params and the signal
# --------------------------------------------------------------------------------------


class RuleParams(Params):
    """``rule``: ``long`` and ``flat`` conditions, and an optional ``strength`` expression."""

    long: str = Field(min_length=1, description="condition for LONG, e.g. 'rsi(14) < 30'")
    flat: str = Field(min_length=1, description="condition for FLAT, e.g. 'rsi(14) > 55'")
    strength: str = Field("1", min_length=1, description="vote strength, clamped to [0, 1]")
    name: str | None = Field(
        None, min_length=1, description="name this signal votes under (defaults to 'rule')"
    )

    @field_validator("long", "flat", "strength")
    @classmethod
    def _parses(cls, text: str) -> str:
        _Parser(text, {}).condition()  # indicators are built only to check their args
        return text


class Rule(BarSignal):
    """A signal from ``long`` / ``flat`` conditions (see the module docstring): LONG when
    ``long`` holds, else FLAT when ``flat`` holds, at a bar's close; emitted on change."""

    default_name = "rule"

    def __init__(self, symbol: str, **settings: Any) -> None:
        p = self.params = RuleParams(**settings)
        super().__init__(symbol, p.name or self.default_name)
        self._rule = compile_rule(p.long, p.flat, p.strength)
        self._env: list[float | None] = [None] * len(self._rule.feeds)

    def _bar(self, high: float, low: float, close: float, volume: float) -> Vote | None:
        bar = (high, low, close, volume)
        env = self._env
        for i, feed in enumerate(self._rule.feeds):
            env[i] = feed(bar)
        rule = self._rule
        if rule.long(bar, env):
            action = Action.LONG
        elif rule.flat(bar, env):
            action = Action.FLAT
        else:
            return None
        power = rule.strength(bar, env)
        return action, 0.0 if power is None else clamp01(float(power))
