"""The public plugin API of GPT-Trader: every hook a plugin may implement.

Registration hooks run once, when a profile is assembled, and return (or yield)
:class:`~gpt_trader.components.ComponentSpec` objects. The per-event hot path never calls
hooks: it calls the plain objects those specs built. Lifecycle hooks broadcast start and
stop of a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from gpt_trader.components import ComponentSpec, ProductCatalogue

PROJECT = "gpt_trader"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_brokers() -> Iterable[ComponentSpec]:
    """Return broker specs (``kind=Kind.BROKER``) that a profile may select as ``broker``.

    Called once when a profile is assembled and when plugins are listed. The factory must
    return an object implementing :class:`gpt_trader.protocols.Broker`.

    Example::

        @hookimpl
        def register_brokers():
            yield ComponentSpec("sim", Kind.BROKER, make_sim_broker, SimBrokerParams)
    """


@hookspec
def register_feeds() -> Iterable[ComponentSpec]:
    """Return market-data feed specs (``kind=Kind.FEED``) a profile may select as ``feed``.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Feed`.

    Example::

        @hookimpl
        def register_feeds():
            yield ComponentSpec("csv", Kind.FEED, make_csv_feed, CsvFeedParams)
    """


@hookspec
def register_signals() -> Iterable[ComponentSpec]:
    """Return signal specs (``kind=Kind.SIGNAL``, usually ``per_symbol=True``).

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Signal`;
    a per-symbol spec is built once for each symbol of the universe.

    Example::

        @hookimpl
        def register_signals():
            yield ComponentSpec("sma_cross", Kind.SIGNAL, SmaCross, SmaParams, per_symbol=True)
    """


@hookspec
def register_voters() -> Iterable[ComponentSpec]:
    """Return voter specs (``kind=Kind.VOTER``): how several signals become one decision.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Voter`.

    Example::

        @hookimpl
        def register_voters():
            yield ComponentSpec("majority", Kind.VOTER, lambda p, ctx: Majority())
    """


@hookspec
def register_filters() -> Iterable[ComponentSpec]:
    """Return filter specs (``kind=Kind.FILTER``) that may veto or scale a decision.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Filter`.

    Example::

        @hookimpl
        def register_filters():
            yield ComponentSpec("filter.hours", Kind.FILTER, HoursFilter, HoursParams)
    """


@hookspec
def register_sizers() -> Iterable[ComponentSpec]:
    """Return position-sizer specs (``kind=Kind.SIZER``).

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Sizer`.

    Example::

        @hookimpl
        def register_sizers():
            yield ComponentSpec("sizer.fixed", Kind.SIZER, FixedSize, FixedSizeParams)
    """


@hookspec
def register_guards() -> Iterable[ComponentSpec]:
    """Return guard specs (``kind=Kind.GUARD``): pre-trade checks and runtime guards.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Guard`
    (with ``check`` for pre-trade, ``evaluate`` for runtime, or both).

    Example::

        @hookimpl
        def register_guards():
            yield ComponentSpec("guard.max_order_size", Kind.GUARD, MaxOrderSize, MaxParams)
    """


@hookspec
def register_sinks() -> Iterable[ComponentSpec]:
    """Return event-sink specs (``kind=Kind.SINK``) that receive every domain event.

    Called at assembly. The factory must return a :class:`gpt_trader.protocols.Sink`.

    Example::

        @hookimpl
        def register_sinks():
            yield ComponentSpec("console", Kind.SINK, ConsoleSink, ConsoleParams)
    """


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add commands to the CLI ``app`` (a ``typer.Typer``); return nothing.

    Called once by ``build_app(pm)`` while the CLI is built.

    Example::

        @hookimpl
        def register_commands(app):
            @app.command()
            def hello():
                print("hello")
    """


@hookspec
def startup(context: Any) -> None:
    """React to a run starting; ``context`` is the assembled :class:`gpt_trader.app.Runtime`.

    Called once after the profile is assembled and before the first event. An exception
    here aborts the run with a one-line error naming the plugin. Return nothing.

    Example::

        @hookimpl
        def startup(context):
            print("starting", context.run_id)
    """


@hookspec
def shutdown(context: Any) -> None:
    """React to a run ending; ``context`` is the same object ``startup`` received.

    Called once after the last event, the store flushed, also after an error. Return nothing.

    Example::

        @hookimpl
        def shutdown(context):
            print("stopped", context.run_id)
    """


@hookspec
def register_products() -> Iterable[ProductCatalogue]:
    """Return or yield :class:`~gpt_trader.components.ProductCatalogue` objects: products
    the ``sim`` broker and backtests can trade by symbol beyond the built-in dev table
    (e.g. a venue's futures, whose margin terms ride on ``Product.derivative``).

    Called once when a profile is assembled, before the broker is built; the catalogues
    are asked in plugin order and the first to know a symbol describes it.

    Example::

        @hookimpl
        def register_products():
            yield ProductCatalogue("myvenue", lookup=my_products.get, examples=("X-PERP",))
    """
