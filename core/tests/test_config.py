"""Profiles: lookup, validation, env overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpt_trader.config import list_profiles, load_config
from gpt_trader.config.redact import REDACTED, redact, secret_values
from gpt_trader.errors import ConfigError
from pydantic import BaseModel, SecretStr


def test_shipped_profiles_are_listed() -> None:
    names = {p.name for p in list_profiles()}
    assert {"dev", "paper", "canary", "prod"} <= names


def test_dev_profile_is_the_sim_universe() -> None:
    cfg = load_config("dev")
    assert cfg.profile.mode == "sim"
    assert cfg.broker.use == "sim"
    assert len(cfg.profile.universe) == 10
    assert all(s.endswith("-USD") for s in cfg.profile.universe)
    assert cfg.sizer.params["sizes"]["BTC-USD"] == "0.001"


def test_misspelled_profile_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'dve'.*did you mean 'dev'"):
        load_config("dve")


def test_profile_by_path_and_unknown_field(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[profile]\nuniverse = ["BTC-USD"]\n[run]\non_stopp = "cancel"\n')
    with pytest.raises(ConfigError, match=r"run.on_stopp: unknown field"):
        load_config(str(path))


def test_bad_symbol_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[profile]\nuniverse = ["btcusd"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert (
        str(err.value)
        == "profile 'mine': profile.universe: 'btcusd' is not a product id like 'BTC-USD'"
    )


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[profile\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(path))


def test_env_overrides_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPT_TRADER_RUN__ON_STOP", "leave")
    monkeypatch.setenv("GPT_TRADER_BROKER__STARTING_CASH", "5000")
    cfg = load_config("dev")
    assert cfg.run.on_stop == "leave"
    assert cfg.broker.params["starting_cash"] == "5000"
    assert cfg.broker.params["market_fill"] == "immediate"


def test_redaction_rules() -> None:
    class Settings(BaseModel):
        url: SecretStr
        timeout_s: float = 5.0

    data = {
        "use": "x",
        "url": "https://hooks.example.com/T/B/tok",
        "copy": "https://hooks.example.com/T/B/tok",
        "api_key": "k-123",
        "password_env": "SMTP_PASSWORD",
        "key_file": "~/.keys/cdp.json",
        "username": "bot",
        "notifiers": [{"kind": "webhook", "target": "https://hooks.example.com/other"}],
        "dsn": "postgres://u:p@db/x",
        "feed_url": "wss://u:p@ws.example.com/feed?token=abc&depth=5",
        "base_url": "https://127.0.0.1:8443/api",
        "sizes": {"BTC-USD": "0.001"},
        "empty_token": "",
    }
    secrets = secret_values(Settings(url="https://hooks.example.com/T/B/tok"))
    assert redact(data, secrets) == {
        "use": "x",
        "url": REDACTED,
        "copy": REDACTED,
        "api_key": REDACTED,
        "password_env": "SMTP_PASSWORD",
        "key_file": "~/.keys/cdp.json",
        "username": REDACTED,
        "notifiers": [{"kind": "webhook", "target": REDACTED}],
        "dsn": REDACTED,
        "feed_url": f"wss://{REDACTED}@ws.example.com/feed?token={REDACTED}&depth=5",
        "base_url": "https://127.0.0.1:8443/api",
        "sizes": {"BTC-USD": "0.001"},
        "empty_token": "",
    }
