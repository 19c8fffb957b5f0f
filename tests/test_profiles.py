"""Every shipped profile names installed components with valid parameters."""

from __future__ import annotations

import pytest
from gpt_trader.app import component_refs
from gpt_trader.config import list_profiles, load_config
from gpt_trader.plugins import make_plugin_manager
from gpt_trader.registry import Registry

PROFILES = [p.name for p in list_profiles()]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry(make_plugin_manager())


@pytest.mark.parametrize("name", PROFILES)
def test_shipped_profile_validates(registry: Registry, name: str) -> None:
    config = load_config(name)
    refs = component_refs(config)
    assert refs
    for kind, ref in refs:
        registry.validate(kind, ref.use, ref.params)


def test_canary_carries_the_seed_limits() -> None:
    config = load_config("canary")
    guards = {g.use: g.params for g in config.guards}
    assert guards["max_position"]["max_size"] == {"BTC-USD": "0.01"}
    assert guards["daily_loss"]["limit"] == "10"
    assert (guards["trading_window"]["start"], guards["trading_window"]["end"]) == (
        "14:00",
        "15:00",
    )
