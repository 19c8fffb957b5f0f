"""Render the hook reference (docs/hooks.md) from hookspecs.py, so the two cannot drift.

Regenerate with ``uv run python -m gpt_trader.hookdocs > docs/hooks.md``; a test fails when
the checked-in file differs.
"""

from __future__ import annotations

import inspect

from gpt_trader import hookspecs

HEADER = """# Hook reference

Generated from `core/src/gpt_trader/hookspecs.py` by `uv run python -m gpt_trader.hookdocs`;
do not edit by hand (a test compares the two).

Plugins implement these with `from gpt_trader.hookspecs import hookimpl` and are found through
the `gpt_trader` entry-point group. Registration hooks return (or yield)
`gpt_trader.components.ComponentSpec` objects (`register_checks`: `gpt_trader.checks.Check`
objects); lifecycle hooks return nothing.
"""


def hook_functions() -> list[tuple[str, object]]:
    return [
        (name, fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, f"{hookspecs.PROJECT}_spec")
    ]


def render() -> str:
    parts = [HEADER]
    for name, fn in hook_functions():
        signature = str(inspect.signature(fn)).replace("'", "")  # type: ignore[arg-type]
        doc = inspect.cleandoc(fn.__doc__ or "")
        parts.append(f"## `{name}{signature}`\n\n{doc}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
