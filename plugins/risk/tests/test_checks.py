"""The risk plugin's preflight check (``risk.files``): the risk files the profile's guards
name are read by the plugin's own parser, and what is wrong is said in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gpt_trader_risk.plugin as risk_plugin
import pytest
from gpt_trader.checks import CheckContext, Result, run_checks
from gpt_trader.config import BotConfig
from gpt_trader.plugins import make_plugin_manager
from gpt_trader.registry import Registry

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "risk" / "spot_top10.toml"


def risk_files(tmp_path: Path, guards: list[dict[str, Any]]) -> Result:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register_plugin(risk_plugin, "risk")
    config = BotConfig(profile={"universe": ["BTC-USD"]}, guards=guards)
    (row,) = run_checks(CheckContext(config, tmp_path, pm, env={}), Registry(pm).checks())
    assert row.check == "risk_files"
    return row


def test_the_shipped_risk_file_is_sane(tmp_path: Path) -> None:
    row = risk_files(tmp_path, [{"use": "notional_caps", "file": str(SHIPPED)}])
    assert row.ok, row.detail
    assert row.detail == f"{SHIPPED}: 10 caps, max_leverage 1"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('version = 1\n[notional_caps]\nBTC-USD = "-5"\n', "notional_caps.BTC-USD"),
        ("version = 1\n[notional_caps]\nBTC-USD = 5.5\n", "is a float"),
        ('version = 1\nmax_leverage = "0"\n', "max_leverage"),
        ('version = 1\nmax_levrage = "2"\n', "max_levrage: unknown key"),
        ("version = [", "is not valid TOML"),
    ],
)
def test_a_bad_risk_file_fails_and_says_why(tmp_path: Path, body: str, says: str) -> None:
    risk = tmp_path / "risk.toml"
    risk.write_text(body)
    row = risk_files(tmp_path, [{"use": "leverage", "file": str(risk)}])
    assert not row.ok
    assert says in row.detail
    assert str(risk) in row.detail


def test_a_missing_file_and_a_profile_without_any(tmp_path: Path) -> None:
    row = risk_files(tmp_path, [{"use": "notional_caps", "file": str(tmp_path / "no.toml")}])
    assert not row.ok
    assert "does not exist" in row.detail
    assert risk_files(tmp_path, []) == Result.of(
        "risk_files", True, "no risk files named by the profile's guards"
    )


def test_only_the_risk_plugins_guards_files_are_risk_files(tmp_path: Path) -> None:
    """A third-party guard's ``file`` setting is its own business, not a risk file."""
    other = tmp_path / "model.bin"
    other.write_bytes(b"\x00\x01")
    row = risk_files(tmp_path, [{"use": "guard.my_model", "file": str(other)}])
    assert row.ok
    assert row.detail == "no risk files named by the profile's guards"
