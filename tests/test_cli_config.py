"""`config show` validates as `run` does and redacts secrets; `--no-plugins` keeps core's
own components."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cli_helpers import REPO, gpt_trader
from gpt_trader.testing import install_plugin

SAMPLE_CSV = REPO / "tests" / "data" / "btcusd_1m_sample.csv"

WEBHOOK = "https://hooks.slack.com/services/T0001/B0001/hunter2webhooktoken"
SMTP_USER = "smtp-bot-account"
SMTP_PASSWORD = "hunter2-smtp-password"
API_TOKEN = "tok-0123456789abcdef"
DSN_PASSWORD = "hunter2-dsn"
EMAIL = f"""
[[sinks.notifiers]]
kind = "email"
sender = "bot@example.com"
to = ["ops@example.com"]
username = "{SMTP_USER}"
"""

# A third-party sink whose params hold secrets in plain strings, not SecretStr.
SECRET_SINK = """
from pydantic import BaseModel, ConfigDict

from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    smtp_password: str
    api_token: str
    database: str
    webhook_url: str


@hookimpl
def register_sinks():
    yield ComponentSpec("secretive.sink", Kind.SINK, lambda p, ctx: None, Params)
"""


def one_line_error(proc: object) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)  # type: ignore[attr-defined]
    lines = proc.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, proc.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in lines[0]
    return lines[0]


def profile(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text('[profile]\nuniverse = ["BTC-USD"]\n' + textwrap.dedent(body))
    return str(path)


@pytest.fixture
def secretive_plugin(tmp_path: Path) -> dict[str, str]:
    """A fake installed distribution (dist-info on PYTHONPATH) with the ``secretive.sink``."""
    site = install_plugin(
        tmp_path / "site", "secretive", SECRET_SINK, distribution="secretive-plugin", version="1.0"
    )
    return {"PYTHONPATH": site}


@pytest.mark.parametrize(
    ("profile_body", "env", "expected"),
    [
        (None, {"GPT_TRADER_BROKER__STARTING_CASH": "-5"}, "starting_cash"),
        ('[broker]\nuse = "sim"\nstartng_cash = "5"\n', {}, "startng_cash: unknown field"),
        ('[broker]\nuse = "sim"\nstarting_cash = "-5"\n', {}, "starting_cash"),
        (
            '[[guards]]\nuse = "daily_loss"\nlimit = "-10"\n',
            {},
            "limit: must be greater than zero (got -10)",
        ),
    ],
    ids=[
        "negative cash from the environment",
        "unknown key",
        "negative cash in the file",
        "a guard's own check",
    ],
)
def test_config_show_refuses_what_run_refuses(
    tmp_path: Path, profile_body: str | None, env: dict[str, str], expected: str
) -> None:
    name = "dev" if profile_body is None else profile(tmp_path, "bad", profile_body)
    shown = one_line_error(gpt_trader("config", "show", "--profile", name, env=env))
    assert expected in shown
    ran = one_line_error(
        gpt_trader("run", "--profile", name, "--state-dir", str(tmp_path / "s"), env=env)
    )
    assert shown == ran


def test_an_error_prints_brackets_as_written(tmp_path: Path) -> None:
    missing = str(tmp_path / "no[such].toml")
    for args in (("config", "show"), ("run", "--state-dir", str(tmp_path / "s"))):
        line = one_line_error(gpt_trader(*args, "--profile", missing))
        assert line == f"gpt-trader: error: profile file '{missing}' does not exist", line


@pytest.mark.parametrize(
    "profile_body",
    [
        '[[guards]]\nuse = "daily_loss"\nlimit = "-10"\n',
        None,  # a universe of lower-case symbols
    ],
    ids=["guard-limit", "lower-case-symbol"],
)
@pytest.mark.parametrize(
    "command", [("config", "show"), ("run", "--state-dir", "{tmp}/s")], ids=["config", "run"]
)
def test_validation_messages_have_no_pydantic_prefix(
    tmp_path: Path, profile_body: str | None, command: tuple[str, ...]
) -> None:
    if profile_body is None:
        name = str(tmp_path / "lower.toml")
        (tmp_path / "lower.toml").write_text('[profile]\nuniverse = ["btc-usd"]\n')
    else:
        name = profile(tmp_path, "loss", profile_body)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    line = one_line_error(gpt_trader(*args, "--profile", name))
    assert "Value error" not in line, line
    assert "must be greater than zero" in line or "not a product id" in line, line


def test_config_show_redacts_every_secret(tmp_path: Path, secretive_plugin: dict[str, str]) -> None:
    name = profile(
        tmp_path,
        "secrets",
        f"""
        [[sinks]]
        use = "alerts"
        [[sinks.notifiers]]
        kind = "webhook"
        url = "{WEBHOOK}"
        """
        + EMAIL
        + f"""password_env = "SMTP_PASSWORD"
        [[sinks]]
        use = "secretive.sink"
        smtp_password = "{SMTP_PASSWORD}"
        api_token = "{API_TOKEN}"
        database = "postgresql://trader:{DSN_PASSWORD}@db.example.com/bot"
        webhook_url = "{WEBHOOK}"
        """,
    )
    secrets = (WEBHOOK, "hunter2", SMTP_USER, SMTP_PASSWORD, API_TOKEN, DSN_PASSWORD)
    text = gpt_trader("config", "show", "--profile", name, env=secretive_plugin)
    as_json = gpt_trader("config", "show", "--profile", name, "--json", env=secretive_plugin)
    for proc in (text, as_json):
        assert proc.returncode == 0, proc.stderr
        for secret in secrets:
            assert secret not in proc.stdout + proc.stderr
        assert "<redacted>" in proc.stdout
        assert "SMTP_PASSWORD" in proc.stdout  # where the password comes from is no secret
    sinks = json.loads(as_json.stdout)["sinks"]
    assert sinks[1]["database"] == "postgresql://<redacted>@db.example.com/bot"


def test_a_password_the_settings_refuse_is_not_echoed(tmp_path: Path) -> None:
    name = profile(
        tmp_path,
        "smtp",
        '[[sinks]]\nuse = "alerts"\n' + EMAIL + f'password = "{SMTP_PASSWORD}"\n',
    )
    line = one_line_error(gpt_trader("config", "show", "--profile", name))
    assert "password: unknown field" in line
    assert SMTP_PASSWORD not in line
    assert SMTP_USER not in line


def test_no_plugins_keeps_core_and_only_core() -> None:
    proc = gpt_trader("--no-plugins", "plugins", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["name"] for r in rows} == {"core", "sim", "store"}
    assert {r["distribution"] for r in rows} == {"gpt-trader"}
    assert {r["status"] for r in rows} == {"loaded"}
    provides = {p for r in rows for p in r["provides"]}
    assert {
        "broker:sim",
        "feed:synthetic",
        "feed:csv",
        "sink:log",
        "sink:jsonl",
        "sizer:fixed",
        "voter:consensus",
    } <= provides
    everything = json.loads(gpt_trader("--no-plugins", "plugins", "list", "--all", "--json").stdout)
    assert {r["name"]: r["status"] for r in everything}["strategies"] == "disabled"


def test_a_core_only_profile_validates_and_runs_without_plugins(tmp_path: Path) -> None:
    name = profile(
        tmp_path,
        "core",
        f"""
        [broker]
        use = "sim"
        [feed]
        use = "csv"
        path = "{SAMPLE_CSV}"
        symbol = "BTC-USD"
        [voter]
        use = "consensus"
        [sizer]
        use = "fixed"
        size = "0.001"
        [[sinks]]
        use = "log"
        [[sinks]]
        use = "jsonl"
        """,
    )
    shown = gpt_trader("--no-plugins", "config", "show", "--profile", name, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["broker"]["use"] == "sim"
    state = tmp_path / "state"
    ran = gpt_trader(
        "--no-plugins", "run", "--profile", name, "--state-dir", str(state), "--max-events", "20"
    )
    assert ran.returncode == 0, ran.stderr
    assert (state / "events.jsonl").stat().st_size > 0
    # A plugin's component is what --no-plugins leaves out.
    line = one_line_error(gpt_trader("--no-plugins", "config", "show", "--profile", "dev"))
    assert "unknown voter 'majority'" in line


@pytest.mark.parametrize(
    ("body", "left_out"),
    [
        ("", {"profile", "broker", "feed", "signals", "voter", "sizer", "run", "logging"}),
        ('[profile]\nuniverse = ["BTC-USD"]\n[[signals]]\nuse = "sma_cross"\n', {"broker"}),
    ],
    ids=["an empty profile", "no [broker]"],
)
def test_config_show_names_the_sections_a_profile_leaves_out(
    tmp_path: Path, body: str, left_out: set[str]
) -> None:
    path = tmp_path / "sparse.toml"
    path.write_text(body)
    proc = gpt_trader("config", "show", "--profile", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    defaulted = json.loads(proc.stdout)["_defaulted"]
    assert left_out <= set(defaulted)
    assert defaulted["broker"]["use"] == "sim"
    text = gpt_trader("config", "show", "--profile", str(path))
    [line] = [x for x in text.stderr.splitlines() if x.startswith("defaults:")]
    assert "[broker] = sim" in line


def test_run_says_once_which_sections_it_defaulted(tmp_path: Path) -> None:
    path = tmp_path / "nobroker.toml"
    path.write_text('[profile]\nuniverse = ["BTC-USD"]\n[[signals]]\nuse = "sma_cross"\n')
    proc = gpt_trader(
        "run", "--profile", str(path), "--state-dir", str(tmp_path / "state"),
        "--max-events", "3", "--dev-fast", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # --json keeps only warnings: a left-out [broker] decides where orders go, so it is one.
    assert proc.stderr.count("leaves out sections") == 1, proc.stderr
    assert "[broker] = sim" in " ".join(proc.stderr.split())
