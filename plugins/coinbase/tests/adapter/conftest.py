"""Fixtures for the Coinbase adapter tests: simulators on free ports, an SDK ledger client,
the bot assembled with inline components that trade often, and the three invariants."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from coinbase.rest import RESTClient
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.domain import Action, SignalValue, Ticker
from gpt_trader.hookspecs import hookimpl
from gpt_trader.params import NoParams, Params
from gpt_trader.plugins import PluginManager, make_plugin_manager
from gpt_trader.store import Store
from gpt_trader.testing import First, install_plugin

# Every test here runs against the simulator (the adapter's [sim] extra); an install of the
# adapter alone (nox session coinbase_alone) skips them and runs the tests one level up.
pytest.importorskip("gpt_trader_coinbase_sim", reason="the Coinbase simulator is not installed")

from gpt_trader_coinbase_sim.server import SimulatorThread
from gpt_trader_coinbase_sim.testing import FAST, admin


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[Callable[..., SimulatorThread]]:
    """Start simulators (FAST options by default); each is stopped and checked after the test."""
    started: list[SimulatorThread] = []

    def make(**options: Any) -> SimulatorThread:
        opts = {**FAST, "balances": {"USD": Decimal("1000000")}, **options}
        st = SimulatorThread(tmp_path / f"cbsim{len(started)}", **opts)
        st.start()
        started.append(st)
        return st

    yield make
    for st in started:
        errors = st.state.internal_errors
        st.stop()
        assert errors == 0, f"{errors} simulator request(s) hit an internal error"


BIN = Path(sys.executable).parent / "gpt-trader"


def cli_env(env: dict[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment with ``env`` applied (a None value removes the key)."""
    out = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def gpt_trader(
    *args: str, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: a subprocess (environment: :func:`cli_env`)."""
    return subprocess.run(
        [str(BIN), *args],
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sim_json(sim: SimulatorThread) -> str:
    return str(Path(sim.info.state_dir) / "sim.json")


def set_faults(sim: SimulatorThread, spec: str | None) -> None:
    if spec:
        admin(sim.info, "POST", "/faults", {"spec": spec})
    else:
        admin(sim.info, "DELETE", "/faults")


def sdk(sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch) -> RESTClient:
    """The official SDK client: an independent view of the simulator's ledger."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    return RESTClient(key_file=sim.info.key_file, base_url=sim.info.rest_base_url)


def exchange_orders(client: RESTClient) -> list[dict[str, Any]]:
    out, cursor = [], None
    while True:
        page = client.get(
            "/api/v3/brokerage/orders/historical/batch", params={"limit": 1000, "cursor": cursor}
        )
        out += page["orders"]
        if not page.get("has_next"):
            return out
        cursor = page["cursor"]


def exchange_fills(client: RESTClient) -> list[dict[str, Any]]:
    out, cursor = [], None
    while True:
        page = client.get(
            "/api/v3/brokerage/orders/historical/fills", params={"limit": 1000, "cursor": cursor}
        )
        out += page["fills"]
        cursor = page.get("cursor")
        if not cursor:
            return out


def exchange_balances(client: RESTClient) -> dict[str, Decimal]:
    page = client.get("/api/v3/brokerage/accounts", params={"limit": 250})
    return {
        a["currency"]: Decimal(a["available_balance"]["value"]) + Decimal(a["hold"]["value"])
        for a in page["accounts"]
    }


# -- inline components: a signal that flips often, a voter that takes the first vote -------


class FlipParams(Params):
    every: int = 5


class Flip:
    """LONG/FLAT alternately every ``every`` tickers of its symbol: trades often."""

    def __init__(self, symbol: str, every: int) -> None:
        self.name = "flip"
        self.symbol = symbol
        self.every = every
        self.n = 0
        self.long = False

    def update(self, event: Any) -> SignalValue | None:
        if not isinstance(event, Ticker) or event.symbol != self.symbol:
            return None
        self.n += 1
        if self.n % self.every:
            return None
        self.long = not self.long
        return SignalValue(
            self.name, self.symbol, event.ts, Action.LONG if self.long else Action.FLAT
        )


class InlinePlugin:
    @hookimpl
    def register_signals(self) -> Iterator[ComponentSpec]:
        yield ComponentSpec(
            "test.flip",
            Kind.SIGNAL,
            lambda p, ctx: Flip(ctx.symbol, p.every),
            FlipParams,
            per_symbol=True,
        )

    @hookimpl
    def register_voters(self) -> Iterator[ComponentSpec]:
        yield ComponentSpec("test.first", Kind.VOTER, lambda p, ctx: First(), NoParams)


def bot_plugins() -> PluginManager:
    from gpt_trader import builtin
    from gpt_trader.sim import plugin as sim_plugin
    from gpt_trader_coinbase.derivatives import cfm_plugin, intx_plugin
    from gpt_trader_coinbase.spot import plugin as spot_plugin
    from gpt_trader_risk import plugin as risk_plugin

    pm = make_plugin_manager(load_entrypoints=False)
    pm.register_plugin(builtin, "core")
    pm.register_plugin(sim_plugin, "sim")
    pm.register_plugin(spot_plugin, "coinbase_spot")
    pm.register_plugin(cfm_plugin, "coinbase_cfm")
    pm.register_plugin(intx_plugin, "coinbase_intx")
    pm.register_plugin(risk_plugin, "risk")
    pm.register_plugin(InlinePlugin(), "inline")
    return pm


def bot_config(
    sim: SimulatorThread,
    *,
    every: int = 5,
    broker: dict[str, Any] | None = None,
    feed: dict[str, Any] | None = None,
    universe: tuple[str, ...] = ("BTC-USD", "ETH-USD"),
    sizes: dict[str, str] | None = None,
    run: dict[str, Any] | None = None,
    guards: list[dict[str, Any]] | None = None,
) -> Any:
    from gpt_trader.config import BotConfig

    return BotConfig(
        profile={"name": "cb-test", "mode": "paper", "universe": list(universe)},
        broker={
            "use": "coinbase.spot",
            "sim_json": sim_json(sim),
            "reconcile_interval_s": 1.0,
            "user_silence_s": 1.0,
            "submit_timeout_s": 0.5,
            "request_timeout_s": 2.0,
            "private_rate": 100,
            **(broker or {}),
        },
        feed={
            "use": "coinbase.market",
            "sim_json": sim_json(sim),
            "stale_after_s": 0.6,
            "silence_s": 1.0,
            "public_rate": 100,
            **(feed or {}),
        },
        signals=[{"use": "test.flip", "every": every}],
        voter={"use": "test.first"},
        sizer={"use": "fixed", "sizes": sizes or {"BTC-USD": "0.001", "ETH-USD": "0.01"}},
        run={"on_stop": "cancel", "guard_interval_s": 0.2, "record_market": False, **(run or {})},
        guards=guards or [],
        logging={"level": "INFO"},
    )


async def bot_of_the_test(
    sim: SimulatorThread, symbol: str, broker: str, size: str, state_dir: Path
) -> Any:
    """An assembled (not started) bot on one product whose orders are the test's own."""
    from gpt_trader.app import assemble

    config = bot_config(sim, universe=(symbol,), sizes={symbol: size}, broker={"use": broker})
    config.signals.clear()
    return await assemble(config, bot_plugins(), state_dir)


class PauseRecorder:
    """Wraps the kernel's pause_entries/resume_entries to see what the adapter did."""

    def __init__(self, kernel: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        pause, resume = kernel.pause_entries, kernel.resume_entries

        def p(reason: str) -> None:
            self.calls.append(("pause", reason))
            pause(reason)

        def r() -> None:
            self.calls.append(("resume", ""))
            resume()

        kernel.pause_entries = p
        kernel.resume_entries = r

    @property
    def pauses(self) -> int:
        return sum(1 for kind, _ in self.calls if kind == "pause")

    @property
    def resumes(self) -> int:
        return sum(1 for kind, _ in self.calls if kind == "resume")


def check_invariants(client: RESTClient, state_dir: Path, *, kernel: Any = None) -> dict[str, Any]:
    """No duplicate order at the exchange; every exchange fill in the store exactly once;
    positions (store, and kernel if given) equal the exchange's base balances."""
    orders = exchange_orders(client)
    fills = exchange_fills(client)
    balances = exchange_balances(client)
    store = Store(state_dir / "gpt_trader.db", create=False)
    try:
        intents = {o.client_order_id for o in store.orders()}
        stored_fills = store.fills()
        fill_events = [
            e.payload["fill"]["trade_id"] for e in store.events(types=["fill"], limit=1_000_000)
        ]
        positions = {p.symbol: p.size for p in store.positions()}
    finally:
        store.close()
    cids = collections.Counter(o["client_order_id"] for o in orders)
    dup = [c for c, n in cids.items() if n > 1]
    assert not dup, f"duplicate orders at the exchange: {dup}"
    stray = set(cids) - intents
    assert not stray, f"exchange orders the store never recorded: {sorted(stray)[:5]}"
    exchange_trades = collections.Counter(f["trade_id"] for f in fills)
    stored = collections.Counter(f.trade_id for f in stored_fills)
    assert stored == exchange_trades, (
        f"store fills differ: missing {set(exchange_trades) - set(stored)}, extra {set(stored) - set(exchange_trades)}"
    )
    events = collections.Counter(fill_events)
    assert all(n == 1 for n in events.values()), "a fill was recorded twice in the event log"
    assert set(events) == set(exchange_trades), "fill events differ from the exchange fills"
    for symbol in ("BTC-USD", "ETH-USD"):
        base = symbol.split("-")[0]
        venue = balances.get(base, Decimal(0))
        if kernel is not None:
            assert kernel.ledger.positions[symbol].size == venue, f"kernel {symbol} != exchange"
        assert positions.get(symbol, Decimal(0)) == venue, f"stored {symbol} position != exchange"
    return {"orders": len(orders), "fills": len(fills), "balances": balances}


async def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def feeding(runtime: Any) -> AsyncIterator[None]:
    """A started runtime's feed driving its kernel (the live driver) for the block."""
    from gpt_trader.runtime.live import Bounds, run_live

    stop = asyncio.Event()
    kernel, feed = runtime.kernel, runtime.feed
    live = asyncio.create_task(
        run_live(kernel, feed, runtime.symbols, bounds=Bounds(), stop=stop, guard_interval_s=0.2)
    )
    try:
        yield
    finally:
        stop.set()
        await live


async def trade_for(
    runtime: Any,
    seconds: float,
    *,
    until: Callable[[Any], bool] | None = None,
    at_most: float | None = None,
) -> None:
    """Run the assembled bot live on its feed for ``seconds`` (it must stop for that).

    With ``until``, it trades on past ``seconds`` until ``until(kernel)`` holds, for at most
    ``at_most`` seconds in all: a scenario that needs some fills to check gets them on a
    loaded machine too, where its faults can leave a few seconds with fewer."""
    from gpt_trader.runtime.live import Bounds, run_live

    stop = asyncio.Event()

    async def watch(check: Callable[[Any], bool]) -> None:
        await asyncio.sleep(seconds)
        while not check(runtime.kernel):  # noqa: ASYNC110 - the kernel's state has no event
            await asyncio.sleep(0.1)
        stop.set()

    watcher = None if until is None else asyncio.create_task(watch(until))
    try:
        reason = await run_live(
            runtime.kernel,
            runtime.feed,
            runtime.symbols,
            bounds=Bounds(duration_s=seconds if at_most is None else at_most),
            stop=stop,
            guard_interval_s=0.2,
        )
    finally:
        if watcher is not None:
            watcher.cancel()
    assert reason == "duration" or (until is not None and reason == "signal")


async def settle(kernel: Any, seconds: float = 8.0) -> None:
    """No new decisions; let unknown and working orders resolve (the kernel's timer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await kernel.on_timer()
        if not kernel.working:
            return
        await asyncio.sleep(0.1)


def unique_names() -> Iterator[str]:
    return (f"n{i}" for i in itertools.count())


# -- the bot as a subprocess (the real CLI), for kill -9 tests -------------------------------

KILL_PROFILE = """
[profile]
description = "kill -9 test: coinbase.spot + coinbase.market against the simulator"
mode = "paper"
universe = ["BTC-USD", "ETH-USD"]

[broker]
use = "coinbase.spot"
sim = true
reconcile_interval_s = 1.0
user_silence_s = 2.0
submit_timeout_s = 0.8
request_timeout_s = 3.0

[feed]
use = "coinbase.market"
sim = true
channels = ["ticker", "level2", "market_trades"]
bar_seconds = 1
stale_after_s = 2.0

[[signals]]
use = "killtest.flip"
every = 3

[voter]
use = "killtest.first"

[sizer]
use = "fixed"
sizes = {{ "BTC-USD" = "0.001", "ETH-USD" = "0.01" }}

[run]
on_stop = "cancel"
guard_interval_s = 0.2
record_market = false

[logging]
level = "{level}"
"""


# A plugin the subprocess discovers through a fake dist-info on PYTHONPATH: a signal that
# flips LONG/FLAT every few tickers, so orders start within a second of the start.
PLUGIN = """
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.params import NoParams, Params
from gpt_trader.domain import Action, Decision, SignalValue, Ticker
from gpt_trader.hookspecs import hookimpl


class FlipParams(Params):
    every: int = 3


class Flip:
    def __init__(self, symbol, every):
        self.name, self.symbol, self.every, self.n, self.long = "flip", symbol, every, 0, False

    def update(self, event):
        if not isinstance(event, Ticker) or event.symbol != self.symbol:
            return None
        self.n += 1
        if self.n % self.every:
            return None
        self.long = not self.long
        return SignalValue("flip", self.symbol, event.ts, Action.LONG if self.long else Action.FLAT)


class First:
    def combine(self, symbol, ts, votes):
        return Decision(symbol, ts, votes[0].action, 1.0, tuple(votes)) if votes else None


@hookimpl
def register_signals():
    yield ComponentSpec(
        "killtest.flip", Kind.SIGNAL, lambda p, ctx: Flip(ctx.symbol, p.every), FlipParams, per_symbol=True
    )


@hookimpl
def register_voters():
    yield ComponentSpec("killtest.first", Kind.VOTER, lambda p, ctx: First(), NoParams)
"""


def bot_setup(tmp_path: Path, sim: SimulatorThread) -> tuple[Path, Path, dict[str, str]]:
    """The kill-test profile, a state dir and the environment the CLI bot runs with."""
    profile = tmp_path / "cb-kill.toml"
    profile.write_text(KILL_PROFILE.format(level="WARNING"))
    path = install_plugin(tmp_path / "plugin", "killtest", PLUGIN)
    env = cli_env({"GPT_TRADER_COINBASE_SIM": sim_json(sim), "PYTHONPATH": path})
    return profile, tmp_path / "bot", env


def order_statuses(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return [r[0] for r in conn.execute("SELECT status FROM orders")]
    except sqlite3.Error:
        return []


def run_bot(profile: Path, state: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN), "run", "--profile", str(profile), "--state-dir", str(state), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_9_when(
    bot: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    rng: random.Random,
    *,
    within_s: float,
    jitter_s: float,
) -> bool:
    """Wait until ``ready()`` (or ``within_s``), then up to ``jitter_s`` more (drawn from the
    test's seeded ``rng``), and kill -9 the bot; returns whether it was ready. The bot must
    still be running at the kill."""
    try:
        deadline = time.monotonic() + within_s
        was_ready = False
        while time.monotonic() < deadline and bot.poll() is None:
            if ready():
                was_ready = True
                break
            time.sleep(0.02)
        time.sleep(random.uniform(0.0, jitter_s))
        assert bot.poll() is None, bot.stderr.read().decode()[-2000:] if bot.stderr else ""
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait(10)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(10)
    return was_ready


@pytest.fixture
def cbt() -> Any:
    """These helpers, as a fixture (test modules cannot import a conftest by name)."""
    return sys.modules[__name__]
