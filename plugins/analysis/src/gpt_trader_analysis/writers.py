"""Writing a table as CSV, JSON lines or Parquet, money exact in each.

CSV and JSONL carry decimals as their exact text. Parquet stores each decimal column as
``decimal128(38, s)`` with ``s`` the largest scale in the column, so every value reads back
equal (``Decimal`` compares by value) to the store's. Files are written to a temporary name
beside the target and renamed, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError

from gpt_trader_analysis.tables import DECIMAL, INT, TS, Table

FORMATS = ("csv", "jsonl", "parquet")


def _csv(table: Table, out: io.TextIOBase | Any) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _ in table.columns])
    writer.writerows(table.rows)


def _jsonl(table: Table, out: io.TextIOBase | Any) -> None:
    names = [name for name, _ in table.columns]
    for row in table.rows:
        out.write(json.dumps(dict(zip(names, row, strict=True))) + "\n")


def _scale(values: list[Any]) -> int:
    exponents = [Decimal(v).as_tuple().exponent for v in values if v is not None]
    return max((-e for e in exponents if isinstance(e, int) and e < 0), default=0)


def _parquet(table: Table, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    fields = []
    for index, (name, kind) in enumerate(table.columns):
        values = [row[index] for row in table.rows]
        if kind == DECIMAL:
            typ: Any = pa.decimal128(38, _scale(values))
            values = [None if v is None else Decimal(v) for v in values]
        elif kind in (TS, INT):
            typ = pa.int64()
        else:
            typ = pa.string()
        arrays.append(pa.array(values, type=typ))
        fields.append(pa.field(name, typ))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)


def write(table: Table, fmt: str, path: Path | None) -> None:
    """Write ``table`` to ``path`` (stdout for CSV/JSONL when None)."""
    if fmt == "parquet" and path is None:
        raise UserError("--format parquet writes a file: give --out PATH")
    text_writers: dict[str, Callable[[Table, Any], None]] = {"csv": _csv, "jsonl": _jsonl}
    if path is None:
        text_writers[fmt](table, sys.stdout)
        return
    if path.is_dir():
        raise UserError(f"--out {path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise UserError(f"--out {path}: folder {path.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        if fmt == "parquet":
            os.close(fd)
            _parquet(table, tmp)
        else:
            with os.fdopen(fd, "w", newline="") as out:
                text_writers[fmt](table, out)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
