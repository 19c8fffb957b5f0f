"""A JSON-lines event log: one ``to_jsonable(event)`` object per line, appended to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from gpt_trader.domain.events import Event, RunStopped, to_jsonable
from gpt_trader.params import Params


class JsonlParams(Params):
    """``path``: the file to append to; relative paths are under the state directory
    (default ``<state_dir>/events.jsonl``)."""

    path: str | None = None


class JsonlSink:
    """Appends each event as one JSON line to ``path`` (parent directories are created).

    Writes go through Python's file buffer: flushed on :class:`RunStopped`, :meth:`flush`
    and :meth:`close`, so a crash may lose the last few kilobytes. The SQLite store, not
    this file, is the record the guarantees rest on.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def _open(self) -> IO[str]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        return self._file

    def handle(self, event: Event) -> None:
        f = self._open()
        f.write(json.dumps(to_jsonable(event), separators=(",", ":"), default=str))
        f.write("\n")
        if isinstance(event, RunStopped):
            f.flush()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
