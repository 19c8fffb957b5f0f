"""Command output for core and plugin commands alike: JSON for scripts, rich for people, one
line on stderr for errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def orders_text(total: int, by_status: Mapping[str, int]) -> str:
    """``788 (780 filled, 8 cancelled)``: a count and its statuses, most frequent first."""
    if not by_status:
        return str(total)
    ranked = sorted(by_status.items(), key=lambda item: (-item[1], item[0]))
    parts = ", ".join(f"{n} {status.lower().replace('_', ' ')}" for status, n in ranked)
    return f"{total} ({parts})"


# Every error line the CLI prints starts so (usage errors, bad input, a failed check).
ERROR_PREFIX = "gpt-trader: error:"


def fail(message: str, code: int = 2) -> None:
    """One readable line on stderr, then exit with ``code``."""
    import typer

    # escaped: a message naming `[broker]` or a package extra `pkg[extra]` prints as written
    stderr.print(f"[bold red]{ERROR_PREFIX}[/] {escape(message)}", highlight=False, markup=True)
    raise typer.Exit(code)
