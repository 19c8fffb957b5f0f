"""The risk plugin's preflight check: every risk file the profile's guards name is valid."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from gpt_trader.checks import Check, CheckContext, Result

from gpt_trader_risk.riskfile import load_risk_file


def risk_file_summary(path: Path) -> str:
    """A one-line summary of a valid risk file; ValueError saying what is wrong."""
    risk = load_risk_file(path)
    lev = f", max_leverage {risk.max_leverage}" if risk.max_leverage is not None else ""
    return f"{path}: {len(risk.notional_caps)} caps{lev}"


def risk_files_check(guards: Collection[str]) -> Check:
    """``risk_files``: the files named by the profile's ``guards`` (those taking ``file``)."""

    def run(context: CheckContext) -> Iterator[Result]:
        files = [
            ref.params["file"]
            for ref in context.config.guards
            if ref.use in guards and ref.params.get("file")
        ]
        if not files:
            yield Result.of("risk_files", True, "no risk files named by the profile's guards")
            return
        details, problems = [], []
        for name in dict.fromkeys(files):
            try:
                details.append(risk_file_summary(Path(str(name)).expanduser()))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            yield Result.of("risk_files", False, "; ".join(problems))
        else:
            yield Result.of("risk_files", True, "; ".join(details))

    return Check("risk.files", "the profile's risk files parse", run, ("risk_files",))
