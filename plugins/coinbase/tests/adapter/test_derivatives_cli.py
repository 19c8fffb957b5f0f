"""The shipped ``cfm-sim`` and ``intx-sim`` profiles from the command line: a run on each
(its own in-process simulator), and ``positions`` / ``account`` showing a derivative
position with the venue's risk figures."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from gpt_trader.cli.main import main
from gpt_trader_coinbase.auth import load_key_file
from gpt_trader_coinbase.rest import RestClient
from gpt_trader_coinbase_sim.server import SimulatorThread

PERP = "BTC-PERP-INTX"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


@pytest.mark.parametrize("profile", ["cfm-sim", "intx-sim"])
def test_the_derivative_sim_profiles_run(profile, capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("GPT_TRADER_COINBASE_SIM", raising=False)
    monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
    args = ("run", "--profile", profile, "--state-dir", str(tmp_path), "--for", "3s", "--json")
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stop_reason"] == "duration"
    assert summary["events"] > 0
    assert summary["errors"] == 0


def test_intx_sim_without_the_switch_is_one_readable_line(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("COINBASE_ENABLE_DERIVATIVES", raising=False)
    args = ("run", "--profile", "intx-sim", "--state-dir", str(tmp_path), "--for", "1s")
    code, out, err = cli(capsys, *args)
    assert code != 0
    assert "COINBASE_ENABLE_DERIVATIVES=1" in err
    assert "Traceback" not in err + out


async def _open(sim: SimulatorThread) -> None:
    rest = RestClient(
        sim.info.rest_base_url,
        credentials=load_key_file(sim.info.key_file),
        ca_file=sim.info.cert_file,
    )
    try:
        body = {
            "client_order_id": "cli-open",
            "product_id": PERP,
            "side": "BUY",
            "order_configuration": {"market_market_ioc": {"base_size": "0.2"}},
            "leverage": "10",
            "margin_type": "CROSS",
        }
        reply = await rest.create_order(body)
        assert reply["success"], reply
    finally:
        await rest.close()


def test_positions_and_account_of_an_intx_account(capsys, tmp_path, monkeypatch):
    sim = SimulatorThread(tmp_path / "sim", seed=8, products=[PERP], perps_cash=D(3000), tick_s=0.2)
    sim.start()
    try:
        asyncio.run(_open(sim))
        monkeypatch.setenv("GPT_TRADER_COINBASE_SIM", str(Path(sim.info.state_dir) / "sim.json"))
        monkeypatch.setenv("COINBASE_ENABLE_DERIVATIVES", "1")
        common = ("--profile", "intx-sim", "--state-dir", str(tmp_path / "bot"), "--json")
        code, out, err = cli(capsys, "positions", *common)
        assert code == 0, err
        (row,) = json.loads(out)
        assert (row["symbol"], row["size"]) == (PERP, "0.2000")  # on the 0.0001 lot
        assert D(row["leverage"]) > 0
        assert 0 < D(row["liquidation_price"]) < D(row["mark_price"])
        code, out, err = cli(capsys, "account", *common)
        assert code == 0, err
        usdc = {b["currency"]: b for b in json.loads(out)}["USDC"]
        assert D(2800) < D(usdc["total"]) < D(3000)  # the pool less the opening fee
    finally:
        sim.stop()
