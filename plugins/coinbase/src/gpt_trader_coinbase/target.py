"""Where the adapters connect: real Coinbase, a running simulator, or one started for the run.

A component's params choose the target:

* nothing: production (``api.coinbase.com``, ``advanced-trade-ws[-user].coinbase.com``);
* ``sim_json = "<path>"``: the simulator that wrote that ``sim.json``;
* ``sim = true``: the simulator named by ``$GPT_TRADER_COINBASE_SIM`` (a sim.json path) if
  set, else the one of the state dir: started in-process (a background thread on 127.0.0.1
  with a free port, state in ``<state_dir>/coinbase-sim``, its account kept there across
  restarts), shared by the broker and the feed of the run and stopped when the last of
  them lets go. While another process runs it (a bot, when ``positions`` is asked), that
  one is used: two simulators on one account would each go their own way;
* ``sim = "auto"``: the ``$GPT_TRADER_COINBASE_SIM`` simulator if set, else production
  (the feed's default: market data is harmless to take from either).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError

log = logging.getLogger("gpt_trader_coinbase.target")

PROD_REST = "api.coinbase.com"
PROD_WS = "wss://advanced-trade-ws.coinbase.com"
PROD_WS_USER = "wss://advanced-trade-ws-user.coinbase.com"
SIM_ENV = "GPT_TRADER_COINBASE_SIM"


@dataclass(frozen=True)
class Endpoints:
    rest_host: str
    ws_url: str
    ws_user_url: str
    ca_file: str | None = None
    key_file: str | None = None
    simulator: bool = False
    description: str = "Coinbase"
    # The sim.json these endpoints came from ("" for production and in-process simulators).
    origin: str = ""


PRODUCTION = Endpoints(PROD_REST, PROD_WS, PROD_WS_USER)


def read_sim_json(path: str | Path, *, origin: str = "") -> Endpoints:
    """The endpoints a simulator wrote to ``path``; :class:`UserError` naming the file (and
    ``origin``, where its name came from) when it cannot be used."""
    p = Path(path).expanduser()
    where = f"simulator info {p}{f' (from {origin})' if origin else ''}"
    try:
        data = json.loads(p.read_text())
    except OSError as exc:
        raise UserError(f"{where} cannot be read: {exc.strerror}") from None
    except ValueError:
        raise UserError(f"{where} is not JSON (expected a sim.json)") from None
    if not isinstance(data, dict):
        raise UserError(f"{where} holds a JSON {type(data).__name__}, not a sim.json object")
    missing = [k for k in SIM_FIELDS if not isinstance(data.get(k), str) or not data[k]]
    if missing:
        raise UserError(f"{where} lacks {', '.join(missing)} (a sim.json has {SIM_FIELDS_TEXT})")
    for key in ("cert_file", "key_file"):
        if not Path(data[key]).is_file():
            raise UserError(
                f"{where}: its {key} {data[key]} does not exist"
                " (restart `gpt-trader sim serve`, which writes absolute paths)"
            )
    return Endpoints(
        rest_host=data["rest_base_url"],
        ws_url=data["ws_url"],
        ws_user_url=data["ws_user_url"],
        ca_file=data["cert_file"],
        key_file=data["key_file"],
        simulator=True,
        description=f"simulator {data['rest_base_url']}",
        origin=str(p),
    )


SIM_FIELDS = ("rest_base_url", "ws_url", "ws_user_url", "cert_file", "key_file")
SIM_FIELDS_TEXT = ", ".join(SIM_FIELDS)
PROBE_TIMEOUT_S = 2.0


def require_listening(endpoints: Endpoints) -> None:
    """Refuse, in one line and at once, a sim.json whose simulator does not listen: a broker
    would otherwise retry its first call for seconds and fail with a traceback."""
    host, _, port = endpoints.rest_host.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            return
    except ValueError:
        why = "its rest_base_url has no port"
    except TimeoutError:
        why = f"no answer within {PROBE_TIMEOUT_S:g}s"
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else (exc.strerror or type(exc).__name__)
    raise UserError(
        f"simulator info {endpoints.origin}: nothing answers at {endpoints.rest_host} ({why});"
        f" start it with `gpt-trader sim serve` or point {SIM_ENV} at a running one"
    )


class SimLease:
    """A hold on an in-process simulator; the last ``release`` stops it. Idempotent."""

    def __init__(self, key: Path) -> None:
        self._key = key
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        _release(self._key)


@dataclass
class _Running:
    sim: Any  # SimulatorThread (its module loads only when a simulator starts)
    endpoints: Endpoints
    lock_fd: int
    holders: int = 0


_lock = threading.Lock()
_running: dict[Path, _Running] = {}  # keyed by the simulator's state dir
LOCK_FILE = "in-process.lock"
ATTACH_WAIT_S = 30.0


def _release(key: Path) -> None:
    with _lock:
        entry = _running.get(key)
        if entry is None:
            return
        entry.holders -= 1
        if entry.holders > 0:
            return
        del _running[key]
    log.info("stopping the in-process simulator in %s", key)
    try:
        entry.sim.stop()
    finally:
        os.ftruncate(entry.lock_fd, 0)  # no port in the lock file once nobody serves it
        os.close(entry.lock_fd)  # lets another process start it


def _claim(key: Path) -> int | None:
    """The state dir's simulator lock (held until the simulator stops), or None while
    another process runs it. The lock file says where that one serves once it is up."""
    import fcntl

    key.mkdir(parents=True, exist_ok=True)
    fd = os.open(key / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    return fd


def _simulator_server() -> Any:
    """The simulator's server module; a clear error when the package is not installed."""
    try:
        from gpt_trader_coinbase_sim import server
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("gpt_trader_coinbase_sim"):
            raise
        raise UserError(
            "`sim = true` needs the Coinbase simulator: pip install 'gpt-trader-coinbase[sim]'"
            " (or run one elsewhere and give its sim.json with `sim_json`)"
        ) from None
    return server


