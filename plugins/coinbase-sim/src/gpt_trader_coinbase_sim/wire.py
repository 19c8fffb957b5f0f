"""Value formats of the Coinbase wire: Decimal strings, RFC3339 times, query parameters.

Amounts travel as strings (never floats); times as RFC3339 UTC (microseconds on REST,
nanoseconds on WebSocket envelopes) or UNIX seconds as strings (candles, trades windows).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal, InvalidOperation

from multidict import MultiMapping

NS = 1_000_000_000
ZERO_TIME = "0001-01-01T00:00:00Z"  # what the user channel sends for "not applicable"


def dec(value: Decimal | int | None) -> str:
    """A Decimal as a plain (never exponent) string; ``None`` is the wire's empty ``""``."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return format(value, "f")


def dec_n(value: Decimal | None) -> str:
    """Like :func:`dec` but without trailing zeros: for computed values such as averages."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def rfc3339(ts_ns: int, *, nanos: bool = False) -> str:
    """``2024-05-02T14:03:11.482614Z`` (or 9 fractional digits with ``nanos``)."""
    secs, frac = divmod(ts_ns, NS)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if nanos:
        return f"{base}.{frac:09d}Z"
    return f"{base}.{frac // 1000:06d}Z"


def go_time(ts_ns: int, uptime_s: float) -> str:
    """The heartbeat ``current_time``: Go's time.String(), monotonic suffix included."""
    secs, frac = divmod(ts_ns, NS)
    base = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs))
    return f"{base}.{frac:09d} +0000 UTC m=+{uptime_s:.9f}"


_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(text: str) -> int:
    """RFC3339 to integer nanoseconds UTC; raises ValueError on anything else."""
    m = _RFC3339.match(text.strip())
    if not m:
        raise ValueError(f"not an RFC3339 time: {text!r}")
    day, clock, frac, zone = m.groups()
    tz = dt.UTC if zone == "Z" else dt.datetime.strptime(zone, "%z").tzinfo
    base = dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=tz)
    nanos = int((frac or "0").ljust(9, "0"))
    return int(base.timestamp()) * NS + nanos


def parse_decimal(value: object) -> Decimal:
    """A wire amount (string, or a JSON number some clients send) as a finite Decimal."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"not a number: {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation as e:
        raise ValueError(f"not a number: {value!r}") from e
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return d


# -- query strings: requests repeats keys for lists and writes Python bools as True/False --

_TRUE = {"true", "1"}
_FALSE = {"false", "0", ""}


def q_bool(query: MultiMapping[str], key: str, default: bool = False) -> bool:
    raw = query.get(key)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"invalid boolean for {key}: {raw!r}")


def q_int(
    query: MultiMapping[str], key: str, default: int | None = None, *, lo: int = 0
) -> int | None:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise ValueError(f"invalid integer for {key}: {raw!r}") from e
    if value < lo:
        raise ValueError(f"{key} must be >= {lo}")
    return value


def q_list(query: MultiMapping[str], key: str) -> list[str]:
    """Repeated keys (``k=a&k=b``); a comma-joined single value is split too."""
    out: list[str] = []
    for raw in query.getall(key, []):
        out.extend(p for p in raw.split(",") if p)
    return out
