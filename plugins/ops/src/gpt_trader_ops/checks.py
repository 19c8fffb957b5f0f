"""The ops plugin's own preflight checks, about the profile rather than any venue: its
components are registered (``plugins``), each can do its job in the profile's mode
(``caveats``), and the state dir is writable (``state_dir``)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from gpt_trader.checks import Check, CheckContext, Result
from gpt_trader.errors import UserError
from gpt_trader.registry import Registry


def plugins(context: CheckContext) -> Iterator[Result]:
    from gpt_trader.components import Kind

    try:
        registry = Registry(context.pm)
    except UserError as exc:
        yield Result.of("plugins", False, str(exc))
        return
    c = context.config
    refs = [(Kind.BROKER, c.broker), (Kind.FEED, c.feed), (Kind.VOTER, c.voter)]
    refs += [(Kind.SIZER, c.sizer)]
    refs += [(Kind.SIGNAL, r) for r in c.signals] + [(Kind.FILTER, r) for r in c.filters]
    refs += [(Kind.GUARD, r) for r in c.guards] + [(Kind.SINK, r) for r in c.sinks]
    problems: list[str] = []
    for kind, ref in refs:
        try:
            registry.validate(kind, ref.use, ref.params)
        except UserError as exc:
            problems.append(str(exc))
    if problems:
        yield Result.of("plugins", False, "; ".join(problems))
    else:
        yield Result.of(
            "plugins", True, f"all {len(refs)} components of the profile are registered"
        )


def caveats(context: CheckContext) -> Iterator[Result]:
    """What a component, as the profile configures it, cannot do in the profile's mode
    (``Params.caveats``): e.g. a guard that cannot judge some symbol's orders."""
    from gpt_trader.app import component_refs
    from gpt_trader.params import Params
    from pydantic import ValidationError

    c = context.config
    lines: list[str] = []
    try:
        registry = Registry(context.pm)
    except UserError:
        return  # the plugins check says why
    for kind, ref in component_refs(c):
        try:
            model = registry.settings_model(kind, ref.use).model_validate(ref.params)
        except (UserError, ValidationError):
            continue  # the plugins check reports it
        if isinstance(model, Params):
            lines += model.caveats(c.profile.universe, c.profile.mode)
    if lines:
        yield Result.of("caveats", False, "; ".join(lines))
    else:
        yield Result.of("caveats", True, f"every component can do its job in {c.profile.mode} mode")


def state_dir_problem(path: Path) -> str | None:
    """Why the state dir cannot be used, or None. Creates nothing that stays."""
    target = path
    while not target.exists():
        if target.parent == target:
            return f"no existing parent of {path}"
        target = target.parent
    if not target.is_dir():
        return f"{target} is not a directory"
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".preflight-"):
            pass
    except OSError as exc:
        return f"{target} is not writable: {exc.strerror}"
    return None


def state_dir(context: CheckContext) -> Iterator[Result]:
    problem = state_dir_problem(context.state_dir)
    if problem:
        yield Result.of("state_dir", False, problem)
    else:
        yield Result.of("state_dir", True, f"{context.state_dir} is writable")


PROFILE_CHECKS = (
    Check("ops.plugins", "every component of the profile is registered", plugins, ("plugins",)),
    Check("ops.caveats", "every component can do its job in the mode", caveats, ("caveats",)),
    Check("ops.state_dir", "the state dir is writable", state_dir, ("state_dir",)),
)
