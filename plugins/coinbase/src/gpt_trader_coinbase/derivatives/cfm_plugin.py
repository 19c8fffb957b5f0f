"""Entry point ``coinbase_cfm``: the ``coinbase.cfm`` broker (US futures, CFM)::

[broker]
use = "coinbase.cfm"     # real money: keys AND `gpt-trader run --live`
sim = true               # or: against the Coinbase simulator
sweep_floor = "500"      # optional sweep rule
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

if TYPE_CHECKING:
    from gpt_trader_coinbase.derivatives.params import CfmBrokerParams


def make_cfm_broker(params: CfmBrokerParams, ctx: BuildContext) -> Any:
    from gpt_trader_coinbase.derivatives.cfm import CfmConfig, CoinbaseCfmBroker
    from gpt_trader_coinbase.spot.plugin import broker_config_fields, build_rest_broker

    def make(rest: Any, endpoints: Any, credentials: Any, lease: Any) -> Any:
        config = CfmConfig(
            **broker_config_fields(params, ctx),
            risk_interval_s=params.risk_interval_s,
            sweep_floor=params.sweep_floor,
            sweep_excess_above=params.sweep_excess_above,
        )
        return CoinbaseCfmBroker(rest, endpoints, credentials, config, lease=lease)

    return build_rest_broker("coinbase.cfm", params, ctx, make)


@hookimpl
def register_brokers() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "coinbase.cfm",
        Kind.BROKER,
        make_cfm_broker,
        "gpt_trader_coinbase.derivatives.params:CfmBrokerParams",
        summary="Coinbase US futures (CFM): leverage, margin windows, sweeps; needs --live",
    )
