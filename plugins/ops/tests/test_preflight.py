"""`gpt-trader preflight` runs what the plugins register and knows none of it: the ops
plugin's own checks of the profile (components, caveats, state dir), a third-party check
registered by a test plugin, the rendering (table and --json) and the exit code; and, as a
user runs it, the installed plugins' checks (risk files, the Coinbase account against the
Coinbase-protocol simulator) in one subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gpt_trader.checks import Check, CheckContext, Result, Status
from gpt_trader.cli.main import build_app
from gpt_trader.config import BotConfig
from gpt_trader.hookspecs import hookimpl
from gpt_trader.plugins import PluginManager
from gpt_trader_ops.preflight import render, run_preflight
from ops_support import plugin_manager
from typer.testing import CliRunner

SHIPPED_RISK = Path(__file__).resolve().parents[3] / "config" / "risk" / "spot_top10.toml"
PROFILE_ROWS = ["plugins", "caveats", "state_dir"]


class DiskCheck:
    """A third party's check, registered like any plugin's: warns, or fails when told to."""

    def __init__(self, status: Status = Status.WARN) -> None:
        self.status = status
        self.seen: list[CheckContext] = []

    def run(self, context: CheckContext) -> Iterator[Result]:
        self.seen.append(context)
        yield Result("disk_space", self.status, f"12 GB free under {context.state_dir.parent}")

    @hookimpl
    def register_checks(self) -> Iterator[Check]:
        yield Check("acme.disk_space", "room for the store", self.run, ("disk_space",))


def pm(*extra: Any) -> PluginManager:
    manager = plugin_manager()
    for n, plugin in enumerate(extra):
        manager.register_plugin(plugin, f"third-party-{n}")
    return manager


def rows(results: list[Result]) -> dict[str, Result]:
    return {r.check: r for r in results}


def test_the_profiles_own_checks_and_a_third_partys_run_in_order(tmp_path: Path) -> None:
    disk = DiskCheck()
    config = BotConfig(
        profile={"name": "p", "universe": ["BTC-USD"]},
        signals=[{"use": "test.flip"}],
        voter={"use": "test.first"},
    )
    results = run_preflight(config, pm(disk), state_dir=tmp_path / "state", env={}, max_skew_s=2)
    assert [r.check for r in results] == [*PROFILE_ROWS, "disk_space"]
    assert all(r.ok for r in results), render(results)
    (context,) = disk.seen
    assert (context.config, context.state_dir, context.max_skew_s) == (
        config,
        tmp_path / "state",
        2,
    )
    table = render(results).splitlines()
    assert table[0].startswith("ok    plugins     all 5 components of the profile are registered")
    assert table[-1] == f"warn  disk_space  12 GB free under {tmp_path}"


def test_profile_sanity_plugins_and_state_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = BotConfig(
        profile={"name": "p", "universe": ["BTC-USD"]},
        signals=[{"use": "test.flipp"}],
        voter={"use": "test.first"},
        guards=[{"use": "notional_caps", "file": str(SHIPPED_RISK)}],
    )
    results = rows(run_preflight(config, pm(), state_dir=blocker / "state", env={}))
    assert list(results) == PROFILE_ROWS
    assert "test.flipp" in results["plugins"].detail
    assert "did you mean 'test.flip'" in results["plugins"].detail
    assert "notional_caps" in results["plugins"].detail  # the risk plugin is not loaded
    assert "not a directory" in results["state_dir"].detail
    assert {name for name, r in results.items() if not r.ok} == {"plugins", "state_dir"}


def test_the_command_prints_json_and_exits_1_on_a_failed_check(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[profile]\nuniverse = ["BTC-USD"]\n[voter]\nuse = "test.first"\n')
    args = ["preflight", "--profile", str(good), "--state-dir", str(tmp_path / "s")]
    runner = CliRunner()
    for status, code in ((Status.WARN, 0), (Status.FAIL, 1)):
        manager = pm(DiskCheck(status))
        app = build_app(manager)
        as_json = runner.invoke(app, [*args, "--json"])
        assert as_json.exit_code == code, as_json.output
        data = json.loads(as_json.stdout)
        assert [r["check"] for r in data] == [*PROFILE_ROWS, "disk_space"]
        assert {tuple(sorted(r)) for r in data} == {("check", "detail", "ok")}
        assert data[-1]["ok"] is (status is Status.WARN)
        table = runner.invoke(app, args)
        assert table.exit_code == code
        assert f"{'warn' if code == 0 else 'FAIL'}  disk_space" in table.stdout


def test_the_installed_plugins_checks_as_a_user_runs_it(tmp_path: Path) -> None:
    from gpt_trader_coinbase_sim.server import SimulatorThread

    profile = tmp_path / "canary.toml"
    profile.write_text(
        '[profile]\nname = "canary"\nmode = "live"\nuniverse = ["BTC-USD"]\n'
        '[voter]\nuse = "consensus"\n'
        f'[[guards]]\nuse = "notional_caps"\nfile = "{SHIPPED_RISK}"\n'
    )
    sim = SimulatorThread(tmp_path / "sim", seed=3, tick_s=0.2, history_minutes=30)
    sim.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COINBASE_", "GPT_"))}
        env["GPT_TRADER_COINBASE_SIM"] = str(Path(sim.info.state_dir) / "sim.json")
        out = subprocess.run(
            [
                str(Path(sys.executable).parent / "gpt-trader"),
                "preflight",
                "--profile",
                str(profile),
                "--state-dir",
                str(tmp_path / "state"),
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        sim.stop()
    assert out.returncode == 0, out.stdout + out.stderr
    data = {r["check"]: r for r in json.loads(out.stdout)}
    # Local checks first (ops's, then the risk plugin's), then the Coinbase account's.
    assert list(data)[:4] == [*PROFILE_ROWS, "risk_files"]
    assert list(data)[4] == "key_format"
    assert list(data)[-1] == "derivatives"
    assert all(r["ok"] for r in data.values())
    assert "10 caps, max_leverage 1" in data["risk_files"]["detail"]
    assert sim.info.api_key_name in data["key_format"]["detail"]
    secret = json.loads(Path(sim.info.key_file).read_text())["privateKey"]
    assert secret.strip().splitlines()[1] not in out.stdout
