"""Operator control: commands recorded in the store, applied by the running bot.

``gpt-trader pause|resume|reduce-only|halt|cancel-all|stop --state-dir DIR`` writes a row to
``operator_actions``; the bot polls for pending rows on its guard timer (and once at
start), applies each and marks it applied with its run id. The store file's permissions
are the access control: only a user who can write the state dir can command the bot.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gpt_trader.domain import TradingState
from gpt_trader.errors import UserError

if TYPE_CHECKING:
    from gpt_trader.engine.kernel import Kernel
    from gpt_trader.runtime.live import StopRequest
    from gpt_trader.store import Store

ACTIONS = ("pause", "resume", "reduce-only", "halt", "cancel-all", "stop")
# Commands aimed at a process; one recorded while no bot ran is not carried into the next.
_ONE_SHOT = {"cancel-all", "stop"}

log = logging.getLogger("gpt_trader.control")


def record(state_dir: Path, action: str, reason: str) -> int:
    """Record ``action`` for the bot whose store is in ``state_dir``; returns its id.
    Every front end (the CLI, the TUI, a plugin's) records operator actions through here."""
    from gpt_trader.store import Store
    from gpt_trader.store.db import existing_store

    if action not in ACTIONS:
        raise UserError(f"unknown operator action {action!r} (known: {', '.join(ACTIONS)})")
    store = Store(existing_store(state_dir), create=False)
    try:
        return store.record_operator_action(time.time_ns(), action, reason)
    finally:
        store.close()


async def apply_pending(
    kernel: Kernel,
    store: Store | None,
    run_id: str,
    stop: StopRequest | None,
    *,
    at_start: bool = False,
) -> int:
    """Apply every pending operator action; returns how many were applied. A ``stop``
    ends the run with stop reason ``operator: <the reason given>``."""
    if store is None:
        return 0
    applied = 0
    for action in store.operator_actions(pending_only=True):
        reason = f"operator {action.action}: {action.reason}"
        if action.action in _ONE_SHOT and at_start:
            log.info("ignoring %s recorded while no bot ran", action.action)
        elif action.action == "resume":
            kernel.resume_entries()
            kernel.operator_set_state(TradingState.ACTIVE, reason)
        elif action.action == "pause":
            kernel.pause_entries(reason)
        elif action.action == "reduce-only":
            kernel.operator_set_state(max(kernel.trading_state, TradingState.REDUCE_ONLY), reason)
        elif action.action == "halt":
            kernel.operator_set_state(TradingState.HALTED, reason)
        elif action.action == "cancel-all":
            await kernel.cancel_all()
        elif action.action == "stop" and stop is not None:
            stop.request(f"operator: {action.reason}")
        store.mark_operator_action_applied(action.id, run_id)
        log.warning("applied %s", reason)
        applied += 1
    return applied
