"""Readiness checks: what plugins contribute through ``register_checks`` and how they are run.

A plugin knows what its own part needs before a profile trades: the venue adapter its key,
permissions, clock and account eligibility, the risk plugin its risk files. Each contributes
:class:`Check` objects; a front end (``gpt-trader preflight``) runs every registered check
with one :class:`CheckContext` and prints the :class:`Result` rows, without knowing what
any of them looks at.

A result's ``detail`` is one line that never contains a secret: it is printed, written as
``--json`` and may end up in a ticket. A check that raises is reported as a failed row
naming the check and the exception's class only (its message might quote a secret).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from gpt_trader.config import BotConfig

DEFAULT_MAX_SKEW_S = 5.0


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # printed, but does not fail the preflight
    FAIL = "fail"


@dataclass(frozen=True)
class Result:
    """One row of a preflight: ``check`` names what was looked at (``key_format``)."""

    check: str
    status: Status
    detail: str

    def __post_init__(self) -> None:
        if "\n" in self.detail or "\r" in self.detail:
            raise ValueError(f"check {self.check!r}: a detail is one line")

    @classmethod
    def of(cls, check: str, ok: bool, detail: str) -> Result:
        return cls(check, Status.OK if ok else Status.FAIL, detail)

    @property
    def ok(self) -> bool:
        return self.status is not Status.FAIL

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, eq=False)
class CheckContext:
    """What a check may know: the profile, where the run keeps its state, the environment
    (a copy: checks read it, never ``os.environ``), the plugin manager the profile's
    components come from, and the operator's options: an API key file to check instead of
    the profile's, a venue simulator's description file (``sim.json``) to check against
    instead of the real venue, the largest clock skew allowed, and the local clock (s)."""

    config: BotConfig
    state_dir: Path
    pm: pluggy.PluginManager
    env: Mapping[str, str] = field(default_factory=dict)
    key_file: Path | None = None
    simulator: Path | None = None
    max_skew_s: float = DEFAULT_MAX_SKEW_S
    clock: Callable[[], float] = time.time


def _always(context: CheckContext) -> str | None:
    return None


@dataclass(frozen=True)
class Check:
    """A named check: ``run(context)`` yields the :class:`Result` rows named in ``reports``.

    ``not_needed(context)`` says why the profile needs none of it (each row of ``reports``
    is then an ``ok`` row "not needed: <why>"), or None to run it. ``remote`` marks a check
    that talks to a venue: those run after every local one.
    """

    name: str
    summary: str
    run: Callable[[CheckContext], Iterable[Result]]
    reports: tuple[str, ...] = ()
    not_needed: Callable[[CheckContext], str | None] = _always
    remote: bool = False

    def results(self, context: CheckContext) -> Iterator[Result]:
        """The check's rows; never raises (a crash is a failed row without its message)."""
        why = self.not_needed(context)
        if why is not None:
            for name in self.reports or (self.name,):
                yield Result(name, Status.OK, f"not needed: {why}")
            return
        try:
            yield from self.run(context)
        except Exception as exc:
            yield Result(self.name, Status.FAIL, f"the check crashed: {type(exc).__name__}")


@dataclass(frozen=True)
class RegisteredCheck:
    check: Check
    plugin: str


def run_checks(context: CheckContext, checks: Iterable[RegisteredCheck]) -> list[Result]:
    """Run ``checks`` (``Registry.checks()``: every registered one) for ``context``'s
    profile; the rows in order."""
    return [result for reg in checks for result in reg.check.results(context)]
