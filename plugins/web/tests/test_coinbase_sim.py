"""The dashboard of a bot trading Coinbase's protocol against the simulator with [exits]:
each open position shows its stop and target, and the bracket order shows both legs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import REPO, stop

pytest.importorskip("gpt_trader_coinbase_sim", reason="needs the Coinbase simulator")
pytest.importorskip("gpt_trader_coinbase", reason="needs the Coinbase adapter")


def api(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + "api/v1/" + path, timeout=10) as resp:
        return json.loads(resp.read())


def test_position_with_its_stop_and_target(tmp_path: Path) -> None:
    profile = tmp_path / "cbsim-exits.toml"
    text = (REPO / "config/profiles/coinbase-sim.toml").read_text()
    profile.write_text(
        text.replace("[run]", "[exits]\nstop_loss_pct = 2\ntake_profit_pct = 4\n\n[run]")
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "gpt_trader", "run", "--profile", str(profile), "--state-dir",
         str(tmp_path / "state"), "--for", "120s", "--web-port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert bot.stderr is not None
        url = None
        for line in bot.stderr:
            found = re.search(r"web dashboard on (http://127\.0\.0\.1:\d+/)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None
        # keep reading the log so the bot never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in bot.stderr], daemon=True).start()  # type: ignore[union-attr]
        deadline = time.monotonic() + 90
        held: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not held:
            held = [p for p in api(url, "positions") if p["stop"] and Decimal(p["size"]) > 0]
            time.sleep(0.5)
        assert held, "no position with a stop showed within 90 s"
        position = held[0]
        entry = Decimal(position["avg_entry"])
        assert Decimal(position["stop"]) < entry < Decimal(position["target"])
        legs = [o for o in api(url, "orders") if o["symbol"] == position["symbol"]]
        bracket = [o for o in legs if o["tag"] == "exit:bracket"]
        assert len(bracket) == 1  # one venue bracket, not two
        assert (bracket[0]["stop"], bracket[0]["price"]) == (position["stop"], position["target"])
        assert bracket[0]["side"] == "SELL"
    finally:
        stop(bot)
