"""Durations as people write them: `20s`, `5m`, `2h`, `1d`, `250ms` (a bare number is seconds)."""

from __future__ import annotations

import re

from gpt_trader.errors import UserError

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "ms": 0.001}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$")


def parse_duration(text: str) -> float:
    match = _PATTERN.match(text)
    if not match:
        raise UserError(f"invalid duration {text!r}: use a number with s, m, h or d (e.g. 20s, 5m)")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise UserError(f"invalid duration {text!r}: must be positive")
    return seconds
