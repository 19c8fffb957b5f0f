"""A candle CSV read column-wise: Arrow's CSV reader into numpy columns, no object per bar.

The result is the :class:`~gpt_trader.domain.bars.BarSeries` that the row parser
(:func:`gpt_trader.sim.csvfeed.parse_csv`) gives for the same file: the same int-ns open
times, the same floats (both parsers round each decimal text to the nearest double), and the
same source text per bar, except that the text is cut out of the file only for the bars
somebody asks for (:class:`RawRows`), as the replay driver asks only for the bars that go
through the kernel. The float columns are numpy arrays; the open times stay a list of ints
(they end up in orders, events and JSON, where a numpy integer is not an int).

Anything this reader cannot prove equal to the row parser's reading (a bad or unusual row,
mixed timestamp formats, non-ASCII text, a file out of order or off its grid) returns
``None``, and the caller runs the row parser, which either reads it or names the line.
"""

from __future__ import annotations

import io
import operator
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from gpt_trader.domain.bars import BarSeries
from gpt_trader.sim.csvfeed import header_columns

NS = 1_000_000_000
# Bytes str.splitlines() also breaks at (the row parser's line split), beside CR and LF.
_LINE_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_EPOCH_MS_FROM = 100_000_000_000  # the row parser's rule: at or above this, milliseconds

Raw = tuple[str, str, str, str, str]


class RawRows(Sequence[Raw]):
    """The O/H/L/C/V source text of each row, cut from the file's bytes when asked for.

    Row bounds are ``array('q')``: indexing one gives a Python int at once (a numpy scalar
    costs a conversion on every slice of the bytes)."""

    __slots__ = ("_data", "_ends", "_fields", "_pick", "_starts")

    def __init__(
        self,
        data: bytes,
        starts: array[int],
        ends: array[int],
        fields: tuple[int, int, int, int, int],
    ) -> None:
        self._data = data
        self._starts = starts
        self._ends = ends
        self._fields = fields
        self._pick = operator.itemgetter(*fields)

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, i: int) -> Raw: ...
    @overload
    def __getitem__(self, i: slice) -> RawRows: ...
    def __getitem__(self, i: int | slice) -> Raw | RawRows:
        if isinstance(i, slice):
            return RawRows(self._data, self._starts[i], self._ends[i], self._fields)
        row: Raw = self._pick(self._data[self._starts[i] : self._ends[i]].decode().split(","))
        return row

    def __iter__(self) -> Iterator[Raw]:
        for i in range(len(self._starts)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


def _lines(buf: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end (before any CR) of every non-empty line."""
    breaks = np.flatnonzero(buf == 0x0A)
    starts = np.concatenate(([0], breaks + 1)).astype(np.int64)
    ends = np.concatenate((breaks, [len(buf)])).astype(np.int64)
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 0x0D)
    ends = ends - has_cr
    keep = ends > starts
    return starts[keep], ends[keep]


def _numbers(column: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A null-free numeric or timestamp column's values, read off its buffers: pyarrow's
    own conversions import pandas or ``pyarrow.compute`` (a second of start-up)."""
    parts = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * 8)
        for chunk in column.chunks
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


_UNIT_NS = {"s": NS, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _open_times(column: Any) -> npt.NDArray[np.int64] | None:
    import pyarrow as pa

    if column.null_count:
        return None
    if pa.types.is_timestamp(column.type):
        return _numbers(column, np.int64) * _UNIT_NS[column.type.unit]
    if pa.types.is_int64(column.type):
        ts = _numbers(column, np.int64)
        if ts.size and ts.min() < 0:
            return None
        return np.where(ts >= _EPOCH_MS_FROM, ts * 1_000_000, ts * NS)
    return None


def _valid(ts: npt.NDArray[np.int64], cols: list[npt.NDArray[np.float64]]) -> int | None:
    """The row parser's checks on every row at once; the interval in ns, or None."""
    o, h, lo, c, v = cols
    with np.errstate(invalid="ignore"):
        ok = (lo > 0) & (lo <= o) & (o <= h) & (lo <= c) & (c <= h) & (v >= 0)
        ok &= np.isfinite(h) & np.isfinite(v)
    if not bool(ok.all()) or len(ts) < 2:
        return None
    steps = np.diff(ts)
    step = int(steps[0])
    if step <= 0 or step % NS or not bool((steps > 0).all()) or bool((steps % step).any()):
        return None
    return step


def read_columns(path: Path, symbol: str) -> BarSeries | None:
    """``path``'s bars for ``symbol``, or None when the row parser must read the file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.isascii() or any(b in data for b in _LINE_BREAKS):
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends = _lines(buf)
    if len(starts) < 3:
        return None
    header = data[starts[0] : ends[0]].decode("ascii")
    try:
        ncols, (i_ts, i_o, i_h, i_l, i_c, i_v) = header_columns(path, header)
    except Exception:
        return None
    names = [f"c{i}" for i in range(ncols)]
    floats = [names[i] for i in (i_o, i_h, i_l, i_c, i_v)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names),
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(floats, pa.float64()),
                include_columns=[names[i_ts], *floats],
                quoted_strings_can_be_null=False,
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    starts, ends = starts[1:], ends[1:]
    if table.num_rows != len(starts):
        return None
    ts = _open_times(table.column(names[i_ts]))
    if ts is None:
        return None
    if any(table.column(name).null_count for name in floats):
        return None
    cols = [_numbers(table.column(name), np.float64) for name in floats]
    step = _valid(ts, cols)
    if step is None:
        return None
    bounds = [array("q", b.tobytes()) for b in (starts, ends)]
    raw = RawRows(data, *bounds, (i_o, i_h, i_l, i_c, i_v))
    o, h, lo, c, v = cols
    return BarSeries(symbol, step // NS, ts.tolist(), o, h, lo, c, v, raw)  # type: ignore[arg-type]
