"""Plugin discovery: entry points of group ``gpt_trader``, built-ins and third parties alike.

A plugin that fails to import or to validate is recorded as ``failed`` with its error,
logged at WARNING and skipped; the rest of the CLI keeps working.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from gpt_trader import hookspecs
from gpt_trader.discovery import ENTRY_POINT_GROUP, allow_list, enabled

log = logging.getLogger("gpt_trader.plugins")

TRACE_ENV = "GPT_TRADER_TRACE_HOOKS"


@dataclass
class PluginRecord:
    """One discovered plugin as ``plugins list`` shows it."""

    name: str
    version: str
    entry_point: str
    distribution: str
    status: str = "loaded"  # loaded | failed | disabled
    error: str = ""
    hooks: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus the records of what discovery found."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.records: list[PluginRecord] = []

    def record(self, name: str) -> PluginRecord | None:
        return next((r for r in self.records if r.name == name), None)

    def mark_failed(self, name: str, error: str) -> None:
        rec = self.record(name)
        if rec is not None:
            _fail(rec, error)
        if self.get_plugin(name) is not None:
            self.unregister(name=name)

    def failed(self) -> list[PluginRecord]:
        return [r for r in self.records if r.status == "failed"]

    def register_plugin(
        self, plugin: Any, name: str, *, version: str = "", entry_point: str = ""
    ) -> None:
        """Register an object or module as a plugin (what tests and discovery both use)."""
        self.register(plugin, name=name)
        try:
            self.check_pending()
        except pluggy.PluginValidationError as exc:
            self.unregister(name=name)
            raise ValueError(f"plugin {name!r}: {exc}") from exc
        rec = self.record(name)
        if rec is None:
            rec = PluginRecord(name, version, entry_point or f"<{name}>", distribution="")
            self.records.append(rec)
        rec.status = "loaded"
        rec.hooks = sorted(impl_names(self, plugin))


def _fail(rec: PluginRecord, error: str) -> None:
    rec.status = "failed"
    rec.error = error
    where = f" ({rec.distribution} {rec.version})" if rec.distribution else ""
    log.warning("plugin %r%s failed and is skipped: %s", rec.name, where, error)


def impl_names(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    return [caller.name for caller in (pm.get_hookcallers(plugin) or [])]


def make_plugin_manager(*, load_entrypoints: bool = True, core_only: bool = False) -> PluginManager:
    """A fresh manager with every installed plugin the switches allow.

    ``GPT_TRADER_LOAD_PLUGINS=a,b`` loads only the named entry points (empty: none);
    ``core_only=True`` (``--no-plugins``) loads only core's own entry points and lists the
    others as disabled; ``load_entrypoints=False`` loads none (tests register their own).
    """
    pm = PluginManager()
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    if not load_entrypoints:
        return pm
    allow = allow_list()
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        _load(pm, ep, allow, core_only=core_only)
    return pm


def _load(pm: PluginManager, ep: EntryPoint, allow: set[str] | None, *, core_only: bool) -> None:
    dist = ep.dist
    rec = PluginRecord(
        name=ep.name,
        version=dist.version if dist else "",
        entry_point=ep.value,
        distribution=dist.name if dist else "",
    )
    if pm.record(ep.name) is not None:
        other = pm.record(ep.name)
        assert other is not None
        pm.records.append(rec)
        _fail(
            rec,
            f"entry point name {ep.name!r} is also provided by {other.distribution or '?'}; "
            "plugin names must be unique",
        )
        return
    pm.records.append(rec)
    if not enabled(ep, allow, core_only=core_only):
        rec.status = "disabled"
        return
    try:
        module = ep.load()
        pm.register_plugin(module, ep.name, version=rec.version, entry_point=ep.value)
    except Exception as exc:  # a broken third-party plugin must not take the CLI down
        _fail(rec, f"{type(exc).__name__}: {exc}")
