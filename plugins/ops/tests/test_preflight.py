"""`gpt-trader preflight` against the Coinbase-protocol simulator: its own key passes; a
malformed key, a world-readable key file, a skewed clock, a view-only key, a foreign
portfolio or a derivatives profile on a spot account fail and say why."""

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
from gpt_trader.components import ComponentSpec, Kind, Params
from gpt_trader.config import BotConfig
from gpt_trader.hookspecs import hookimpl
from gpt_trader_ops.preflight import Check, KeyProblem, key_type, render, run_preflight
from ops_support import plugin_manager

pytest.importorskip("coinbase.rest", reason="preflight talks to the exchange with the SDK")
simulator = pytest.importorskip("gpt_trader_coinbase_sim.server")
keys = pytest.importorskip("gpt_trader_coinbase_sim.keys")
SimulatorThread = simulator.SimulatorThread
generate_key = keys.generate_key

FAST = {"tick_s": 0.2, "history_minutes": 30, "heartbeat_s": 0.5, "ticker_batch_s": 1.0}


class BrokerParams(Params):
    key_file: str | None = None
    portfolio_uuid: str | None = None
    sim: bool | str = False
    sim_json: str | None = None


class StubCoinbase:
    """Stands in for the Coinbase brokers so the profile's components are registered."""

    @hookimpl
    def register_brokers(self) -> Any:
        for name in ("coinbase.spot", "coinbase.cfm", "coinbase.intx"):
            yield ComponentSpec(name, Kind.BROKER, lambda p, ctx: None, BrokerParams)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    st = SimulatorThread(tmp_path_factory.mktemp("sim"), seed=3, **FAST)
    st.start()
    yield st
    st.stop()


@pytest.fixture
def sim_json(sim: Any) -> Path:
    return Path(sim.info.state_dir) / "sim.json"


def pm() -> Any:
    manager = plugin_manager()
    manager.register_plugin(StubCoinbase(), "stub-coinbase")
    return manager


def profile(
    broker: str = "coinbase.spot", guards: list[dict[str, Any]] | None = None, **params: Any
) -> BotConfig:
    return BotConfig(
        profile={"name": "live-test", "mode": "live", "universe": ["BTC-USD"]},
        broker={"use": broker, **params},
        feed={"use": "synthetic"},
        signals=[{"use": "test.flip"}],
        voter={"use": "test.first"},
        guards=guards or [],
    )


def checks(config: BotConfig, tmp_path: Path, **kw: Any) -> dict[str, Check]:
    kw.setdefault("env", {})
    results = run_preflight(config, pm(), state_dir=tmp_path / "state", **kw)
    return {c.check: c for c in results}


def failed(results: dict[str, Check]) -> set[str]:
    return {name for name, c in results.items() if not c.ok}


def copy_key(sim: Any, dest: Path, mode: int = 0o600) -> Path:
    target = dest / "key.json"
    shutil.copy(sim.info.key_file, target)
    os.chmod(target, mode)
    return target


def test_the_simulators_key_passes_every_check(sim: Any, sim_json: Path, tmp_path: Path) -> None:
    key = copy_key(sim, tmp_path)
    results = checks(profile(key_file=str(key)), tmp_path, sim_json=sim_json)
    assert failed(results) == set(), render(list(results.values()))
    assert set(results) == {
        "plugins",
        "caveats",
        "state_dir",
        "risk_files",
        "key_format",
        "key_file_permissions",
        "api_permissions",
        "portfolio",
        "clock_skew",
        "derivatives",
    }
    assert "ES256 (EC P-256)" in results["key_format"].detail
    assert sim.info.api_key_name in results["key_format"].detail
    assert "0600" in results["key_file_permissions"].detail
    assert "view, trade" in results["api_permissions"].detail
    assert "'Default'" in results["portfolio"].detail
    assert "INTX perpetuals not enabled" in results["derivatives"].detail
    secret = json.loads(key.read_text())["privateKey"]
    for line in secret.strip().splitlines()[1:-1]:
        assert line not in render(list(results.values()))


def test_the_sim_json_key_is_used_when_the_profile_names_none(
    sim_json: Path, tmp_path: Path
) -> None:
    results = checks(profile(), tmp_path, sim_json=sim_json)
    assert failed(results) == set(), render(list(results.values()))


def test_the_brokers_own_simulator_settings(sim_json: Path, tmp_path: Path) -> None:
    results = checks(profile(sim_json=str(sim_json)), tmp_path)
    assert failed(results) == set(), render(list(results.values()))
    own = checks(profile(sim=True), tmp_path)
    assert failed(own) == set()
    assert "starts its own simulator" in own["key_format"].detail


