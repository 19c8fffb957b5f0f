"""The ``ops`` plugin: the ``metrics`` and ``alerts`` sinks, ``gpt-trader preflight`` with its
checks of the profile, and the lifecycle hooks that serve metrics and run the periodic checks.

A profile enables them like any sink::

    [[sinks]]
    use = "metrics"
    port = 9464              # or `run --metrics-port`, or GPT_TRADER_METRICS_PORT

    [[sinks]]
    use = "alerts"
    notifiers = [{kind = "log"}, {kind = "webhook", url_env = "SLACK_WEBHOOK_URL"}]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gpt_trader.checks import Check
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl


@hookimpl
def register_sinks() -> Iterator[ComponentSpec]:
    from gpt_trader_ops.alerts import AlertsParams, make_alerts_sink
    from gpt_trader_ops.metrics import MetricsParams, make_metrics_sink

    yield ComponentSpec(
        "metrics",
        Kind.SINK,
        make_metrics_sink,
        MetricsParams,
        "Prometheus metrics of events, orders, P&L, guards, feed and venue health",
    )
    yield ComponentSpec(
        "alerts",
        Kind.SINK,
        make_alerts_sink,
        AlertsParams,
        "alert rules with cooldowns; log, webhook and email notifiers",
    )


@hookimpl
def register_checks() -> Iterator[Check]:
    from gpt_trader_ops.checks import PROFILE_CHECKS

    yield from PROFILE_CHECKS


@hookimpl
def startup(context: Any) -> None:
    from gpt_trader_ops.lifecycle import on_startup

    on_startup(context)


@hookimpl
def shutdown(context: Any) -> None:
    from gpt_trader_ops.lifecycle import on_shutdown

    on_shutdown(context)
