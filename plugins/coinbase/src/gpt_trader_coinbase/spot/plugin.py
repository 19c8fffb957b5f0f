"""Entry point ``coinbase_spot``: the ``coinbase.spot`` broker, the ``coinbase.market`` feed,
and the ``orders`` / ``positions`` / ``account`` commands.

Profiles select them by name::

    [broker]
    use = "coinbase.spot"        # real money: needs keys AND `gpt-trader run --live`
    [feed]
    use = "coinbase.market"
    channels = ["ticker", "level2", "market_trades"]

    # against a simulator instead (no --live needed, never uses real keys):
    [broker]
    use = "coinbase.spot"
    sim = true                   # $GPT_TRADER_COINBASE_SIM's sim.json, else one in-process
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.errors import UserError
from gpt_trader.hookspecs import hookimpl

from gpt_trader_coinbase.target import Endpoints, SimLease, require_listening, resolve

if TYPE_CHECKING:
    from gpt_trader_coinbase.auth import Credentials
    from gpt_trader_coinbase.spot.params import MarketFeedParams, SpotBrokerParams, TargetParams

# auth (cryptography, jwt), rest (aiohttp) and the settings models (pydantic) load when a
# profile validates or builds a component, not whenever plugins are discovered: every CLI
# command and the dev profile would pay for them.

# A build option: what makes the aiohttp connector of every Coinbase client of the bot, for
# an embedder that runs the simulator in its own process without sockets (chaos). Nothing
# is probed for a listener then; the default, TCP and TLS, is what everything else uses.
TRANSPORT_OPTION = "coinbase_transport"


def _target(params: TargetParams, ctx: BuildContext) -> tuple[Endpoints, SimLease | None]:
    return resolve(
        sim=params.sim,
        sim_json=params.sim_json,
        state_dir=Path(ctx.state_dir),
        symbols=ctx.universe,
        seed=ctx.seed,
        sim_options={"tick_s": params.sim_tick_s},
    )


def _credentials(params: TargetParams, endpoints: Endpoints) -> Credentials | None:
    from gpt_trader_coinbase.auth import load_credentials

    if params.key_file:
        return load_credentials(params.key_file)
    if endpoints.simulator:
        # A simulator gets its own key, never the real one from the environment.
        return load_credentials(endpoints.key_file) if endpoints.key_file else None
    return load_credentials()


def build_rest_broker(
    name: str,
    params: SpotBrokerParams,
    ctx: BuildContext,
    make: Callable[[Any, Endpoints, Credentials, SimLease | None], Any],
) -> Any:
    """Target, live confirmation, key and REST client for a Coinbase broker component;
    ``make(rest, endpoints, credentials, lease)`` builds the broker itself."""
    from gpt_trader_coinbase.auth import ENV_KEY, ENV_SECRET, load_credentials
    from gpt_trader_coinbase.rest import RestClient

    endpoints, lease = _target(params, ctx)
    connector = ctx.options.get(TRANSPORT_OPTION)
    if endpoints.origin and lease is None and connector is None:
        require_listening(endpoints)
    if not endpoints.simulator:
        if not ctx.options.get("live"):
            raise UserError(
                f"{name} trades real money: pass --live to confirm "
                "(or try a -sim or the paper profile)"
            )
        if load_credentials(params.key_file) is None:
            raise UserError(
                f"{name} needs an API key: set {ENV_KEY} and {ENV_SECRET}, "
                'or key_file = "<CDP key file>" in the broker section'
            )
    try:
        credentials = _credentials(params, endpoints)
        if credentials is None:
            raise UserError(f"{name}: no API key for {endpoints.description}")
        rest = RestClient(
            endpoints.rest_host,
            credentials=credentials,
            ca_file=endpoints.ca_file,
            timeout_s=params.request_timeout_s,
            submit_timeout_s=params.submit_timeout_s,
            private_rate=params.private_rate,
            connector=connector,
        )
        return make(rest, endpoints, credentials, lease)
    except BaseException:
        if lease is not None:
            lease.release()
        raise


def broker_config_fields(params: SpotBrokerParams, ctx: BuildContext) -> dict[str, Any]:
    """The BrokerConfig fields every Coinbase broker takes from its params."""
    return {
        "universe": tuple(ctx.universe),
        "quote_currency": params.quote_currency,
        "reserve": dict(params.reserve),
        "reconcile_interval_s": params.reconcile_interval_s,
        "fills_window_s": params.fills_window_s,
        "user_silence_s": params.user_silence_s,
        "ambiguous_grace_s": params.ambiguous_grace_s,
        "scoped": not ctx.options.get("cli", False),
        "preview": bool(ctx.options.get("preview", False)),
    }


def make_spot_broker(params: SpotBrokerParams, ctx: BuildContext) -> Any:
    from gpt_trader_coinbase.spot.broker import CoinbaseSpotBroker
    from gpt_trader_coinbase.spot.config import BrokerConfig

    def make(rest: Any, endpoints: Endpoints, credentials: Credentials, lease: Any) -> Any:
        config = BrokerConfig(**broker_config_fields(params, ctx))
        return CoinbaseSpotBroker(rest, endpoints, credentials, config, lease=lease)

    return build_rest_broker("coinbase.spot", params, ctx, make)


def make_market_feed(params: MarketFeedParams, ctx: BuildContext) -> Any:
    from gpt_trader_coinbase.rest import RestClient
    from gpt_trader_coinbase.spot.feed import CoinbaseMarketFeed

    endpoints, lease = _target(params, ctx)
    try:
        credentials = _credentials(params, endpoints)
        rest = RestClient(
            endpoints.rest_host,
            credentials=credentials,
            ca_file=endpoints.ca_file,
            timeout_s=params.request_timeout_s,
            public_rate=params.public_rate,
            connector=ctx.options.get(TRANSPORT_OPTION),
        )
    except BaseException:
        if lease is not None:
            lease.release()
        raise
    return CoinbaseMarketFeed(
        endpoints,
        rest=rest,
        credentials=credentials,
        channels=params.channels,
        bar_seconds=params.bar_seconds,
        stale_after_s=params.stale_after_s,
        silence_s=params.silence_s,
        book_depth=params.book_depth,
        lease=lease,
    )


@hookimpl
def register_brokers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "coinbase.spot",
        Kind.BROKER,
        make_spot_broker,
        "gpt_trader_coinbase.spot.params:SpotBrokerParams",
        summary="Coinbase Advanced Trade spot (REST + user channel); real money needs --live",
    )


@hookimpl
def register_feeds() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "coinbase.market",
        Kind.FEED,
        make_market_feed,
        "gpt_trader_coinbase.spot.params:MarketFeedParams",
        summary="Coinbase market data: ticker, level2, trades, candles over WebSocket",
    )


@hookimpl
def shutdown(context: Any) -> None:
    import sys

    # Only a run that built a coinbase.market feed has the module loaded; importing it
    # here would load aiohttp into every other run just to find out.
    feed_module = sys.modules.get("gpt_trader_coinbase.spot.feed")
    feed = getattr(context, "feed", None)
    if feed_module is not None and isinstance(feed, feed_module.CoinbaseMarketFeed):
        feed.close()
