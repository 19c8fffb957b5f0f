"""How research commands talk to a person: progress bars on stderr while they work (a
backtest's bars, a download's pages), then a backtest's HTML report and PNG asked for, and
JSON or tables (single-product and portfolio alike)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gpt_trader.output import print_json, stderr, stdout

# Below this many bars a backtest is quick enough to need no progress bar.
LONG_RUN_BARS = 20_000


@contextmanager
def bar_progress(total: int, *, shown: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for a long run (none for a short one or with --json): the
    callback a backtest reports its bars done to."""
    if not shown or total < LONG_RUN_BARS or not stderr.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bars"),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )
    task = progress.add_task("bars", total=total)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done)

    progress.start()
    try:
        yield update
    finally:
        progress.stop()


@contextmanager
def page_progress(*, shown: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for a download, a page at a time (none with --json or
    when stderr is not a terminal)."""
    if not shown or not stderr.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("download"), BarColumn(), MofNCompleteColumn(), console=stderr, transient=True
    )
    task = progress.add_task("pages", total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    progress.start()
    try:
        yield update
    finally:
        progress.stop()


def output(
    result: Any,
    show: Callable[[Any, Any, int], None],
    write_html: Callable[..., Path],
    write_png: Callable[[Any, Path], Path],
    as_json: bool,
    report: Path | None,
    report_cdn: bool,
    png: Path | None,
    trades: int,
) -> None:
    """A backtest's result out: the HTML report and PNG asked for, then JSON or tables."""
    from gpt_trader_research.report import png_exporter

    extra: dict[str, Any] = {"report": None, "png": None}
    if report is not None:
        extra["report"] = str(write_html(result, report, cdn=report_cdn))
    if png is not None:
        why = png_exporter()
        if why is None:
            extra["png"] = str(write_png(result, png))
        else:
            extra["png_skipped"] = why
            if not as_json:
                stderr.print(f"[yellow]note:[/] {why}; --png {png} skipped", highlight=False)
    result.extra.update(extra)
    if as_json:
        print_json(result.to_json())
        return
    out = stdout
    show(result, out, trades)
    if extra["report"]:
        out.print(f"report: {extra['report']}")
    if extra["png"]:
        out.print(f"png: {extra['png']}")