def _served_elsewhere(key: Path) -> Endpoints | None:
    """The endpoints of the simulator another process runs here, once it serves."""
    info_file = _simulator_server().INFO_FILE

    try:
        port = (key / LOCK_FILE).read_text().strip()
    except OSError:
        return None
    if not port:
        return None  # still starting
    endpoints = read_sim_json(key / info_file)
    return endpoints if endpoints.rest_host.endswith(f":{port}") else None


def start_in_process(
    state_dir: Path, symbols: Sequence[str], seed: int, **options: Any
) -> tuple[Endpoints, SimLease | None]:
    """The state dir's simulator: started in a background thread and shared for the life of
    the run, or, while another process runs it, that one's (no lease then)."""
    key = (Path(state_dir) / "coinbase-sim").resolve()
    deadline = time.monotonic() + ATTACH_WAIT_S
    while True:
        with _lock:
            entry = _running.get(key)
            if entry is None:
                fd = _claim(key)
                if fd is not None:
                    entry = _running[key] = _start(key, symbols, seed, fd, options)
            if entry is not None:
                entry.holders += 1
                return entry.endpoints, SimLease(key)
        elsewhere = _served_elsewhere(key)
        if elsewhere is not None:
            log.info("using the simulator another process runs in %s", key)
            return elsewhere, None
        if time.monotonic() > deadline:
            raise UserError(
                f"the simulator in {key} is held by another process that does not serve it; "
                "stop that process or use another --state-dir"
            )
        time.sleep(0.05)


def _start(
    key: Path, symbols: Sequence[str], seed: int, fd: int, options: dict[str, Any]
) -> _Running:
    server = _simulator_server()
    # A -USDC pair is served from its USD book, as Coinbase does (the simulator knows).
    sim = server.SimulatorThread(key, seed=seed, products=list(symbols), persist=True, **options)
    try:
        sim.start()
    except BaseException:
        sim.stop()
        os.close(fd)
        raise
    os.write(fd, str(sim.info.port).encode())
    log.info("started an in-process simulator on %s", sim.info.rest_base_url)
    return _Running(sim, read_sim_json(key / server.INFO_FILE), fd)


def resolve(
    *,
    sim: bool | str,
    sim_json: str | None,
    state_dir: Path,
    symbols: Sequence[str],
    seed: int,
    sim_options: dict[str, Any] | None = None,
) -> tuple[Endpoints, SimLease | None]:
    if sim_json:
        return read_sim_json(sim_json), None
    if not sim:
        return PRODUCTION, None
    env = os.environ.get(SIM_ENV, "").strip()
    if env:
        return read_sim_json(env, origin=f"${SIM_ENV}"), None
    if sim == "auto":
        return PRODUCTION, None
    return start_in_process(state_dir, symbols, seed, **(sim_options or {}))
