"""Test helpers for GPT-Trader and its plugins, shipped as a pytest plugin (``pytest11``).

Fixtures: ``plugin_manager`` (fresh, no entry points loaded), ``register_plugin`` (register
an object for one test), ``sim_broker`` and ``replay_feed`` (3,000 deterministic BTC-USD
1-minute candles from 2025-01-01, needing nothing outside the installed package).
:func:`install_plugin` installs a plugin module for a CLI subprocess to discover. :func:`manual_kernel` builds a
kernel without a strategy over a simulated exchange, for tests that place orders and move
prices themselves (guards, funding, liquidations); :func:`derivative_product` builds the
futures and perpetuals they trade. :class:`FlipStrategy` registers a
signal (``test.flip``) and a voter (``test.first``) that trade often, for a plugin's tests
that need a strategy without the strategies distribution.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.domain import Action, Decision, Product, ProductType, SignalValue
from gpt_trader.domain.events import Event
from gpt_trader.engine.clock import SimClock
from gpt_trader.hookspecs import hookimpl
from gpt_trader.params import Params
from gpt_trader.plugins import PluginManager, make_plugin_manager

FROZEN_TS = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
T = TypeVar("T")


@pytest.fixture
def plugin_manager() -> PluginManager:
    """A fresh plugin manager with core's built-ins and nothing from entry points."""
    pm = make_plugin_manager(load_entrypoints=False)
    from gpt_trader import builtin

    pm.register_plugin(builtin, "core")
    try:
        from gpt_trader.sim import plugin as sim_plugin

        pm.register_plugin(sim_plugin, "sim")
    except ImportError:  # pragma: no cover - the sim package is part of core
        pass
    return pm


@pytest.fixture
def register_plugin(plugin_manager: PluginManager) -> Iterator[Callable[..., Any]]:
    """Register an object (class instance or module) as a plugin for one test."""
    names: list[str] = []

    def register(obj: Any, name: str | None = None) -> Any:
        plugin_name = name or f"test-plugin-{len(names)}"
        plugin_manager.register_plugin(obj, plugin_name)
        names.append(plugin_name)
        return obj

    yield register
    for name in names:
        if plugin_manager.get_plugin(name) is not None:
            plugin_manager.unregister(name=name)


@pytest.fixture
def sim_broker(tmp_path: Path) -> Any:
    """An in-process simulated broker on the dev universe, $100,000 USD, immediate fills."""
    from gpt_trader.sim.broker import SimBroker
    from gpt_trader.sim.exchange import SimExchange
    from gpt_trader.sim.products import default_products

    products = default_products(["BTC-USD", "ETH-USD"])
    exchange = SimExchange(products, {"USD": Decimal(100_000)})
    return SimBroker(exchange)


class EventRecorder:
    """A sink that keeps every event, for a test to read (``of(kind)`` filters by type)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]


class _NoVote:
    def combine(self, symbol: str, ts: int, votes: object) -> None:
        return None


class _NoSize:
    def size(self, decision: object, state: object) -> Decimal:
        return Decimal(0)


def derivative_product(
    symbol: str,
    kind: str = "future",
    *,
    base: str = "BTC",
    terms: dict[str, Any] | None = None,
    **fields: Any,
) -> Product:
    """A derivative product for tests, with round figures a hand can check.

    ``kind="future"``: 0.01 ``base`` a contract, whole contracts, USD, tick 5, initial
    margin 10 % (25 % long / 30 % short overnight), leverage up to 10, the ``"FUTURES"``
    pool, no funding, no expiry. ``kind="perpetual"``: sizes in ``base`` (0.0001 steps),
    USDC, tick 0.1, 5 % margin (leverage up to 20, 1 by default), CROSS or ISOLATED, hourly
    funding at 0.001 %, the ``"PERPETUALS"`` pool. ``terms`` overrides
    :class:`DerivativeTerms` fields (``expiry_ts``, ``schedule``, ``funding_interval_s``...),
    ``fields`` the Product's.
    """
    from gpt_trader.sim.margin_account import default_terms

    d = Decimal
    if kind == "perpetual":
        product = Product(
            symbol, base, "USDC", d("0.0001"), d("0.1"), d("0.0001"), d(1000),
            quote_min_size=d(1), product_type=ProductType.PERPETUAL, contract_size=d(1),
        )  # fmt: skip
    elif kind == "future":
        product = Product(
            symbol, base, "USD", d(1), d(5), d(1), d(5000),
            quote_min_size=d(0), product_type=ProductType.FUTURE, contract_size=d("0.01"),
        )  # fmt: skip
    else:
        raise ValueError(f"kind must be 'future' or 'perpetual', not {kind!r}")
    # the sim's default terms for a product that carries none are the round figures above
    base_terms = default_terms(product)
    derivative = dataclasses.replace(base_terms, **(terms or {}))
    return dataclasses.replace(product, derivative=derivative, **fields)


def manual_kernel(exchange: Any, clock: SimClock, **parts: Any) -> Any:
    """A Kernel over a SimBroker on ``exchange`` that never decides by itself: the test
    submits orders and feeds market events (unless ``parts`` give a ``voter`` and a
    ``sizer``). ``parts`` are further ``KernelParts`` fields
    (``journal``, ``sinks``, ``guards``, ``quote_currency``, ``leverage``...); the
    journal defaults to an in-memory one and the products to the exchange's."""
    from gpt_trader.engine.journal import MemoryJournal
    from gpt_trader.engine.kernel import Kernel, KernelParts
    from gpt_trader.sim.broker import SimBroker

    products = parts.pop("products", None) or {p.symbol: p for p in exchange.products()}
    parts.setdefault("journal", MemoryJournal())
    return Kernel(
        KernelParts(
            run_id=parts.pop("run_id", "r"),
            products=products,
            signals={symbol: [] for symbol in products},
            voter=parts.pop("voter", None) or _NoVote(),
            sizer=parts.pop("sizer", None) or _NoSize(),
            broker=SimBroker(exchange, clock=clock.now),
            clock=clock,
            **parts,
        )
    )