def test_a_malformed_key_fails_and_says_why(sim_json: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "organizations/o/apiKeys/k", "privateKey": "not a key!"}))
    bad.chmod(0o600)
    results = checks(profile(key_file=str(bad)), tmp_path, sim_json=sim_json)
    assert results["key_format"].ok is False
    assert "neither a PEM EC key nor a base64 Ed25519 key" in results["key_format"].detail
    assert results["api_permissions"].ok is False
    assert results["clock_skew"].ok, "the public /time check runs without a key"

    notjson = tmp_path / "notjson.json"
    notjson.write_text("-----BEGIN EC PRIVATE KEY-----")
    notjson.chmod(0o600)
    results = checks(profile(key_file=str(notjson)), tmp_path, sim_json=sim_json)
    assert "is not JSON" in results["key_format"].detail


def test_a_world_readable_key_file_fails(sim: Any, sim_json: Path, tmp_path: Path) -> None:
    key = copy_key(sim, tmp_path, mode=0o644)
    results = checks(profile(key_file=str(key)), tmp_path, sim_json=sim_json)
    assert failed(results) == {"key_file_permissions"}
    assert "mode 0644" in results["key_file_permissions"].detail
    assert "chmod 600" in results["key_file_permissions"].detail


def test_a_skewed_clock_fails(sim: Any, sim_json: Path, tmp_path: Path) -> None:
    key = copy_key(sim, tmp_path)
    results = checks(
        profile(key_file=str(key)), tmp_path, sim_json=sim_json, clock=lambda: time.time() + 30
    )
    assert failed(results) == {"clock_skew"}
    detail = results["clock_skew"].detail
    assert "ahead of the exchange" in detail
    assert "limit 5s" in detail
    skew = float(detail.split("local clock ")[1].split("s ")[0])
    assert 29 < skew < 31
    behind = checks(
        profile(key_file=str(key)), tmp_path, sim_json=sim_json, clock=lambda: time.time() - 8
    )
    assert "behind the exchange" in behind["clock_skew"].detail
    assert not behind["clock_skew"].ok


