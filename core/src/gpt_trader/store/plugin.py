"""Built-in plugin ``store``: the ``jsonl`` event-log sink.

The SQLite store itself is not a component: the kernel always wires it, because the
exactly-once and no-lost-fills guarantees depend on it. This module must stay cheap to
import (plugin discovery imports it for every CLI command), so it imports neither SQLite nor
pydantic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

if TYPE_CHECKING:
    from gpt_trader.store.jsonl import JsonlParams, JsonlSink


def make_jsonl_sink(params: JsonlParams, ctx: BuildContext) -> JsonlSink:
    from gpt_trader.store.jsonl import JsonlSink  # the domain events load with a sink

    path = Path(params.path) if params.path else Path("events.jsonl")
    if not path.is_absolute():
        path = ctx.state_dir / path
    return JsonlSink(path)


@hookimpl
def register_sinks() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "jsonl",
        Kind.SINK,
        make_jsonl_sink,
        "gpt_trader.store.jsonl:JsonlParams",
        summary="Append every event as one JSON line to a file",
    )
