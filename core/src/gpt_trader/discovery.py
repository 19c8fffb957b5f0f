"""What entry-point metadata says about plugins, read without importing any of them.

The switches (``GPT_TRADER_LOAD_PLUGINS``, ``--no-plugins``) decide from names and
distributions alone, so the CLI can list commands before, or without, loading a plugin.
"""

from __future__ import annotations

import os
import re
from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "gpt_trader"
# Each entry point names a plugin (as in ENTRY_POINT_GROUP) and points at its tuple of
# :class:`gpt_trader.cli.lazy.CommandRef`: the commands it adds, loaded when one runs.
COMMANDS_GROUP = "gpt_trader.commands"
LOAD_ENV = "GPT_TRADER_LOAD_PLUGINS"
# Core's own components (sim broker and feeds, store sinks, sizers, log sink) are entry
# points of this distribution, registered like any plugin's; "core only" keeps them.
CORE_DISTRIBUTION = "gpt-trader"


def allow_list() -> set[str] | None:
    """The names ``GPT_TRADER_LOAD_PLUGINS`` allows (empty: none), or None when unset."""
    raw = os.environ.get(LOAD_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def is_core(distribution: str) -> bool:
    return re.sub(r"[-_.]+", "-", distribution).lower() == CORE_DISTRIBUTION


def enabled(ep: EntryPoint, allow: set[str] | None, *, core_only: bool) -> bool:
    """Whether the switches let the plugin ``ep`` load."""
    if allow is not None and ep.name not in allow:
        return False
    return not core_only or is_core(ep.dist.name if ep.dist else "")
