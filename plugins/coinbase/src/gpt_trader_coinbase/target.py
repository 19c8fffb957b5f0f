"""Where the adapters connect: real Coinbase, a running simulator, or one started for the run.

A component's params choose the target:

* nothing: production (``api.coinbase.com``, ``advanced-trade-ws[-user].coinbase.com``);
* ``sim_json = "<path>"``: the simulator that wrote that ``sim.json``;
* ``sim = true``: the simulator named by ``$GPT_TRADER_COINBASE_SIM`` (a sim.json path) if
  set, else one started in-process for this run (a background thread on 127.0.0.1 with a
  free port, state in ``<state_dir>/coinbase-sim``), shared by the broker and the feed of
  the run and stopped when the last of them lets go;
* ``sim = "auto"``: the ``$GPT_TRADER_COINBASE_SIM`` simulator if set, else production
  (the feed's default: market data is harmless to take from either).
"""

from __future__ import annotations

import json
import logging
import os
import threading
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


PRODUCTION = Endpoints(PROD_REST, PROD_WS, PROD_WS_USER)


def read_sim_json(path: str | Path) -> Endpoints:
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text())
    except OSError as exc:
        raise UserError(f"simulator info {p} cannot be read: {exc.strerror}") from None
    except ValueError:
        raise UserError(f"simulator info {p} is not JSON (expected a sim.json)") from None
    try:
        return Endpoints(
            rest_host=str(data["rest_base_url"]),
            ws_url=str(data["ws_url"]),
            ws_user_url=str(data["ws_user_url"]),
            ca_file=str(data["cert_file"]),
            key_file=str(data["key_file"]),
            simulator=True,
            description=f"simulator {data['rest_base_url']}",
        )
    except (KeyError, TypeError) as exc:
        raise UserError(f"simulator info {p} lacks field {exc}") from None


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


_lock = threading.Lock()
_running: dict[Path, list[Any]] = {}  # state dir -> [SimulatorThread, holders]


def _release(key: Path) -> None:
    with _lock:
        entry = _running.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _running[key]
    log.info("stopping the in-process simulator in %s", key)
    entry[0].stop()


def start_in_process(
    state_dir: Path, symbols: Sequence[str], seed: int, **options: Any
) -> tuple[Endpoints, SimLease]:
    """A simulator in a background thread, shared per state dir for the life of the run,
    serving the universe's products (a ``-USDC`` pair from its USD book, as Coinbase does)."""
    from gpt_trader_coinbase.simulator.server import INFO_FILE, SimulatorThread

    key = (Path(state_dir) / "coinbase-sim").resolve()
    with _lock:
        entry = _running.get(key)
        if entry is None:
            sim = SimulatorThread(key, seed=seed, products=list(symbols), **options)
            sim.start()
            entry = _running[key] = [sim, 0]
            log.info("started an in-process simulator on %s", sim.info.rest_base_url)
        entry[1] += 1
    return read_sim_json(key / INFO_FILE), SimLease(key)


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
        return read_sim_json(env), None
    if sim == "auto":
        return PRODUCTION, None
    return start_in_process(state_dir, symbols, seed, **(sim_options or {}))
