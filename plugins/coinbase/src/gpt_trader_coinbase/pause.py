"""Holding entries while the adapter resyncs: one gate per listener, shared by broker and feed.

The kernel has a single pause slot (``pause_entries(reason)`` / ``resume_entries()``). The
broker's user stream and the feed resync independently, so the gate keeps the set of open
reasons and resumes only when the last one closes. It never overrides or clears a pause it
did not set (an operator's ``pause`` stays until the operator resumes).
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

log = logging.getLogger("gpt_trader_coinbase.pause")


class PauseGate:
    _gates: weakref.WeakKeyDictionary[Any, PauseGate] = weakref.WeakKeyDictionary()

    def __init__(self, listener: Any) -> None:
        self._listener = weakref.ref(listener) if _weakrefable(listener) else (lambda: listener)
        self.reasons: dict[str, str] = {}
        self._ours: str | None = None
        self.history: list[tuple[float, str, str]] = []

    @classmethod
    def for_listener(cls, listener: Any) -> PauseGate:
        if not _weakrefable(listener):
            return cls(listener)
        gate = cls._gates.get(listener)
        if gate is None:
            gate = cls._gates[listener] = cls(listener)
        return gate

    @property
    def paused(self) -> bool:
        return bool(self.reasons)

    def pause(self, key: str, reason: str) -> None:
        if key in self.reasons:
            return
        self.reasons[key] = reason
        self.history.append((time.monotonic(), "pause", key))
        if len(self.reasons) > 1:
            return
        listener = self._listener()
        pause = getattr(listener, "pause_entries", None)
        if pause is None:
            return
        current = getattr(listener, "entries_paused", "")
        if current:
            self._ours = None  # someone else (an operator) holds entries already
            return
        message = f"coinbase: {reason}"
        log.warning("pausing entries: %s", reason)
        pause(message)
        self._ours = message

    def resume(self, key: str) -> None:
        if self.reasons.pop(key, None) is None:
            return
        self.history.append((time.monotonic(), "resume", key))
        if self.reasons or self._ours is None:
            return
        listener = self._listener()
        ours, self._ours = self._ours, None
        if getattr(listener, "entries_paused", ours) != ours:
            return  # replaced meanwhile (an operator pause): not ours to lift
        resume = getattr(listener, "resume_entries", None)
        if resume is not None:
            log.warning("resuming entries")
            resume()


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True
