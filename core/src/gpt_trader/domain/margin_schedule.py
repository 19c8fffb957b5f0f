"""Margin windows: which of a product's rates apply at a time, from its
:class:`~gpt_trader.domain.products.MarginSchedule`.

A scheduled product has an INTRADAY window (``intraday_start_s`` to ``intraday_end_s``
seconds into the UTC day, Monday to Friday when ``weekdays_only``), a WEEKEND window
(Saturday and Sunday UTC, when ``weekdays_only``) and an OVERNIGHT window every other time;
the weekend and overnight windows both use the overnight rates. Times are int ns UTC.
"""

from __future__ import annotations

from enum import StrEnum

from gpt_trader.domain.products import MarginSchedule

NS = 1_000_000_000
DAY_S = 86_400


class MarginWindow(StrEnum):
    INTRADAY = "INTRADAY"
    OVERNIGHT = "OVERNIGHT"
    WEEKEND = "WEEKEND"


def margin_window(ts: int, schedule: MarginSchedule) -> MarginWindow:
    """The window in force at ``ts``."""
    secs = ts // NS
    weekday = (secs // DAY_S + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if schedule.weekdays_only and weekday >= 5:
        return MarginWindow.WEEKEND
    if schedule.intraday_start_s <= secs % DAY_S < schedule.intraday_end_s:
        return MarginWindow.INTRADAY
    return MarginWindow.OVERNIGHT


def window_end(ts: int, schedule: MarginSchedule) -> int:
    """When the window in force at ``ts`` ends (the next boundary, int ns)."""
    current = margin_window(ts, schedule)
    day = ts // NS // DAY_S * DAY_S
    offsets = (0, schedule.intraday_start_s, schedule.intraday_end_s)
    for d in range(9):
        for offset in offsets:
            t = (day + d * DAY_S + offset) * NS
            if t > ts and margin_window(t, schedule) is not current:
                return t
    raise AssertionError("unreachable")  # pragma: no cover
