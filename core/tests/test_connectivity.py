"""Outage accounting: time with any venue connection down, and how many outages."""

from __future__ import annotations

from gpt_trader.engine.connectivity import Connectivity


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_overlapping_components_make_one_outage() -> None:
    clock = Clock()
    link = Connectivity(clock)
    assert link.change("market", True)  # the first report is news
    assert not link.change("market", True)
    clock.t += 10
    assert link.change("market", False, "code 1006")
    clock.t += 5
    assert link.change("user", False)
    assert not link.change("user", False)
    clock.t += 5
    link.change("market", True)
    assert link.down == {"user": ""}
    clock.t += 10
    link.change("user", True)
    clock.t += 10
    # Down from 110 to 130 of a run from 100 to 140: one outage, half the run.
    assert link.summary() == {
        "disconnected_s": 20.0,
        "disconnected_share": 0.5,
        "outages": 1,
        "down": {},
    }
    assert link.warning() == "the venue was unreachable for 20.0 s (50% of the run) in 1 outage(s)"


def test_a_run_that_ends_disconnected_counts_to_the_end() -> None:
    clock = Clock()
    link = Connectivity(clock)
    link.change("market", True)
    clock.t += 2
    link.change("market", False, "connection refused")
    clock.t += 8
    assert link.disconnected_s() == 8.0
    assert link.share() == 0.8
    assert link.summary()["down"] == {"market": "connection refused"}
    warning = link.warning() or ""
    assert warning.endswith("still down at the end: market")


def test_no_outage_no_warning() -> None:
    link = Connectivity(Clock())
    link.change("market", True)
    assert link.warning() is None
    assert link.summary()["outages"] == 0


def test_a_connection_that_never_came_up_is_down_from_the_start() -> None:
    clock = Clock()
    link = Connectivity(clock)
    clock.t += 3  # start-up: the first attempt to connect comes later
    link.change("market", False, "connection refused")
    clock.t += 1
    assert link.disconnected_s() == 4.0
    assert link.share() == 1.0
