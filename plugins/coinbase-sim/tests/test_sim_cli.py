"""``gpt-trader sim serve`` as a process: one JSON line on stdout, sim.json, clean SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import typer
from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.cli import register
from gpt_trader_coinbase_sim.commands import COMMANDS

# The CLI as gpt-trader builds it: a Typer app the command table's target adds ``sim`` to.
SERVE = (
    "import typer; from gpt_trader_coinbase_sim.cli import register; "
    "app = typer.Typer(); register(app); app()"
)


def test_plugin_adds_sim_serve():
    assert [(c.name, c.target) for c in COMMANDS] == [
        ("sim", "gpt_trader_coinbase_sim.cli:register")
    ]
    app = typer.Typer()
    register(app)
    assert [g.name for g in app.registered_groups] == ["sim"]


def test_serve_process(tmp_path, monkeypatch):
    cmd = [
        sys.executable,
        "-c",
        SERVE,
        "sim",
        "serve",
        "--state-dir",
        str(tmp_path),
        "--seed",
        "3",
        "--products",
        "BTC-USD",
        "--faults",
        "latency=1ms",
        "--tick",
        "0.2",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        assert set(info) >= {
            "rest_base_url",
            "ws_url",
            "ws_user_url",
            "cert_file",
            "key_file",
            "admin_url",
        }
        assert info["rest_base_url"].startswith("127.0.0.1:")
        assert "://" not in info["rest_base_url"]
        assert json.loads((tmp_path / "sim.json").read_text()) == info
        assert oct(os.stat(info["key_file"]).st_mode & 0o777) == "0o600"
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["cert_file"])
        client = RESTClient(key_file=info["key_file"], base_url=info["rest_base_url"])
        listed = [p.product_id for p in client.get_products().products]
        assert listed == ["BTC-USD", "BTC-USDC"]  # a USD book and its USDC alias
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout.read() == ""  # exactly one line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_default_products_match_the_server() -> None:
    from gpt_trader_coinbase_sim import cli, server

    assert cli.DEFAULT_PRODUCTS == server.DEFAULT_PRODUCTS
