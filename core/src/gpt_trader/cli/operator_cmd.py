"""Operator commands, recorded in the store with time and reason; a running bot applies
them within one guard interval, the next run at its start (see ``gpt_trader.control``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from gpt_trader.control import ACTIONS, record
from gpt_trader.output import print_json, stdout

_HELP = {
    "pause": "Stop opening positions (exits still allowed) until resume.",
    "resume": "Clear REDUCE_ONLY/HALTED and a pause; only an operator loosens the state.",
    "reduce-only": "Allow only orders that reduce positions.",
    "halt": "Stop placing orders altogether.",
    "cancel-all": "Cancel every open order of the running bot.",
    "stop": "Stop the running bot gracefully.",
}


def _make(action: str) -> Callable[..., None]:
    def command(
        state_dir: Annotated[Path, typer.Option("--state-dir", help="The bot's state dir.")],
        reason: Annotated[
            str, typer.Option("--reason", help="Why; kept in the store.")
        ] = "no reason given",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        action_id = record(state_dir, action, reason)
        result = {"action": action, "id": action_id, "reason": reason, "state_dir": str(state_dir)}
        if as_json:
            print_json(result)
        else:
            stdout.print(f"recorded {action} #{action_id}: {reason}")

    command.__doc__ = _HELP[action]
    return command


def register(app: typer.Typer) -> None:
    for action in ACTIONS:
        app.command(name=action)(_make(action))
