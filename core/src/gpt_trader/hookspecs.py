"""The public plugin API of GPT-Trader: every hook a plugin may implement.

Registration hooks run once, when a profile is assembled, and return (or yield)
:class:`~gpt_trader.components.ComponentSpec` objects (``register_checks``: preflight
:class:`~gpt_trader.checks.Check` objects). The per-event hot path never calls
hooks: it calls the plain objects those specs built. Lifecycle hooks broadcast start and
stop of a run.

Each hook's example runs as it is (``core/tests/test_hooks.py`` executes them) in a module
that has done ``from gpt_trader.hookspecs import hookimpl``,
``from gpt_trader.components import ComponentSpec, Kind`` and
``from gpt_trader.params import Params``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import typer

    from gpt_trader.checks import Check
    from gpt_trader.components import ComponentSpec, ProductCatalogue
    from gpt_trader.config.settings import BotConfig
    from gpt_trader.engine.kernel import Kernel
    from gpt_trader.store.store import Store

PROJECT = "gpt_trader"


class RunContext(Protocol):
    """What ``startup`` and ``shutdown`` receive: the assembled run
    (:class:`gpt_trader.app.Runtime` is the one the core passes)."""

    @property
    def config(self) -> BotConfig: ...
    @property
    def kernel(self) -> Kernel: ...
    @property
    def store(self) -> Store | None: ...
    @property
    def feed(self) -> Any: ...
    @property
    def state_dir(self) -> Path: ...
    @property
    def run_id(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def profile(self) -> str: ...
    @property
    def symbols(self) -> list[str]: ...
    @property
    def extra(self) -> dict[str, Any]:
        """Room for plugins to keep per-run objects between ``startup`` and ``shutdown``."""
        ...


hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_brokers() -> Iterable[ComponentSpec]:
    """Return broker specs (``kind=Kind.BROKER``) that a profile may select as ``broker``.

    Called once when a profile is assembled and when plugins are listed. The factory must
    return an object implementing :class:`gpt_trader.protocols.Broker`.

    Example::

        from gpt_trader.sim.factories import SimBrokerParams, make_sim_broker

        @hookimpl
        def register_brokers():
            # A venue adapter's factory returns its own Broker; this reuses the simulator.
            yield ComponentSpec("paper.sim", Kind.BROKER, make_sim_broker, SimBrokerParams)
    """


@hookspec
def register_feeds() -> Iterable[ComponentSpec]:
    """Return market-data feed specs (``kind=Kind.FEED``) a profile may select as ``feed``.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Feed`.

    Example::

        from gpt_trader.sim.synthetic import SyntheticFeed

        class WalkParams(Params):
            pace_s: float = 0.0

        @hookimpl
        def register_feeds():
            yield ComponentSpec(
                "random_walk",
                Kind.FEED,
                lambda p, ctx: SyntheticFeed(ctx.products, seed=ctx.seed, pace_s=p.pace_s),
                WalkParams,
            )
    """


@hookspec
def register_signals() -> Iterable[ComponentSpec]:
    """Return signal specs (``kind=Kind.SIGNAL``, usually ``per_symbol=True``).

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Signal`;
    a per-symbol spec is built once for each symbol of the universe.

    Example::

        from decimal import Decimal

        from gpt_trader.domain import Action, Candle, SignalValue

        class AboveParams(Params):
            level: Decimal = Decimal(0)

        class Above:
            # LONG while the close is above `level`, FLAT otherwise.
            name = "above"

            def __init__(self, params, symbol):
                self.level, self.symbol = params.level, symbol

            def update(self, event):
                if not isinstance(event, Candle) or event.symbol != self.symbol:
                    return None
                action = Action.LONG if event.close > self.level else Action.FLAT
                return SignalValue(self.name, self.symbol, event.close_ts, action)

        @hookimpl
        def register_signals():
            yield ComponentSpec(
                "above", Kind.SIGNAL, lambda p, ctx: Above(p, ctx.symbol), AboveParams,
                per_symbol=True,
            )
    """


@hookspec
def register_voters() -> Iterable[ComponentSpec]:
    """Return voter specs (``kind=Kind.VOTER``): how several signals become one decision.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Voter`.

    Example::

        from gpt_trader.domain import Decision

        class AllAgree:
            # Decides only when every signal that voted says the same.
            def combine(self, symbol, ts, votes):
                actions = {v.action for v in votes}
                if len(actions) != 1:
                    return None
                return Decision(symbol, ts, actions.pop(), votes=tuple(votes))

        @hookimpl
        def register_voters():
            yield ComponentSpec("all_agree", Kind.VOTER, lambda p, ctx: AllAgree())
    """


@hookspec
def register_filters() -> Iterable[ComponentSpec]:
    """Return filter specs (``kind=Kind.FILTER``) that may veto or scale a decision.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Filter`.

    Example::

        from datetime import UTC, datetime

        from gpt_trader.domain import FilterResult

        class HoursParams(Params):
            start_hour: int = 0
            end_hour: int = 24

        class Hours:
            # New positions only from `start_hour` to `end_hour` (UTC).
            name = "utc_hours"

            def __init__(self, params):
                self.p = params

            def allow(self, decision, state):
                hour = datetime.fromtimestamp(state.now / 1e9, UTC).hour
                if self.p.start_hour <= hour < self.p.end_hour:
                    return FilterResult(True)
                return FilterResult(False, reason=f"{hour}h UTC is outside trading hours")

        @hookimpl
        def register_filters():
            yield ComponentSpec(
                "utc_hours", Kind.FILTER, lambda p, ctx: Hours(p), HoursParams
            )
    """


@hookspec
def register_sizers() -> Iterable[ComponentSpec]:
    """Return position-sizer specs (``kind=Kind.SIZER``).

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Sizer`.

    Example::

        from decimal import Decimal

        class NotionalParams(Params):
            notional: Decimal = Decimal(100)

        class FixedNotional:
            # `notional` quote currency per entry, at the last price.
            def __init__(self, params):
                self.notional = params.notional

            def size(self, decision, state):
                price = state.last_price(decision.symbol)
                return self.notional / price if price else Decimal(0)

        @hookimpl
        def register_sizers():
            yield ComponentSpec(
                "fixed_quote", Kind.SIZER, lambda p, ctx: FixedNotional(p), NotionalParams
            )
    """


@hookspec
def register_guards() -> Iterable[ComponentSpec]:
    """Return guard specs (``kind=Kind.GUARD``): pre-trade checks and runtime guards.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Guard`
    (with ``check`` for pre-trade, ``evaluate`` for runtime, or both).

    Example::

        from decimal import Decimal

        from gpt_trader.domain import GuardResult, Severity

        class MaxSizeParams(Params):
            max_size: Decimal = Decimal(1)

        class MaxOrderSize:
            # Blocks any order larger than `max_size` base units.
            name = "max_size"

            def __init__(self, params):
                self.max_size = params.max_size

            def check(self, request, state):
                if request.size <= self.max_size:
                    return GuardResult.passed(self.name)
                message = f"size {request.size} is above {self.max_size}"
                return GuardResult(self.name, Severity.RECOVERABLE, message)

        @hookimpl
        def register_guards():
            yield ComponentSpec(
                "max_size", Kind.GUARD, lambda p, ctx: MaxOrderSize(p), MaxSizeParams
            )
    """


@hookspec
def register_sinks() -> Iterable[ComponentSpec]:
    """Return event-sink specs (``kind=Kind.SINK``) that receive every domain event.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Sink`.

    Example::

        from gpt_trader.domain.market import ts_to_iso

        class ConsoleSink:
            # Prints every event's time and type.
            def handle(self, event):
                print(ts_to_iso(event.ts), event.type)

        @hookimpl
        def register_sinks():
            yield ComponentSpec("console", Kind.SINK, lambda p, ctx: ConsoleSink())
    """


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add commands to the CLI ``app`` (a ``typer.Typer``); return nothing.

    Called by ``build_app(pm)`` while the CLI is built; ``gpt-trader`` itself calls it (and
    so imports every plugin) only for a command name its command table lacks. Prefer the
    table: an entry point of group ``gpt_trader.commands`` named like the plugin, pointing
    at a tuple of :class:`gpt_trader.cli.table.CommandRef` (name, one-line help, and the
    ``"module:function"`` that adds the command to an app). Tabled commands are listed by
    ``gpt-trader --help`` without importing the plugin, and their module loads only when
    one runs; hook-added ones are not listed there. A command reaches the plugin manager
    with ``gpt_trader.cli.manager.plugin_manager(ctx)``.

    Example::

        @hookimpl
        def register_commands(app):
            @app.command()
            def hello():
                print("hello")
    """


@hookspec
def startup(context: RunContext) -> None:
    """React to a run starting; ``context`` is the assembled run (:class:`RunContext`).

    Called once after the profile is assembled and before the first event. An exception
    here aborts the run with a one-line error naming the plugin. Return nothing.

    Example::

        @hookimpl
        def startup(context):
            print("starting", context.run_id)
    """


@hookspec
def shutdown(context: RunContext) -> None:
    """React to a run ending; ``context`` is the same object ``startup`` received.

    Called once after the last event, the store flushed, also after an error. Return nothing.

    Example::

        @hookimpl
        def shutdown(context):
            print("stopped", context.run_id)
    """


@hookspec
def register_checks() -> Iterable[Check]:
    """Return :class:`gpt_trader.checks.Check` objects: what must hold before a profile runs.

    Called by ``gpt-trader preflight`` (``gpt_trader.checks.run_checks``), never during a
    run. Each check's ``run(context)`` gets a :class:`gpt_trader.checks.CheckContext` and
    yields :class:`gpt_trader.checks.Result` rows (status ok, warn or fail, a one-line detail
    that never contains a secret); ``not_needed(context)`` says why a profile needs none
    of it. Check names are unique across plugins.

    Example::

        from gpt_trader.checks import Check, Result

        def state_dir_is_a_dir(context):
            ok = not context.state_dir.exists() or context.state_dir.is_dir()
            yield Result.of("state_dir_kind", ok, f"{context.state_dir}")

        @hookimpl
        def register_checks():
            yield Check("example.state_dir", "the state dir is a folder", state_dir_is_a_dir)
    """


@hookspec
def register_products() -> Iterable[ProductCatalogue]:
    """Return or yield :class:`~gpt_trader.components.ProductCatalogue` objects: products
    the ``sim`` broker and backtests can trade by symbol beyond the built-in dev table
    (e.g. a venue's futures, whose margin terms ride on ``Product.derivative``).

    Called once when a profile is assembled, before the broker is built; the catalogues
    are asked in plugin order and the first to know a symbol describes it.

    Example::

        from decimal import Decimal

        from gpt_trader.components import ProductCatalogue
        from gpt_trader.domain import Product

        PEPE = Product(
            "PEPE-USD", "PEPE", "USD", base_increment=Decimal(1),
            price_increment=Decimal("0.00000001"), base_min_size=Decimal(1),
            base_max_size=Decimal(10**12),
        )

        @hookimpl
        def register_products():
            yield ProductCatalogue("memecoins", lookup={"PEPE-USD": PEPE}.get,
                                   examples=("PEPE-USD",))
    """
