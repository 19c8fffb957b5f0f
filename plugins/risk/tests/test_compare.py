"""The comparison helper: modes, the warning band, and message verbs."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from gpt_trader_risk.compare import Level, Limit, Mode, num
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("mode", "value", "level"),
    [
        (Mode.GT, "7.99", Level.OK),
        (Mode.GT, "8", Level.WARN),
        (Mode.GT, "10", Level.WARN),
        (Mode.GT, "10.01", Level.BREACH),
        (Mode.GE, "9.99", Level.WARN),
        (Mode.GE, "10", Level.BREACH),
        (Mode.LT, "12.01", Level.OK),
        (Mode.LT, "12", Level.WARN),
        (Mode.LT, "10", Level.WARN),
        (Mode.LT, "9.99", Level.BREACH),
        (Mode.LE, "10", Level.BREACH),
        (Mode.LE, "10.01", Level.WARN),
        (Mode.ABS_GT, "-10.01", Level.BREACH),
        (Mode.ABS_GT, "-9", Level.WARN),
        (Mode.ABS_GT, "-7", Level.OK),
    ],
)
def test_modes_and_band(mode: Mode, value: str, level: Level) -> None:
    got, _ = Limit(D(10), mode).grade(D(value))
    assert got is level


def test_pct_change_gt_against_reference() -> None:
    lim = Limit(D(5), Mode.PCT_CHANGE_GT)
    assert lim.grade(D(105), D(100)) == (Level.WARN, D(5))
    assert lim.grade(D("94.9"), D(100))[0] is Level.BREACH
    assert lim.grade(D("103.9"), D(100))[0] is Level.OK
    with pytest.raises(ValueError, match="reference"):
        lim.grade(D(1))


def test_warn_band_can_be_disabled_or_moved() -> None:
    assert Limit(D(10), Mode.GT, None).grade(D("9.99"))[0] is Level.OK
    assert Limit(D(10), Mode.GT, D("0.5")).grade(D(5))[0] is Level.WARN
    with pytest.raises(ValueError, match="warn_at"):
        Limit(D(10), Mode.GT, D("1.5"))
    with pytest.raises(ValueError, match="negative"):
        Limit(D(-1), Mode.ABS_GT)


def test_verbs_and_numbers() -> None:
    lim = Limit(D(10), Mode.GE)
    assert lim.verb(D(11)) == "exceeds"
    assert lim.verb(D(10)) == "reaches"
    assert Limit(D(10), Mode.LT).verb(D(9)) == "is below"
    assert num(D("12.400")) == "12.4"
    assert num(D("12.4"), 2) == "12.40"
    assert num(D("1E+1")) == "10"


@given(
    st.decimals(min_value=0, max_value=10**6, places=4),
    st.decimals(min_value=D("0.0001"), max_value=10**6, places=4),
    st.sampled_from([Mode.GT, Mode.GE, Mode.ABS_GT]),
)
def test_upper_modes_breach_iff_past_threshold(value: D, threshold: D, mode: Mode) -> None:
    level, measured = Limit(threshold, mode).grade(value)
    past = measured >= threshold if mode is Mode.GE else measured > threshold
    assert (level is Level.BREACH) == past
    if level is Level.WARN:
        assert measured >= threshold * D("0.8")
