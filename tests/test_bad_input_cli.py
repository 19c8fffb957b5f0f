"""Malformed input through the CLI, generated: every command's options, every shipped
component's params, the profile's sections, durations, paths and profile files.

The contract for each refused input: exit 2, exactly one line on stderr, no traceback, and
nothing new on disk (no state dir, no store). Most cases run the real ``main`` machinery in
this process (the click command is built once from the installed plugins); a few run the
CLI as a subprocess, as a user does.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import re
import sqlite3
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer.main
from cli_helpers import gpt_trader
from gpt_trader.cli.main import build_app, run_cli
from gpt_trader.components import Kind
from gpt_trader.config.durations import parse_duration
from gpt_trader.config.settings import (
    ExecutionSection,
    ExitsSection,
    LoggingSection,
    ProfileSection,
    RunSection,
)
from gpt_trader.errors import UserError
from gpt_trader.plugins import make_plugin_manager
from gpt_trader.registry import Registry
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

PM = make_plugin_manager()
COMMAND = typer.main.get_command(build_app(PM))
REGISTRY = Registry(PM)
SPECS = sorted(((kind, reg.spec) for kind, reg in REGISTRY.all()), key=lambda ks: ks[1].name)
COUNTER = itertools.count()

# A profile every shipped component slots into; each case spoils one part of it.
BASE: dict[str, Any] = {
    "profile": {"mode": "sim", "universe": ["BTC-USD"]},
    "broker": {"use": "sim"},
    "feed": {"use": "synthetic"},
    "signals": [{"use": "sma_cross", "fast": 2, "slow": 4}],
    "voter": {"use": "majority"},
    "sizer": {"use": "fixed", "size": "0.001"},
}
LIST_KINDS = {
    Kind.SIGNAL: "signals",
    Kind.FILTER: "filters",
    Kind.GUARD: "guards",
    Kind.SINK: "sinks",
}
SECTIONS: dict[str, type[BaseModel]] = {
    "profile": ProfileSection,
    "run": RunSection,
    "execution": ExecutionSection,
    "exits": ExitsSection,
    "logging": LoggingSection,
}
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def cases(n: int) -> settings:
    """``n`` generated cases (the same ones every run: derandomised)."""
    return settings(SETTINGS, max_examples=n)


# ---- generated values ---------------------------------------------------------------------
HUGE = st.integers(2_000, 20_000).map(lambda n: "9" * n)
SCALARS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, -(10**9), 10**40, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", " ", "-1", "0", "abc", "1e999", "NaN", "-inf", "0x10", "1_000"]),
    HUGE,
    st.booleans(),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=6), SCALARS, max_size=2),
)
# Never a number to int() or float(): letters only, and not a word float() reads.
WORDS = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12).filter(
    lambda s: s.strip().lower().lstrip("+-") not in {"inf", "nan", "infinity"}
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_string(text: str) -> str:
    # JSON's escapes are TOML's, except that TOML wants DEL escaped and astral characters
    # as themselves (not as a surrogate pair).
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_document(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for name, section in data.items():
        tables = section if isinstance(section, list) else [section]
        for table in tables:
            lines.append(f"[[{name}]]" if isinstance(section, list) else f"[{name}]")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def refuses(model: type[BaseModel], params: dict[str, Any]) -> bool:
    try:
        model.model_validate(params)
    except (ValidationError, UserError, ValueError):
        return True
    return False


# ---- running the CLI ----------------------------------------------------------------------
def cli(*args: str) -> tuple[int, str, str]:
    """``gpt-trader ARGS`` through the same code as the installed command, in-process."""
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run_cli(COMMAND, list(args))
        except SystemExit as exc:
            code = exc.code
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


def files_under(path: Path) -> set[Path]:
    return set(path.rglob("*")) if path.exists() else set()


def refused(result: tuple[int, str, str], *needles: str) -> str:
    code, out, err = result
    assert "Traceback" not in err, err
    assert "Traceback" not in out, out
    lines = err.strip().splitlines()
    assert code == 2, (code, out[-500:], err[-2000:])
    assert len(lines) == 1, err[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-input")


def fresh(work: Path, stem: str) -> Path:
    return work / f"{stem}-{next(COUNTER)}"


def run_refused(work: Path, document: str, *needles: str) -> str:
    """``run`` on a profile holding ``document``: refused, and no state dir left behind."""
    profile = fresh(work, "profile").with_suffix(".toml")
    profile.write_text(document)
    state = fresh(work, "state")
    # --max-events: a profile that wrongly passes still ends, and fails the test.
    args = ("run", "-p", str(profile), "--state-dir", str(state), "--max-events", "1")
    line = refused(cli(*args), *needles)
    assert not state.exists(), f"{line}: left {sorted(files_under(state))}"
    return line


# ---- component params: every shipped component's settings model -------------------------
@cases(150)
@given(data=st.data())
def test_every_components_bad_params_are_refused_before_anything_is_written(
    work: Path, data: st.DataObject
) -> None:
    kind, spec = data.draw(st.sampled_from(SPECS), label="component")
    fields = [*spec.load_settings_model().model_fields, "no_such_param"]
    params = data.draw(
        st.dictionaries(st.sampled_from(fields), VALUES, min_size=1, max_size=2), label="params"
    )
    assume(refuses(spec.load_settings_model(), params))
    profile = json.loads(json.dumps(BASE))
    entry = {"use": spec.name, **params}
    if kind in LIST_KINDS:
        profile[LIST_KINDS[kind]] = [entry]
    else:
        profile[kind.value] = entry
    run_refused(work, toml_document(profile), f"{kind.value} {spec.name!r}")


# ---- the profile's own sections -----------------------------------------------------------
@cases(80)
@given(data=st.data())
def test_bad_section_values_are_refused(work: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(SECTIONS)), label="section")
    model = SECTIONS[name]
    fields = [*model.model_fields, "no_such_key"]
    values = data.draw(
        st.dictionaries(st.sampled_from(fields), VALUES, min_size=1, max_size=2), label="values"
    )
    assume(refuses(model, values))
    profile = json.loads(json.dumps(BASE))
    profile[name] = {**(profile.get(name) or {}), **values}
    assume(refuses(model, profile[name]))
    run_refused(work, toml_document(profile), "profile ")


DURATIONS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["0", "0s", "-5s", "5x", "5 m s", "1e3", "inf", "nan", "", "ms", "1.s"]),
    HUGE,
)


def bad_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except UserError:
        return True
    return False


@cases(40)
@given(text=DURATIONS.filter(bad_duration), where=st.sampled_from(["--for", "max_hold"]))
def test_bad_durations_are_refused(work: Path, text: str, where: str) -> None:
    if where == "max_hold":
        profile = {**BASE, "exits": {"max_hold": text}}
        run_refused(work, toml_document(profile), "max_hold")
        return
    state = fresh(work, "state")
    # `--for=TEXT`: a value starting with '-' is still this option's value.
    args = ("run", "-p", "dev", "--state-dir", str(state), "--max-events", "1")
    refused(cli(*args, f"--for={text}"), "--for")
    assert not state.exists()


# ---- every command's options --------------------------------------------------------------
def _commands(
    command: Any = COMMAND, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if not hasattr(command, "commands"):
        return
    # Resolved as a run resolves them: the root lists its table and imports a command then.
    ctx = typer.Context(command)
    for name in sorted(command.list_commands(ctx)):
        yield from _commands(command.resolve_command(ctx, [name])[1], (*path, name))


COMMANDS = list(_commands())
LEAVES = [(path, c) for path, c in COMMANDS if path and not hasattr(c, "commands")]
NUMERIC = [
    (path, p)
    for path, c in LEAVES
    for p in c.params
    if p.type_descriptor.annotation in (int, float) and p.opts
]
FLAGS = [(path, p) for path, c in LEAVES for p in c.params if getattr(p, "is_flag", False)]


def test_the_tables_cover_every_command() -> None:
    # Plugins' commands too: a command added later joins the generated cases by itself.
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"run", "status", "pause", "stop", "config show", "backtest", "sim serve"} <= names
    assert len(NUMERIC) >= 15
    assert len(FLAGS) >= 20


@cases(60)
@given(data=st.data())
def test_a_bad_number_for_any_option_is_one_line(data: st.DataObject) -> None:
    path, param = data.draw(st.sampled_from(NUMERIC), label="option")
    minimum = param.min
    choices = [WORDS, st.just("")]
    if minimum is not None:
        below = Decimal(str(minimum)) - 1
        low = int(below) if param.type_descriptor.annotation is int else float(below)
        choices.append(st.integers(max_value=int(low)).map(str))
    value = data.draw(st.one_of(*choices), label="value")
    line = refused(cli(*path, f"{param.opts[0]}={value}"))
    # Either the option is named, or a required one that comes first is missing.
    assert param.opts[0] in line or "Missing" in line, line


@cases(30)
@given(data=st.data())
def test_an_unknown_option_or_a_value_on_a_flag_is_one_line(data: st.DataObject) -> None:
    path, _ = data.draw(st.sampled_from(COMMANDS), label="command")
    if data.draw(st.booleans(), label="flag") and FLAGS:
        path, flag = data.draw(st.sampled_from(FLAGS), label="flag option")
        value = data.draw(st.text(min_size=1, max_size=8), label="value")
        refused(cli(*path, f"{flag.opts[0]}={value}"), flag.opts[0])
        return
    name = data.draw(st.from_regex(r"\A[a-z][a-z0-9-]{0,15}\Z"), label="option")
    refused(cli(*path, f"--zz-{name}"), f"--zz-{name}")


# ---- paths: profiles and state dirs -------------------------------------------------------
STATE_COMMANDS = [("status",), ("pause",), ("resume",), ("halt",), ("stop",), ("cancel-all",)]
VALID = (Path(__file__).parents[1] / "config" / "profiles" / "dev.toml").read_bytes()


def not_toml(blob: bytes) -> bool:
    try:
        tomllib.loads(blob.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True
    return False


# A profile cut short somewhere, or bytes that are not a profile; neither parses as TOML.
TRUNCATED = st.integers(1, len(VALID) - 1).map(lambda cut: VALID[:cut]).filter(not_toml)
BINARY = st.binary(min_size=1, max_size=200).filter(not_toml)


@cases(40)
@given(data=st.data(), command=st.sampled_from(["run", "config show"]))
def test_truncated_and_binary_profiles_are_one_line(
    work: Path, data: st.DataObject, command: str
) -> None:
    body = data.draw(st.one_of(TRUNCATED, BINARY), label="profile bytes")
    profile = fresh(work, "profile").with_suffix(".toml")
    profile.write_bytes(body)
    state = fresh(work, "state")
    extra = ["--state-dir", str(state)] if command == "run" else []
    refused(cli(*command.split(), "-p", str(profile), *extra), "profile")
    assert not state.exists()


def _wrong_paths(work: Path) -> dict[str, Path | str]:
    regular = work / "a-file.toml"
    regular.write_text("not a directory\n")
    folder = work / "a-dir.toml"
    folder.mkdir(exist_ok=True)
    return {
        "a regular file": regular,
        "under a regular file": regular / "inside",
        "a directory": folder,
        "missing": work / "nowhere" / "at-all.toml",
        "empty": "",
        "huge": "x" * 5000,
        "nul": "bad\x00name",
    }


@cases(20)
@given(
    which=st.sampled_from(
        ["a regular file", "under a regular file", "a directory", "missing", "empty", "huge"]
    ),
    command=st.sampled_from(["run", "config show", "preflight"]),
)
def test_a_profile_path_of_the_wrong_kind_is_one_line(work: Path, which: str, command: str) -> None:
    target = _wrong_paths(work)[which]
    if command == "preflight" and which in ("a directory",):
        return
    refused(cli(*command.split(), "-p", str(target)), "profile")


def _garbage_store(work: Path, kind: str) -> Path:
    state = fresh(work, "state")
    state.mkdir()
    db = state / "gpt_trader.db"
    if kind == "binary":
        db.write_bytes(b"\x00\xff" * 300)
    elif kind == "truncated":
        whole = state / "whole.db"
        with contextlib.closing(sqlite3.connect(whole)) as c:
            c.execute("create table t(x)")
            c.executemany("insert into t values (?)", [(i,) for i in range(500)])
            c.commit()
        data = whole.read_bytes()
        whole.unlink()
        db.write_bytes(data[: len(data) // 3])
    elif kind == "empty":
        db.write_bytes(b"")
    elif kind == "a directory":
        db.mkdir()
    return state


@cases(40)
@given(
    command=st.sampled_from(STATE_COMMANDS),
    which=st.sampled_from(
        [
            "a regular file",
            "under a regular file",
            "missing",
            "binary",
            "truncated",
            "a directory",
            "huge",
        ]
    ),
)
def test_a_state_dir_of_the_wrong_kind_or_a_corrupt_store_is_one_line(
    work: Path, command: tuple[str, ...], which: str
) -> None:
    if which in ("binary", "truncated", "a directory"):
        state: Path | str = _garbage_store(work, which)
    else:
        state = _wrong_paths(work)[which]
    before = files_under(Path(state)) if isinstance(state, Path) and which != "huge" else set()
    refused(cli(*command, "--state-dir", str(state)))
    if isinstance(state, Path) and which != "huge":
        assert files_under(state) == before


@pytest.mark.parametrize("which", ["a regular file", "under a regular file", "huge", "nul"])
def test_run_refuses_a_state_dir_it_cannot_use(work: Path, which: str) -> None:
    state = _wrong_paths(work)[which]
    refused(cli("run", "-p", "dev", "--state-dir", str(state), "--max-events", "1"), "state")


# ---- regressions from issue #19 -----------------------------------------------------------
@pytest.mark.parametrize("size", ["-1", "0", "abc"])
def test_a_bad_fixed_size_is_refused_before_the_state_dir_exists(work: Path, size: str) -> None:
    profile = {**BASE, "sizer": {"use": "fixed", "size": size}}
    run_refused(work, toml_document(profile), "sizer 'fixed': size:")


def test_max_events_zero_is_our_one_line() -> None:
    line = refused(cli("run", "--max-events", "0"))
    assert line.startswith("gpt-trader: error: run: Invalid value for '--max-events'"), line
    assert "greater than or equal to 1" in line


def test_an_unknown_command_lists_the_commands() -> None:
    line = refused(cli("nosuchcmd"))
    assert re.search(r"commands: run, status, .*backtest", line), line


# ---- a few as real processes --------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--max-events", "0"], "--max-events"),
        (["backtest", "--zz-nope"], "--zz-nope"),
        (["sim", "serve", "--port", "abc"], "--port"),
        (["status", "--state-dir"], "--state-dir"),
    ],
)
def test_as_a_subprocess(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = gpt_trader(*args, cwd=tmp_path)
    refused((proc.returncode, proc.stdout, proc.stderr), "gpt-trader: error:", needle)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_profile_as_a_subprocess_leaves_nothing(tmp_path: Path) -> None:
    profile = tmp_path / "neg.toml"
    profile.write_text(toml_document({**BASE, "sizer": {"use": "fixed", "size": "-1"}}))
    proc = gpt_trader("run", "-p", str(profile), cwd=tmp_path)
    refused((proc.returncode, proc.stdout, proc.stderr), "size")
    assert list(tmp_path.iterdir()) == [profile]
