"""CFM margin windows: when intraday and when overnight margin rates apply.

Coinbase's intraday window is 08:00-16:00 ET on weekdays. GPT-Trader uses the fixed UTC
window **13:00-20:00 UTC, Monday to Friday**: the part of 08:00-16:00 ET that is intraday in
both winter (UTC-5) and summer (UTC-4) time, so it is never more generous than the venue.
Saturdays and Sundays (UTC) are the WEEKEND window, every other time OVERNIGHT; both use
the overnight rates. The simulator enforces these windows and the margin guard plans by
them.
"""

from __future__ import annotations

from enum import StrEnum

NS = 1_000_000_000
DAY_S = 86_400
INTRADAY_START_S = 13 * 3600
INTRADAY_END_S = 20 * 3600


class MarginWindow(StrEnum):
    """Coinbase's ``margin_window_type`` values."""

    INTRADAY = "FCM_MARGIN_WINDOW_TYPE_INTRADAY"
    OVERNIGHT = "FCM_MARGIN_WINDOW_TYPE_OVERNIGHT"
    WEEKEND = "FCM_MARGIN_WINDOW_TYPE_WEEKEND"


def margin_window(ts: int) -> MarginWindow:
    """The CFM margin window at ``ts`` (int ns UTC)."""
    secs = ts // NS
    weekday = (secs // DAY_S + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if weekday >= 5:
        return MarginWindow.WEEKEND
    if INTRADAY_START_S <= secs % DAY_S < INTRADAY_END_S:
        return MarginWindow.INTRADAY
    return MarginWindow.OVERNIGHT


def window_end(ts: int) -> int:
    """When the window in force at ``ts`` ends (the next boundary, int ns)."""
    current = margin_window(ts)
    day = ts // NS // DAY_S * DAY_S
    for d in range(9):
        for offset in (0, INTRADAY_START_S, INTRADAY_END_S):
            t = (day + d * DAY_S + offset) * NS
            if t > ts and margin_window(t) is not current:
                return t
    raise AssertionError("unreachable")  # pragma: no cover