class FlipParams(Params):
    period: int = 3


class Flip:
    """Long for ``period`` bars, flat for ``period`` bars, and so on: trades often."""

    def __init__(self, params: FlipParams, symbol: str) -> None:
        self.period, self.symbol, self.bars = params.period, symbol, 0
        self.name = "test.flip"

    def update(self, event: Any) -> SignalValue | None:
        self.bars += 1
        if self.bars % self.period:
            return None
        action = Action.LONG if (self.bars // self.period) % 2 else Action.FLAT
        return SignalValue(self.name, self.symbol, event.ts, action)


class First:
    """Takes the first vote as the decision."""

    name = "test.first"

    def combine(self, symbol: str, ts: int, votes: Sequence[SignalValue]) -> Decision | None:
        return Decision(symbol, ts, votes[0].action, votes=tuple(votes)) if votes else None


class FlipStrategy:
    """A plugin with the ``test.flip`` signal and the ``test.first`` voter."""

    @hookimpl
    def register_signals(self) -> Iterator[ComponentSpec]:
        yield ComponentSpec(
            "test.flip",
            Kind.SIGNAL,
            lambda p, ctx: Flip(p, ctx.symbol or ""),
            FlipParams,
            per_symbol=True,
        )

    @hookimpl
    def register_voters(self) -> Iterator[ComponentSpec]:
        yield ComponentSpec("test.first", Kind.VOTER, lambda p, ctx: First())


def install_plugin(
    where: Path, name: str, source: str, *, distribution: str = "", version: str = "0.1"
) -> str:
    """Install ``source`` as plugin ``name`` the way discovery finds an installed wheel: a
    module ``<name>_plugin`` and a ``*.dist-info`` with its ``gpt_trader`` entry point
    under ``where``. Returns the PYTHONPATH a CLI subprocess discovers it with."""
    where.mkdir(parents=True, exist_ok=True)
    module = f"{name}_plugin"
    dist = distribution or module
    (where / f"{module}.py").write_text(source)
    info = where / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[gpt_trader]\n{name} = {module}\n")
    return os.pathsep.join(p for p in (str(where), os.environ.get("PYTHONPATH", "")) if p)


def sample_csv() -> Path:
    """The candle sample that ships with the repository's tests."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "tests" / "data" / "btcusd_1m_sample.csv"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("tests/data/btcusd_1m_sample.csv not found")


@pytest.fixture
def replay_feed() -> Any:
    """3,000 deterministic BTC-USD 1-minute candles (a random walk) from FROZEN_TS: a
    ReplayableFeed (``events``) and a Feed (``stream``, unpaced)."""
    from gpt_trader.sim.products import default_products
    from gpt_trader.sim.synthetic import SyntheticFeed

    products = default_products(["BTC-USD"])
    return SyntheticFeed(products, seed=7, start_ts=FROZEN_TS, pace_s=0, limit=3000)
