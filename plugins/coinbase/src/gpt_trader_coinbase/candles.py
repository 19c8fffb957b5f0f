"""Coinbase's candle granularities: the names the REST candles endpoint takes, their length
in seconds, and the short forms (``1m``, ``1h``) a person types.

The simulator keeps its own table on purpose: it plays the exchange, and a copy shared with
the client could not catch the client's mistakes.
"""

from __future__ import annotations

from gpt_trader.errors import UserError

GRANULARITIES: dict[str, int] = {
    "ONE_MINUTE": 60,
    "FIVE_MINUTE": 300,
    "FIFTEEN_MINUTE": 900,
    "THIRTY_MINUTE": 1800,
    "ONE_HOUR": 3600,
    "TWO_HOUR": 7200,
    "FOUR_HOUR": 14400,
    "SIX_HOUR": 21600,
    "ONE_DAY": 86400,
}
ALIASES = {
    "1m": "ONE_MINUTE",
    "5m": "FIVE_MINUTE",
    "15m": "FIFTEEN_MINUTE",
    "30m": "THIRTY_MINUTE",
    "1h": "ONE_HOUR",
    "2h": "TWO_HOUR",
    "4h": "FOUR_HOUR",
    "6h": "SIX_HOUR",
    "1d": "ONE_DAY",
}
BY_SECONDS = {seconds: name for name, seconds in GRANULARITIES.items()}


def granularity(text: str) -> tuple[str, int]:
    """``("ONE_HOUR", 3600)`` for ``"ONE_HOUR"``, ``"one_hour"`` or ``"1h"``;
    :class:`UserError` naming the known ones otherwise."""
    name = ALIASES.get(text.strip().lower(), text.strip().upper())
    if name not in GRANULARITIES:
        known = ", ".join([*GRANULARITIES, *ALIASES])
        raise UserError(f"unknown granularity {text!r} (known: {known})")
    return name, GRANULARITIES[name]


def granularity_name(seconds: int) -> str:
    """The Coinbase name of a bar length, or ``"<n>s"`` for one Coinbase does not serve."""
    return BY_SECONDS.get(seconds, f"{seconds}s")
