"""The ``orders``/``positions``/``account`` commands, the live gate, the paper profile, and
the promise that the API secret never reaches logs, the store, --json output or errors."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.app import assemble, finish, start
from gpt_trader.cli.main import main
from gpt_trader.errors import BrokerError, UserError
from gpt_trader.runtime.live import Bounds, run_live
from gpt_trader_coinbase.auth import Credentials, load_key_file, make_credentials
from gpt_trader_coinbase.rest import RestClient
from gpt_trader_coinbase_sim.keys import generate_key
from gpt_trader_coinbase_sim.server import SimulatorThread
from pydantic import SecretStr

D = Decimal


@pytest.fixture(scope="module")
def csim(tmp_path_factory):
    st = SimulatorThread(
        tmp_path_factory.mktemp("csim"),
        seed=21,
        tick_s=0.1,
        history_minutes=30,
        heartbeat_s=0.1,
        balances={"USD": D("250000"), "BTC": D("0.5")},
    )
    st.start()
    yield st
    errors = st.state.internal_errors
    st.stop()
    assert errors == 0


@pytest.fixture
def sim_env(csim, monkeypatch):
    monkeypatch.setenv("GPT_TRADER_COINBASE_SIM", str(Path(csim.info.state_dir) / "sim.json"))
    return csim


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


def rest_for(sim) -> RestClient:
    return RestClient(
        sim.info.rest_base_url,
        credentials=load_key_file(sim.info.key_file),
        ca_file=sim.info.cert_file,
    )


async def _resting(sim, n: int) -> list[str]:
    """Place resting limit orders (through our own client) and return their venue ids."""
    rest = rest_for(sim)
    try:
        book = await rest.product_book("BTC-USD", 1)
        price = (D(book["pricebook"]["bids"][0]["price"]) * D("0.7")).quantize(D("0.01"))
        ids = []
        for _ in range(n):
            reply = await rest.create_order(
                {
                    "client_order_id": uuid.uuid4().hex,
                    "product_id": "BTC-USD",
                    "side": "BUY",
                    "order_configuration": {
                        "limit_limit_gtc": {
                            "base_size": "0.001",
                            "limit_price": str(price),
                            "post_only": False,
                        }
                    },
                }
            )
            ids.append(reply["success_response"]["order_id"])
        return ids
    finally:
        await rest.close()


def test_account_positions_and_orders_commands(sim_env, capsys, tmp_path):
    common = ("--profile", "coinbase-sim", "--state-dir", str(tmp_path), "--json")
    code, out, err = cli(capsys, "account", *common)
    assert code == 0, err
    balances = {b["currency"]: b for b in json.loads(out)}
    assert D(balances["USD"]["total"]) > 0
    assert D(balances["BTC"]["total"]) >= D("0.5")
    code, out, _ = cli(capsys, "positions", *common)
    btc = {p["symbol"]: p for p in json.loads(out)}["BTC-USD"]
    # The account's coins, none of them the bot's: it never traded in this state dir.
    assert D(btc["account"]) >= D("0.5")
    assert (btc["bot_inventory"], btc["not_the_bots"]) == ("0.00000000", btc["account"])

    ids = asyncio.run(_resting(sim_env, 3))
    code, out, _ = cli(capsys, "orders", "list", *common)
    listed = {o["order_id"]: o for o in json.loads(out)}
    assert set(ids) <= set(listed)
    assert listed[ids[0]]["status"] == "OPEN"
    assert listed[ids[0]]["limit_price"]
    code, out, _ = cli(
        capsys, "orders", "cancel", ids[0], listed[ids[1]]["client_order_id"], *common
    )
    assert code == 0
    assert json.loads(out)["cancelled"] == [ids[0], listed[ids[1]]["client_order_id"]]
    code, out, _ = cli(capsys, "orders", "cancel-all", *common)
    assert code == 0
    assert listed[ids[2]]["client_order_id"] in json.loads(out)["cancelled"]
    code, out, _ = cli(capsys, "orders", "list", *common)
    assert not set(ids) & {o["order_id"] for o in json.loads(out)}
    code, out, err = cli(capsys, "orders", "cancel", "no-such-order", *common)
    assert code == 1
    assert json.loads(out)["failed"] == ["no-such-order"]


def test_prod_refuses_without_live_and_without_keys(capsys, tmp_path, monkeypatch):
    for var in ("COINBASE_API_KEY", "COINBASE_API_SECRET", "GPT_TRADER_COINBASE_SIM"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = cli(
        capsys, "run", "--profile", "prod", "--state-dir", str(tmp_path), "--for", "1s"
    )
    assert code == 2
    assert "--live" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli(
        capsys, "run", "--profile", "prod", "--live", "--state-dir", str(tmp_path), "--for", "1s"
    )
    assert code == 2
    assert "COINBASE_API_KEY" in err
    assert len(err.strip().splitlines()) == 1


async def test_paper_profile_runs_on_the_simulators_market_data(sim_env, tmp_path):
    from gpt_trader.config import load_config
    from gpt_trader.plugins import make_plugin_manager

    runtime = await assemble(load_config("paper"), make_plugin_manager(), tmp_path)
    try:
        await start(runtime)
        await run_live(
            runtime.kernel,
            runtime.feed,
            runtime.symbols,
            bounds=Bounds(duration_s=1.5),
            stop=asyncio.Event(),
            guard_interval_s=0.5,
        )
    finally:
        summary = await finish(runtime, "test")
    assert summary["events"] > 20
    assert runtime.kernel.last_price("BTC-USD") is not None


@pytest.fixture
def secret(csim) -> str:
    return json.loads(Path(csim.info.key_file).read_text())["privateKey"]


async def test_the_secret_never_leaks(csim, cbt, secret, tmp_path, monkeypatch, capsys):
    needles = [secret] + [ln for ln in secret.splitlines() if ln and not ln.startswith("-----")]
    # A real-looking key in the environment must not be used for, or leak through, the simulator.
    monkeypatch.setenv("COINBASE_API_KEY", "organizations/x/apiKeys/y")
    monkeypatch.setenv("COINBASE_API_SECRET", secret)
    texts: list[str] = []

    class Catch(logging.Handler):
        def handle(self, record: logging.LogRecord) -> bool:
            texts.append(logging.Formatter("%(message)s %(exc_text)s").format(record))
            return True

    handler = Catch(level=logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        config = cbt.bot_config(csim, every=3)
        runtime = await assemble(config, cbt.bot_plugins(), tmp_path / "bot")
        try:
            await start(runtime)
            cbt.set_faults(
                csim, "seed=1,5xx=0.2,ambiguous=0.3,ambiguous_delay=1s,ws_drop=0.01,gap=0.02"
            )
            await run_live(
                runtime.kernel,
                runtime.feed,
                runtime.symbols,
                bounds=Bounds(duration_s=2.0),
                stop=asyncio.Event(),
                guard_interval_s=0.2,
            )
        finally:
            cbt.set_faults(csim, None)
            summary = await finish(runtime, "test")
        texts.append(json.dumps(summary, default=str))
        # Error paths: a key the venue does not know, a broken secret, bad key files.
        stranger = make_credentials("organizations/z/apiKeys/z", generate_key().private_key, "test")
        rest = RestClient(
            csim.info.rest_base_url, credentials=stranger, ca_file=csim.info.cert_file
        )
        with pytest.raises(BrokerError) as exc:
            await rest.get("/accounts")
        texts.append(str(exc.value))
        await rest.close()
        broken = Credentials("k", SecretStr(secret[:-30] + "garbage"), "ES256", "test")
        with pytest.raises(BrokerError) as exc:
            broken.rest_jwt("GET", "h", "/p")
        texts.append(str(exc.value) + repr(broken) + str(broken))
        for variant in (secret[:-40], secret[:80] + secret[120:], "x" + secret):
            with pytest.raises(UserError) as exc:
                make_credentials("k", variant, "$COINBASE_API_SECRET")
            texts.append(str(exc.value))
        loose = tmp_path / "loose.json"
        loose.write_text(json.dumps({"name": "k", "privateKey": secret}))
        os.chmod(loose, 0o644)
        with pytest.raises(UserError) as exc:
            load_key_file(loose)
        texts.append(str(exc.value))
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    # --json output of every command, against the same simulator (env var path).
    monkeypatch.setenv("GPT_TRADER_COINBASE_SIM", str(Path(csim.info.state_dir) / "sim.json"))
    for args in (("account",), ("positions",), ("orders", "list")):
        code, out, err = await asyncio.to_thread(
            cli,
            capsys,
            *args,
            "--profile",
            "coinbase-sim",
            "--state-dir",
            str(tmp_path / "cli"),
            "--json",
        )
        assert code == 0, err
        texts += [out, err]
    # Every table of the store.
    with sqlite3.connect(tmp_path / "bot" / "gpt_trader.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            texts += [repr(row) for row in conn.execute(f"SELECT * FROM {table}")]
    texts.append(capsys.readouterr().out)
    blob = "\n".join(texts)
    assert len(blob) > 10_000  # the capture saw a real run
    for needle in needles:
        assert needle not in blob, "the API secret leaked"
    assert "Bearer " not in blob
    assert "PRIVATE KEY" not in blob


def test_coinbase_sim_profile_starts_and_stops_its_own_simulator(capsys, tmp_path, monkeypatch):
    import threading

    monkeypatch.delenv("GPT_TRADER_COINBASE_SIM", raising=False)
    before = {t.ident for t in threading.enumerate() if t.name == "coinbase-sim"}
    args = (
        "run",
        "--profile",
        "coinbase-sim",
        "--state-dir",
        str(tmp_path),
        "--for",
        "2s",
        "--json",
    )
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["events"] > 0
    assert summary["stop_reason"] == "duration"
    assert (tmp_path / "coinbase-sim" / "sim.json").is_file()
    started = [
        t for t in threading.enumerate() if t.name == "coinbase-sim" and t.ident not in before
    ]
    assert not [t for t in started if t.is_alive()], "the in-process simulator was not stopped"
