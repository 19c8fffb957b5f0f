"""Comparing a measured value against a limit, with a warning band below the limit.

Every guard in this package grades its measurement through :class:`Limit`, so "at the
limit" means the same thing everywhere and the warning band is configured the same way.
This helper belongs in core (see the README: *Recommended core changes*); it lives here
until it moves.

Modes (``value`` is what the guard measured, ``threshold`` the configured limit):

=================  ===========================================  ==========================
mode               breached when                                typical use
=================  ===========================================  ==========================
``gt``             value > threshold                            caps: a max is allowed
``ge``             value >= threshold                           loss limits: reaching trips
``lt``             value < threshold                            floors (depth, equity)
``le``             value <= threshold                           floors that must be kept
``abs_gt``         abs(value) > threshold                       signed exposure, P&L
``pct_change_gt``  abs(value / reference - 1) * 100 > threshold  moves, volatility
=================  ===========================================  ==========================

The warning band is ``(1 - warn_at) * abs(threshold)`` wide and lies on the safe side of
the threshold: with ``warn_at = 0.8`` an upper limit of 10 warns from 8, a floor of 1000
warns up to 1200. ``warn_at = None`` disables warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum, StrEnum

from gpt_trader.domain.money import currency_increment, quantize, text

__all__ = ["DEFAULT_WARN_AT", "Level", "Limit", "Mode", "apart", "num", "shown"]

DEFAULT_WARN_AT = Decimal("0.8")
_HUNDRED = Decimal(100)
_ONE = Decimal(1)


class Mode(StrEnum):
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    ABS_GT = "abs_gt"
    PCT_CHANGE_GT = "pct_change_gt"

    @property
    def is_upper(self) -> bool:
        """True when larger measurements are worse."""
        return self not in (Mode.LT, Mode.LE)


class Level(IntEnum):
    OK = 0
    WARN = 1
    BREACH = 2


def num(value: Decimal | int | float, places: int | None = None) -> str:
    """A Decimal for a message: fixed-point, no exponent, optionally rounded to ``places``."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    if places is not None:
        return f"{d.quantize(Decimal(1).scaleb(-places)):f}"
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def shown(value: Decimal, places: int = 2, most: int = 8) -> str:
    """A number for a message: at least ``places`` decimals, more when they matter (up to
    ``most``), so a value just past a limit does not read as equal to it."""
    text = f"{value.quantize(Decimal(1).scaleb(-most)):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(places, "0")
    return f"{whole}.{frac}" if frac else whole


def apart(value: Decimal, limit: Decimal, currency: str) -> str:
    """`` (by less than 0.01 USD)`` when an amount of money is not at its limit but prints
    as if it were (messages print money on the currency's increment), else ``""``: so
    "1.00 USD is below the minimum 1" does not read as a contradiction."""
    inc = currency_increment(currency)
    if value != limit and quantize(value, inc) == quantize(limit, inc):
        return f" (by less than {text(inc)} {currency})"
    return ""


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit: a threshold, how to compare against it, and where warnings start."""

    threshold: Decimal
    mode: Mode = Mode.GT
    warn_at: Decimal | None = DEFAULT_WARN_AT
    # Worked out once: a guard grades against its limit on every order or fill.
    _warn_line: Decimal | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.threshold, Decimal):
            object.__setattr__(self, "threshold", Decimal(str(self.threshold)))
        if self.warn_at is not None and not (0 < self.warn_at <= 1):
            raise ValueError(f"warn_at must be in (0, 1], got {self.warn_at}")
        if self.mode in (Mode.ABS_GT, Mode.PCT_CHANGE_GT) and self.threshold < 0:
            raise ValueError(f"a {self.mode} threshold must not be negative, got {self.threshold}")
        if self.warn_at is not None:
            band = (_ONE - self.warn_at) * abs(self.threshold)
            line = self.threshold - band if self.mode.is_upper else self.threshold + band
            object.__setattr__(self, "_warn_line", line)

    def measure(self, value: Decimal, reference: Decimal | None = None) -> Decimal:
        """The quantity compared with the threshold (``abs`` or the percent change)."""
        if self.mode is Mode.ABS_GT:
            return abs(value)
        if self.mode is Mode.PCT_CHANGE_GT:
            if reference is None or reference == 0:
                raise ValueError("pct_change_gt needs a non-zero reference value")
            return abs(value / reference - _ONE) * _HUNDRED
        return value

    def breached(self, measured: Decimal) -> bool:
        t = self.threshold
        match self.mode:
            case Mode.GE:
                return measured >= t
            case Mode.LT:
                return measured < t
            case Mode.LE:
                return measured <= t
            case _:
                return measured > t

    @property
    def warn_line(self) -> Decimal | None:
        """Where the warning band starts, or None when warnings are off."""
        return self._warn_line

    def warns(self, measured: Decimal) -> bool:
        line = self._warn_line
        if line is None:
            return False
        return measured >= line if self.mode.is_upper else measured <= line

    def grade(self, value: Decimal, reference: Decimal | None = None) -> tuple[Level, Decimal]:
        """``(level, measured)`` for ``value`` (and ``reference`` in ``pct_change_gt``)."""
        measured = self.measure(value, reference)
        if self.breached(measured):
            return Level.BREACH, measured
        if self.warns(measured):
            return Level.WARN, measured
        return Level.OK, measured

    def verb(self, measured: Decimal) -> str:
        """How ``measured`` relates to the threshold, for messages."""
        t = self.threshold
        if self.mode.is_upper:
            if measured > t:
                return "exceeds"
            if measured == t:
                return "reaches"
        else:
            if measured < t:
                return "is below"
            if measured == t:
                return "is at"
        return "is near" if self.warns(measured) else "is within"
