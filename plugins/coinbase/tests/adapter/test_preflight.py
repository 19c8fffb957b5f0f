"""The Coinbase account checks ``gpt-trader preflight`` runs (``coinbase_checks``), against
the Coinbase-protocol simulator: its own key passes; a malformed key, a world-readable key
file, a skewed clock, a view-only key, a foreign portfolio or a derivatives profile on a
spot account fail and say why."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from coinbase.rest import RESTClient
from gpt_trader.checks import CheckContext, Result, run_checks
from gpt_trader.config import BotConfig
from gpt_trader.hookspecs import hookimpl
from gpt_trader.plugins import PluginManager, make_plugin_manager
from gpt_trader.registry import Registry
from gpt_trader_coinbase import checks_plugin
from gpt_trader_coinbase.auth import KeyProblem, key_type
from gpt_trader_coinbase.preflight import account_checks
from gpt_trader_coinbase_sim.keys import generate_key
from gpt_trader_coinbase_sim.server import SimulatorThread

FAST = {"tick_s": 0.2, "history_minutes": 30, "heartbeat_s": 0.5, "ticker_batch_s": 1.0}
ACCOUNT_ROWS = {
    "key_format",
    "key_file_permissions",
    "api_permissions",
    "portfolio",
    "clock_skew",
    "derivatives",
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorThread]:
    st = SimulatorThread(tmp_path_factory.mktemp("sim"), seed=3, **FAST)
    st.start()
    yield st
    st.stop()


@pytest.fixture
def sim_json(sim: SimulatorThread) -> Path:
    return Path(sim.info.state_dir) / "sim.json"


def pm(plugin: Any = checks_plugin) -> PluginManager:
    manager = make_plugin_manager(load_entrypoints=False)
    manager.register_plugin(plugin, "coinbase_checks")
    return manager


def profile(broker: str = "coinbase.spot", universe: str = "BTC-USD", **params: Any) -> BotConfig:
    return BotConfig(
        profile={"name": "live-test", "mode": "live", "universe": [universe]},
        broker={"use": broker, **params},
    )


def checks(
    config: BotConfig, tmp_path: Path, manager: PluginManager | None = None, **kw: Any
) -> dict[str, Result]:
    kw.setdefault("env", {})
    context = CheckContext(config, tmp_path / "state", manager or pm(), **kw)
    return {r.check: r for r in run_checks(context, Registry(context.pm).checks())}


def failed(results: dict[str, Result]) -> set[str]:
    return {name for name, r in results.items() if not r.ok}


def text(results: dict[str, Result]) -> str:
    return "\n".join(f"{r.status} {r.check} {r.detail}" for r in results.values())


def copy_key(sim: SimulatorThread, dest: Path, mode: int = 0o600) -> Path:
    target = dest / "key.json"
    shutil.copy(sim.info.key_file, target)
    os.chmod(target, mode)
    return target


def test_the_simulators_key_passes_every_check(
    sim: SimulatorThread, sim_json: Path, tmp_path: Path
) -> None:
    key = copy_key(sim, tmp_path)
    results = checks(profile(key_file=str(key)), tmp_path, simulator=sim_json)
    assert failed(results) == set(), text(results)
    assert list(results) == [
        "key_format",
        "key_file_permissions",
        "clock_skew",
        "api_permissions",
        "portfolio",
        "derivatives",
    ]
    assert "ES256 (EC P-256)" in results["key_format"].detail
    assert sim.info.api_key_name in results["key_format"].detail
    assert "0600" in results["key_file_permissions"].detail
    assert "view, trade" in results["api_permissions"].detail
    assert "'Default'" in results["portfolio"].detail
    assert "INTX perpetuals not enabled" in results["derivatives"].detail
    secret = json.loads(key.read_text())["privateKey"]
    for line in secret.strip().splitlines()[1:-1]:
        assert line not in text(results)


def test_the_sim_json_key_is_used_when_the_profile_names_none(
    sim_json: Path, tmp_path: Path
) -> None:
    results = checks(profile(), tmp_path, simulator=sim_json)
    assert failed(results) == set(), text(results)


def test_the_brokers_own_simulator_settings(sim_json: Path, tmp_path: Path) -> None:
    results = checks(profile(sim_json=str(sim_json)), tmp_path)
    assert failed(results) == set(), text(results)
    env_named = checks(profile(), tmp_path, env={"GPT_TRADER_COINBASE_SIM": str(sim_json)})
    assert failed(env_named) == set(), text(env_named)
    own = checks(profile(sim=True), tmp_path)
    assert set(own) == ACCOUNT_ROWS
    assert failed(own) == set()
    assert "starts its own simulator" in own["key_format"].detail


def test_an_in_process_broker_needs_no_account(tmp_path: Path) -> None:
    results = checks(profile("sim"), tmp_path)
    assert set(results) == ACCOUNT_ROWS
    assert failed(results) == set()
    assert all(
        r.detail == "not needed: broker 'sim' trades in-process, no exchange account"
        for r in results.values()
    )


def test_an_unreadable_sim_json_fails_and_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "sim.json"
    # Nothing listens on the discard port: the exchange checks fail fast, off the internet.
    results = checks(profile(rest_base_url="127.0.0.1:9"), tmp_path, simulator=missing)
    assert not results["simulator"].ok
    assert f"simulator info {missing} cannot be read" in results["simulator"].detail


def test_a_malformed_key_fails_and_says_why(sim_json: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "organizations/o/apiKeys/k", "privateKey": "not a key!"}))
    bad.chmod(0o600)
    results = checks(profile(key_file=str(bad)), tmp_path, simulator=sim_json)
    assert results["key_format"].ok is False
    assert "neither a PEM EC key nor a base64 Ed25519 key" in results["key_format"].detail
    assert results["api_permissions"].ok is False
    assert results["api_permissions"].detail == "skipped: no usable API key"
    assert results["clock_skew"].ok, "the public /time check runs without a key"

    notjson = tmp_path / "notjson.json"
    notjson.write_text("-----BEGIN EC PRIVATE KEY-----")
    notjson.chmod(0o600)
    results = checks(profile(key_file=str(notjson)), tmp_path, simulator=sim_json)
    assert "is not JSON" in results["key_format"].detail


def test_a_world_readable_key_file_fails(
    sim: SimulatorThread, sim_json: Path, tmp_path: Path
) -> None:
    key = copy_key(sim, tmp_path, mode=0o644)
    results = checks(profile(key_file=str(key)), tmp_path, simulator=sim_json)
    assert failed(results) == {"key_file_permissions"}
    assert "mode 0644" in results["key_file_permissions"].detail
    assert "chmod 600" in results["key_file_permissions"].detail


def test_a_skewed_clock_fails(sim: SimulatorThread, sim_json: Path, tmp_path: Path) -> None:
    key = copy_key(sim, tmp_path)
    results = checks(
        profile(key_file=str(key)), tmp_path, simulator=sim_json, clock=lambda: time.time() + 30
    )
    assert failed(results) == {"clock_skew"}
    detail = results["clock_skew"].detail
    assert "ahead of the exchange" in detail
    assert "limit 5s" in detail
    skew = float(detail.split("local clock ")[1].split("s ")[0])
    assert 29 < skew < 31
    behind = checks(
        profile(key_file=str(key)), tmp_path, simulator=sim_json, clock=lambda: time.time() - 8
    )
    assert "behind the exchange" in behind["clock_skew"].detail
    assert not behind["clock_skew"].ok


def test_keys_from_the_environment_never_go_to_a_simulator(
    sim: SimulatorThread, sim_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    data = json.loads(Path(sim.info.key_file).read_text())
    env = {"COINBASE_API_KEY": data["name"], "COINBASE_API_SECRET": data["privateKey"]}

    def client(**kwargs: Any) -> Any:  # talks to the simulator, as production would
        kwargs["base_url"] = sim.info.rest_base_url
        return RESTClient(**kwargs)

    class ToTheSimulator:
        @hookimpl
        def register_checks(self) -> Any:
            return account_checks(client_factory=client)

    results = checks(profile(), tmp_path, pm(ToTheSimulator()), env=env)
    assert failed(results) == set(), text(results)
    assert "environment" in results["key_format"].detail
    assert "no file" in results["key_file_permissions"].detail
    # With a simulator named, its own key is used even though the environment has one.
    stranger = {"COINBASE_API_KEY": "organizations/o/apiKeys/k", "COINBASE_API_SECRET": "x"}
    targeted = checks(profile(), tmp_path, simulator=sim_json, env=stranger)
    assert failed(targeted) == set(), text(targeted)
    assert "from file" in targeted["key_format"].detail


def test_a_view_only_key_and_a_foreign_portfolio_fail(
    sim: SimulatorThread, sim_json: Path, tmp_path: Path
) -> None:
    key = generate_key("EdDSA")
    sim.call(lambda: sim.state.keys.register(key.name, key.public_key(), can_trade=False))
    path = tmp_path / "viewer.json"
    path.write_text(key.to_json())
    path.chmod(0o600)
    results = checks(
        profile(key_file=str(path), portfolio_uuid="elsewhere"), tmp_path, simulator=sim_json
    )
    assert "EdDSA (Ed25519)" in results["key_format"].detail
    assert failed(results) == {"api_permissions", "portfolio"}
    assert "trading needs view and trade" in results["api_permissions"].detail
    assert "wants portfolio elsewhere" in results["portfolio"].detail


def test_an_unknown_key_is_refused_by_the_exchange(sim_json: Path, tmp_path: Path) -> None:
    stranger = generate_key("ES256")
    path = tmp_path / "stranger.json"
    path.write_text(stranger.to_json())
    path.chmod(0o600)
    results = checks(profile(key_file=str(path)), tmp_path, simulator=sim_json)
    assert results["key_format"].ok
    assert "HTTP 401" in results["api_permissions"].detail
    assert failed(results) == {"api_permissions", "portfolio", "derivatives"}
    assert results["derivatives"].detail == "skipped: the key was not accepted"


@pytest.mark.parametrize(
    ("broker", "needs"), [("coinbase.intx", "INTX perpetuals"), ("coinbase.cfm", "CFM futures")]
)
def test_a_derivatives_profile_on_a_spot_account_fails(
    sim: SimulatorThread, sim_json: Path, tmp_path: Path, broker: str, needs: str
) -> None:
    key = copy_key(sim, tmp_path)
    results = checks(profile(broker, key_file=str(key)), tmp_path, simulator=sim_json)
    assert failed(results) == {"derivatives"}
    assert f"the profile trades {needs}" in results["derivatives"].detail


@pytest.fixture(scope="module")
def intx_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorThread]:
    st = SimulatorThread(
        tmp_path_factory.mktemp("intx"), seed=3, products=["BTC-USD", "BTC-PERP-INTX"], **FAST
    )
    st.start()
    yield st
    st.stop()


@pytest.mark.parametrize(("switch", "ok"), [(None, False), ("1", True)])
def test_an_intx_account_is_eligible_only_with_the_switch_on(
    intx_sim: SimulatorThread, tmp_path: Path, switch: str | None, ok: bool
) -> None:
    key = copy_key(intx_sim, tmp_path)
    env = {"COINBASE_ENABLE_DERIVATIVES": switch} if switch else {}
    results = checks(
        profile("coinbase.intx", key_file=str(key)),
        tmp_path,
        simulator=Path(intx_sim.info.state_dir) / "sim.json",
        env=env,
    )
    derivatives = results["derivatives"]
    assert derivatives.ok is ok
    assert "INTX perpetuals enabled" in derivatives.detail
    if not ok:
        assert "set COINBASE_ENABLE_DERIVATIVES=1" in derivatives.detail


def _pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_key_types() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    assert key_type(_pem(ec.generate_private_key(ec.SECP256R1()))) == "ES256 (EC P-256)"
    ed = ed25519.Ed25519PrivateKey.generate()
    assert key_type(_pem(ed)) == "EdDSA (Ed25519)"
    seed = ed.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert key_type(base64.b64encode(seed).decode()) == "EdDSA (Ed25519)"
    with pytest.raises(KeyProblem, match="public half does not match"):
        key_type(base64.b64encode(seed + bytes(32)).decode())
    with pytest.raises(KeyProblem, match="P-256"):
        key_type(_pem(ec.generate_private_key(ec.SECP384R1())))
    with pytest.raises(KeyProblem, match="RSA"):
        key_type(_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    with pytest.raises(KeyProblem, match="16 bytes"):
        key_type(base64.b64encode(bytes(16)).decode())


def test_the_entry_point_registers_the_four_checks() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="gpt_trader") if e.name == "coinbase_checks"]
    assert ep.load() is checks_plugin
    names = [c.name for c in checks_plugin.register_checks()]
    assert names == [
        "coinbase.key",
        "coinbase.clock",
        "coinbase.permissions",
        "coinbase.eligibility",
    ]