def test_keys_from_the_environment_never_go_to_a_simulator(
    sim: Any, sim_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    data = json.loads(Path(sim.info.key_file).read_text())
    env = {"COINBASE_API_KEY": data["name"], "COINBASE_API_SECRET": data["privateKey"]}

    def client(**kwargs: Any) -> Any:  # talks to the simulator, as production would
        from coinbase.rest import RESTClient

        kwargs["base_url"] = sim.info.rest_base_url
        return RESTClient(**kwargs)

    config = profile()
    results = {
        c.check: c
        for c in run_preflight(
            config,
            pm(),
            state_dir=tmp_path,
            env=env,
            client_factory=client,
            sim_json=None,
        )
    }
    assert failed(results) == set(), render(list(results.values()))
    assert "environment" in results["key_format"].detail
    assert "no file" in results["key_file_permissions"].detail
    # With a simulator named, its own key is used even though the environment has one.
    stranger = {"COINBASE_API_KEY": "organizations/o/apiKeys/k", "COINBASE_API_SECRET": "x"}
    targeted = checks(profile(), tmp_path, sim_json=sim_json, env=stranger)
    assert failed(targeted) == set(), render(list(targeted.values()))
    assert "from file" in targeted["key_format"].detail


def test_a_view_only_key_and_a_foreign_portfolio_fail(
    sim: Any, sim_json: Path, tmp_path: Path
) -> None:
    key = generate_key("EdDSA")
    sim.call(lambda: sim.state.keys.register(key.name, key.public_key(), can_trade=False))
    path = tmp_path / "viewer.json"
    path.write_text(key.to_json())
    path.chmod(0o600)
    results = checks(
        profile(key_file=str(path), portfolio_uuid="elsewhere"), tmp_path, sim_json=sim_json
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
    results = checks(profile(key_file=str(path)), tmp_path, sim_json=sim_json)
    assert results["key_format"].ok
    assert "HTTP 401" in results["api_permissions"].detail
    assert failed(results) == {"api_permissions", "portfolio", "derivatives"}


@pytest.mark.parametrize(
    ("broker", "needs"), [("coinbase.intx", "INTX perpetuals"), ("coinbase.cfm", "CFM futures")]
)
def test_a_derivatives_profile_on_a_spot_account_fails(
    sim: Any, sim_json: Path, tmp_path: Path, broker: str, needs: str
) -> None:
    key = copy_key(sim, tmp_path)
    results = checks(profile(broker, key_file=str(key)), tmp_path, sim_json=sim_json)
    assert failed(results) == {"derivatives"}
    assert f"the profile trades {needs}" in results["derivatives"].detail


def test_profile_sanity_risk_files_plugins_and_state_dir(tmp_path: Path) -> None:
    risk = tmp_path / "risk.toml"
    risk.write_text('version = 1\nmax_leverage = "1"\n[notional_caps]\nBTC-USD = "-5"\n')
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = BotConfig(
        profile={"name": "p", "universe": ["BTC-USD"]},
        signals=[{"use": "test.flipp"}],
        voter={"use": "test.first"},
        guards=[{"use": "guard.notional_caps", "file": str(risk)}],
    )
    results = {c.check: c for c in run_preflight(config, pm(), state_dir=blocker / "state", env={})}
    assert "notional_caps.BTC-USD" in results["risk_files"].detail
    assert "test.flipp" in results["plugins"].detail
    assert "did you mean 'test.flip'" in results["plugins"].detail
    assert "guard.notional_caps" in results["plugins"].detail  # the risk plugin is not loaded
    assert "not a directory" in results["state_dir"].detail
    assert failed(results) == {"risk_files", "plugins", "state_dir"}
    assert results["key_format"].detail.startswith("not needed")


def test_the_shipped_risk_file_is_sane(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[3] / "config" / "risk" / "spot_top10.toml"
    config = BotConfig(
        voter={"use": "test.first"},
        guards=[{"use": "guard.notional_caps", "file": str(shipped)}],
    )
    (risk,) = [
        c
        for c in run_preflight(config, pm(), state_dir=tmp_path, env={})
        if c.check == "risk_files"
    ]
    assert risk.ok, risk.detail
    assert "10 caps, max_leverage 1" in risk.detail


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


def test_the_command_prints_json_and_exits_1_on_failure(
    sim: Any, sim_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpt_trader.cli.main import build_app
    from typer.testing import CliRunner

    for var in ("COINBASE_API_KEY", "COINBASE_API_SECRET", "GPT_TRADER_COINBASE_SIM"):
        monkeypatch.delenv(var, raising=False)
    good = tmp_path / "good.toml"
    good.write_text('[profile]\nuniverse = ["BTC-USD"]\n[voter]\nuse = "test.first"\n')
    import gpt_trader_ops.preflight as module

    monkeypatch.setattr(module, "plugin_manager", pm)
    app = build_app(pm())
    runner = CliRunner()
    args = ["preflight", "--profile", str(good), "--state-dir", str(tmp_path / "s"), "--json"]
    monkeypatch.setenv("GPT_TRADER_COINBASE_SIM", str(sim_json))
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    rows = json.loads(ok.stdout)
    assert {tuple(sorted(r)) for r in rows} == {("check", "detail", "ok")}
    assert all(r["ok"] for r in rows)
    secret = json.loads(Path(sim.info.key_file).read_text())["privateKey"]
    assert secret.strip().splitlines()[1] not in ok.stdout

    key = copy_key(sim, tmp_path, mode=0o644)
    bad = runner.invoke(app, [*args[:-1], "--key-file", str(key)])
    assert bad.exit_code == 1
    assert "FAIL  key_file_permissions" in bad.stdout
    assert "mode 0644" in bad.stdout


@pytest.fixture(scope="module")
def intx_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    st = SimulatorThread(
        tmp_path_factory.mktemp("intx"), seed=3, products=["BTC-USD", "BTC-PERP-INTX"], **FAST
    )
    st.start()
    yield st
    st.stop()


@pytest.mark.parametrize(("switch", "ok"), [(None, False), ("1", True)])
def test_an_intx_account_is_eligible_only_with_the_switch_on(
    intx_sim: Any, tmp_path: Path, switch: str | None, ok: bool
) -> None:
    key = copy_key(intx_sim, tmp_path)
    env = {"COINBASE_ENABLE_DERIVATIVES": switch} if switch else {}
    results = checks(
        profile("coinbase.intx", key_file=str(key)),
        tmp_path,
        sim_json=Path(intx_sim.info.state_dir) / "sim.json",
        env=env,
    )
    derivatives = results["derivatives"]
    assert derivatives.ok is ok
    assert "INTX perpetuals enabled" in derivatives.detail
    if not ok:
        assert "set COINBASE_ENABLE_DERIVATIVES=1" in derivatives.detail
