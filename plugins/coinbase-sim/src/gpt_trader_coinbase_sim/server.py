"""Run the simulator: in-process (``await Simulator.start()`` ... ``stop()``), in a background
thread (for the synchronous SDK), or as the ``gpt-trader sim serve`` process.

When ready it knows its endpoints (:class:`SimInfo`) and writes them to ``<state_dir>/sim.json``:
``rest_base_url`` ("127.0.0.1:PORT", no scheme: what RESTClient's base_url takes), ``ws_url``,
``ws_user_url``, ``cert_file`` (the CA bundle to trust), ``key_file`` (the CDP API key JSON,
mode 0600), ``admin_url`` and ``admin_token``. With ``persist`` the account is kept in
``<state_dir>/venue.json`` and a simulator started on the same state dir resumes it.

Products: the configured ones (``BTC-USDC`` names the ``BTC-USD`` book) plus the USDC alias
of every USD spot pair, as Coinbase lists them; an alias order matches in the USD book and
settles in the USDC wallet (why: :mod:`gpt_trader_coinbase_sim.venue`). The account
starts with USD and USDC wallets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from gpt_trader.errors import UserError

from gpt_trader_coinbase_sim.app import build_app
from gpt_trader_coinbase_sim.catalogue import derivatives_config
from gpt_trader_coinbase_sim.driver import MarketDriver
from gpt_trader_coinbase_sim.faults import FaultInjector, parse_spec
from gpt_trader_coinbase_sim.fsutil import write_private
from gpt_trader_coinbase_sim.keys import (
    ApiKey,
    KeyRing,
    algorithm_of,
    generate_key,
    load_public_from_secret,
)
from gpt_trader_coinbase_sim.market import LEVELS, ProductMarket
from gpt_trader_coinbase_sim.persist import VENUE_FILE, VenueFile
from gpt_trader_coinbase_sim.shapes import Identity
from gpt_trader_coinbase_sim.state import SimState, log
from gpt_trader_coinbase_sim.tls import CERT_NAME, TLS_DIR, TlsFiles, ensure_cert
from gpt_trader_coinbase_sim.tls import KEY_NAME as TLS_KEY_NAME
from gpt_trader_coinbase_sim.venue import Venue
from gpt_trader_coinbase_sim.ws import Hub, WsTimeouts

DEFAULT_PRODUCTS = ("BTC-USD", "ETH-USD")
DEFAULT_CASH = Decimal(100_000)
KEY_FILE = "cdp_api_key.json"
INFO_FILE = "sim.json"


@dataclass
class SimConfig:
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    products: Sequence[str] = DEFAULT_PRODUCTS
    replay: Path | None = None
    faults: str | None = None
    tick_s: float = 1.0
    history_minutes: int = 24 * 60
    # USD and USDC wallets, so the USD books and their USDC aliases both trade
    balances: dict[str, Decimal] = field(
        default_factory=lambda: {"USD": DEFAULT_CASH, "USDC": DEFAULT_CASH}
    )
    # margin pools for derivative products (CFM in USD, INTX in USDC), used when the product
    # list has some (BIT-28NOV26-CDE, BIP-20DEC30-CDE, BTC-PERP-INTX, ...)
    futures_cash: Decimal = Decimal("10000")
    perps_cash: Decimal = Decimal("10000")
    intraday_margin: bool = False
    key_algorithm: str = "ES256"
    ws_timeouts: WsTimeouts = field(default_factory=WsTimeouts)
    ticker_batch_s: float = 5.0
    heartbeat_s: float = 1.0
    persist: bool = False
    # refuse limit/stop prices further than this fraction from the last trade
    # (PREVIEW_BREACHED_PRICE_LIMIT); None = no band
    price_band: Decimal | None = None
    # False: bind no socket; the embedder connects its own transports to the protocols
    # :meth:`Simulator.accept` makes (chaos runs the wire in memory, on a virtual clock).
    # sim.json then names ``host:port`` without anything listening there.
    listen: bool = True
    # price levels a side of each synthetic book (each tick lays them all out afresh)
    book_levels: int = LEVELS


@dataclass(frozen=True)
class SimInfo:
    rest_base_url: str
    ws_url: str
    ws_user_url: str
    cert_file: str
    key_file: str
    admin_url: str
    admin_token: str
    api_key_name: str
    tls_key_file: str
    state_dir: str
    port: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _load_or_create_key(path: Path, algorithm: str) -> ApiKey:
    """Reuse the key of a previous run in the same state dir, so clients keep working."""
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            secret = data["privateKey"]
            pub = load_public_from_secret(secret)
            alg = algorithm_of(pub)
            return ApiKey(str(data.get("name") or data["id"]), secret, alg)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable key file %s; writing a new one", path)
    key = generate_key(algorithm)  # type: ignore[arg-type]
    write_private(path, key.to_json().encode())
    return key


def _new_paths(state_dir: Path) -> list[Path]:
    """What a start would create: the state dir's files not there yet, then its missing
    directories, deepest first (removed again when the start is refused)."""
    tls_dir = state_dir / TLS_DIR
    files = [tls_dir / CERT_NAME, tls_dir / TLS_KEY_NAME]
    files += [state_dir / f for f in (KEY_FILE, INFO_FILE, VENUE_FILE)]
    dirs = [tls_dir, state_dir, *state_dir.parents]
    return [p for p in files + dirs if not p.exists()]


def _make_dir(state_dir: Path) -> None:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"simulator state dir {state_dir}: {exc.strerror}") from None


def _remove_new(paths: list[Path]) -> None:
    for path in paths:  # files first, then the directories from the deepest up
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()


class Simulator:
    """One simulator instance on its own port. ``await start()`` ... ``await stop()``."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.info: SimInfo | None = None
        self.state: SimState | None = None
        self.hub: Hub | None = None
        self.api_key: ApiKey | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> SimInfo:
        """Check the config (products, balances, faults), then write the state dir and bind.
        A refused start leaves behind none of the files it created."""
        cfg = self.config
        state_dir = cfg.state_dir.expanduser().absolute()  # sim.json is read from anywhere
        # Everything that can refuse the config runs before the first file is written.
        faults = FaultInjector(parse_spec(cfg.faults), default_seed=cfg.seed)
        venue_file = VenueFile(state_dir / VENUE_FILE) if cfg.persist else None
        saved = venue_file.read() if venue_file is not None else None
        products = list(cfg.products)
        if venue_file is not None and saved is not None:
            products += [s for s in venue_file.products(saved) if s not in products]
        venue = Venue.create(
            products,
            seed=cfg.seed,
            balances=cfg.balances,
            derivatives=derivatives_config(
                cfg.futures_cash, cfg.perps_cash, intraday_margin=cfg.intraday_margin
            ),
            price_band=cfg.price_band,
        )
        created = _new_paths(state_dir)
        try:
            return await self._start(state_dir, venue, faults, venue_file, saved)
        except BaseException:
            await self.stop()
            _remove_new(created)
            raise

    async def _start(
        self,
        state_dir: Path,
        venue: Venue,
        faults: FaultInjector,
        venue_file: VenueFile | None,
        saved: dict[str, Any] | None,
    ) -> SimInfo:
        cfg = self.config
        _make_dir(state_dir)
        tls = ensure_cert(state_dir)
        key_path = state_dir / KEY_FILE
        self.api_key = _load_or_create_key(key_path, cfg.key_algorithm)
        keys = KeyRing()
        keys.register_key(self.api_key)
        markets = {
            s: ProductMarket(p, random.Random(f"{cfg.seed}:book:{s}"), levels=cfg.book_levels)
            for s, p in venue.products.items()
            if s not in venue.aliases  # an alias trades in its book's market
        }
        state = SimState(
            venue=venue,
            markets=markets,
            keys=keys,
            faults=faults,
            ident=Identity.from_seed(cfg.seed),
            admin_token=secrets.token_urlsafe(24),
        )
        state.hub = self.hub = Hub(state, cfg.ws_timeouts)
        prices: dict[str, Decimal] = {}
        if venue_file is not None:
            if saved is not None:
                prices = venue_file.restore(state, saved)
            state.venue_file = venue_file
        venue.add_listener(state.order_changed, state.fill_happened)
        driver = MarketDriver(
            state, seed=cfg.seed, replay=cfg.replay, tick_s=cfg.tick_s, anchors=prices
        )
        driver.backfill(cfg.history_minutes)
        self.state = state

        runner = web.AppRunner(build_app(state, self.hub), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        port = await self._listen(runner, tls) if cfg.listen else cfg.port or 443
        state.port = port
        hostport = f"{cfg.host}:{port}"
        self.info = SimInfo(
            rest_base_url=hostport,
            ws_url=f"wss://{hostport}/ws",
            ws_user_url=f"wss://{hostport}/ws/user",
            cert_file=str(tls.cert_file),
            key_file=str(key_path),
            admin_url=f"https://{hostport}/admin",
            admin_token=state.admin_token,
            api_key_name=self.api_key.name,
            tls_key_file=str(tls.key_file),
            state_dir=str(state_dir),
            port=port,
        )
        write_private(state_dir / INFO_FILE, json.dumps(self.info.to_json(), indent=1).encode())
        self._tasks = [
            asyncio.create_task(driver.run(), name="sim-market"),
            asyncio.create_task(self._heartbeats(), name="sim-heartbeats"),
            asyncio.create_task(self._ticker_batches(), name="sim-ticker-batch"),
        ]
        return self.info

    async def _listen(self, runner: web.AppRunner, tls: TlsFiles) -> int:
        cfg = self.config
        site = web.TCPSite(runner, cfg.host, cfg.port, ssl_context=tls.server_context())
        try:
            await site.start()
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise UserError(f"simulator cannot listen on {cfg.host}:{cfg.port}: {why}") from None
        return self._bound_port(runner)

    def accept(self) -> asyncio.Protocol:
        """The server side of one new connection (HTTP/1.1 and WebSocket, as over a socket):
        hand it a transport with ``connection_made``."""
        assert self._runner is not None, "not started"
        assert self._runner.server is not None, "not started"
        return self._runner.server()

    @staticmethod
    def _bound_port(runner: web.AppRunner) -> int:
        for site in runner.sites:
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                return int(server.sockets[0].getsockname()[1])
        raise RuntimeError("simulator did not bind a socket")

    async def _heartbeats(self) -> None:
        assert self.hub is not None
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            self.hub.heartbeat()

    async def _ticker_batches(self) -> None:
        assert self.hub is not None
        while True:
            await asyncio.sleep(self.config.ticker_batch_s)
            self.hub.ticker_batch()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.state is not None:
            self.state.persist(always=True)
        if self.hub is not None:
            await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class SimulatorThread:
    """A simulator on its own event loop in a daemon thread: for synchronous clients (the
    SDK's RESTClient) in synchronous tests. Use as a context manager or start()/stop()."""

    def __init__(self, state_dir: Path, **options: Any) -> None:
        self.sim = Simulator(SimConfig(state_dir=Path(state_dir), **options))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="coinbase-sim", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def info(self) -> SimInfo:
        assert self.sim.info is not None
        return self.sim.info

    @property
    def state(self) -> SimState:
        assert self.sim.state is not None
        return self.sim.state

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.sim.start())
        except BaseException as e:  # reported to start() in the caller's thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self, timeout: float = 30.0) -> SimInfo:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("simulator did not start")
        if self._error is not None:
            raise self._error
        return self.info

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the simulator's loop (its state is not thread-safe)."""

        async def _call() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(_call(), self.loop).result(10)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop)
        with contextlib.suppress(Exception):
            fut.result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(15)
        self.loop.close()

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
