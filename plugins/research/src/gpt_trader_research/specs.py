"""Command-line values: component specs ``NAME[:key=value,...]``, search spaces
``key=lo:hi`` and decimal options.

A value stays text unless it is a JSON list or object (``weights={"rsi":2}``); the
component's own settings model turns ``"10"`` into an int or a Decimal, so a typo is
reported by the component, with its field name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from gpt_trader.errors import UserError

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ComponentArg:
    """A component named on the command line, with its params as given."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def ref(self) -> dict[str, Any]:
        """The profile form: ``{"use": name, **params}``."""
        return {"use": self.name, **self.params}

    def label(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_show(v)}" for k, v in self.params.items())


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets, braces or quotes."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_component(text: str, what: str = "signal") -> ComponentArg:
    """``"sma_cross:fast=10,slow=30"`` -> ComponentArg("sma_cross", {"fast": "10", ...})."""
    raw = text.strip()
    name, sep, rest = raw.partition(":")
    name = name.strip()
    if not name or not _NAME.match(name):
        raise UserError(
            f"--{what} {text!r}: expected NAME[:key=value,...] with a lower-case dotted name"
        )
    params: dict[str, Any] = {}
    if sep and rest.strip():
        for item in _split_top(rest):
            key, eq, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not _KEY.match(key) or value == "":
                raise UserError(f"--{what} {text!r}: bad parameter {item.strip()!r}; use key=value")
            if key in params:
                raise UserError(f"--{what} {text!r}: parameter {key!r} given twice")
            params[key] = _value(value, text, what)
    elif sep:
        raise UserError(f"--{what} {text!r}: nothing after ':'; use NAME or NAME:key=value")
    return ComponentArg(name, params)


def _value(value: str, text: str, what: str) -> Any:
    if value[0] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise UserError(f"--{what} {text!r}: {value!r} is not valid JSON ({exc.msg})") from None
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


# ---- search spaces ---------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: ``target`` is the signal's index, ``key`` its param name.

    Kinds: ``int`` and ``float`` ranges (inclusive, optional step, optional log scale) and
    ``choice`` (a list of values).
    """

    target: int
    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.target}.{self.key}"


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_space(text: str, signals: list[ComponentArg]) -> Dimension:
    """``fast=5:50``, ``fast=5:50:5``, ``alpha=0.01:1:log``, ``period=7,14,21``,
    ``rsi.period=7:21`` (names the signal when several are given)."""
    key, eq, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not eq or not key or not spec:
        raise UserError(f"--space {text!r}: expected key=low:high or key=a,b,c")
    target = 0
    if "." in key:
        owner, _, key = key.rpartition(".")
        names = [s.name for s in signals]
        if owner.isdigit() and int(owner) < len(signals):
            target = int(owner)
        elif owner in names:
            target = names.index(owner)
        else:
            raise UserError(f"--space {text!r}: no --signal named {owner!r} (have {names})")
    elif len(signals) > 1:
        raise UserError(
            f"--space {text!r}: several --signal given; name the signal, e.g. "
            f"{signals[0].name}.{key}=..."
        )
    if not _KEY.match(key):
        raise UserError(f"--space {text!r}: {key!r} is not a parameter name")
    try:
        if ":" in spec:
            parts = spec.split(":")
            log = parts[-1] == "log"
            if log:
                parts = parts[:-1]
            if len(parts) not in (2, 3):
                raise ValueError("use low:high or low:high:step")
            nums = [_number(p) for p in parts]
            low, high = nums[0], nums[1]
            step = nums[2] if len(nums) == 3 else None
            if high < low:
                raise ValueError(f"high {high} is below low {low}")
            if log and low <= 0:
                raise ValueError("a log range needs low > 0")
            kind = "int" if all(isinstance(n, int) for n in nums) else "float"
            return Dimension(target, key, kind, float(low), float(high), step, log)
        choices = tuple(_choice(c.strip()) for c in spec.split(",") if c.strip())
        if not choices:
            raise ValueError("no choices")
        return Dimension(target, key, "choice", choices=choices)
    except ValueError as exc:
        raise UserError(f"--space {text!r}: {exc}") from None


def _choice(text: str) -> Any:
    try:
        return _number(text)
    except ValueError:
        return text


def decimal_option(
    option: str, text: str | None, *, minimum: Decimal | None = None
) -> Decimal | None:
    """A decimal command-line value: one line naming ``option`` when it is not a finite
    number or is below ``minimum``."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UserError(f"{option} {text!r} is not a number") from None
    if not value.is_finite():
        raise UserError(f"{option} {text!r} is not a finite number")
    if minimum is not None and value < minimum:
        raise UserError(f"{option} must be at least {minimum}, not {text}")
    return value
