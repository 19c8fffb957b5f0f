"""Entry point ``coinbase_intx``: the ``coinbase.intx`` broker (INTX perpetuals), enabled
only with ``COINBASE_ENABLE_DERIVATIVES=1`` and an account that has an INTX portfolio::

    [broker]
    use = "coinbase.intx"
    sim = true
    [run]
    quote_currency = "USDC"
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.errors import UserError
from gpt_trader.hookspecs import hookimpl

from gpt_trader_coinbase.derivatives import ENABLE_ENV, derivatives_enabled

if TYPE_CHECKING:
    from gpt_trader_coinbase.derivatives.params import IntxBrokerParams


def make_intx_broker(params: IntxBrokerParams, ctx: BuildContext) -> Any:
    from gpt_trader_coinbase.derivatives.broker import DerivativesConfig
    from gpt_trader_coinbase.derivatives.intx import CoinbaseIntxBroker
    from gpt_trader_coinbase.spot.plugin import broker_config_fields, build_rest_broker

    if not derivatives_enabled():
        raise UserError(f"coinbase.intx: INTX perpetuals are off; set {ENABLE_ENV}=1 to trade them")

    def make(rest: Any, endpoints: Any, credentials: Any, lease: Any) -> Any:
        config = DerivativesConfig(
            **broker_config_fields(params, ctx), risk_interval_s=params.risk_interval_s
        )
        return CoinbaseIntxBroker(rest, endpoints, credentials, config, lease=lease)

    return build_rest_broker("coinbase.intx", params, ctx, make)


@hookimpl
def register_brokers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "coinbase.intx",
        Kind.BROKER,
        make_intx_broker,
        "gpt_trader_coinbase.derivatives.params:IntxBrokerParams",
        summary=f"Coinbase INTX perpetuals; needs {ENABLE_ENV}=1, INTX access and --live",
    )
