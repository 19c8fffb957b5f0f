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

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gpt_trader.checks import Check
from gpt_trader.components import ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

from gpt_trader_ops.port import PORT_ENV, PORT_OPTION

if TYPE_CHECKING:
    pass


@hookimpl
def register_sinks() -> Iterator[ComponentSpec]:
    # Named only: settings and sinks (prometheus_client, notifiers) load when a profile uses one.
    yield ComponentSpec(
        "metrics",
        Kind.SINK,
        "gpt_trader_ops.metrics:make_metrics_sink",
        "gpt_trader_ops.settings:MetricsParams",
        "Prometheus metrics of events, orders, P&L, guards, feed and venue health",
    )
    yield ComponentSpec(
        "alerts",
        Kind.SINK,
        "gpt_trader_ops.alerts:make_alerts_sink",
        "gpt_trader_ops.settings:AlertsParams",
        "alert rules with cooldowns; log, webhook and email notifiers",
    )


@hookimpl
def register_checks() -> Iterator[Check]:
    from gpt_trader_ops.checks import PROFILE_CHECKS

    yield from PROFILE_CHECKS


def _has_work(context: Any) -> bool:
    """Whether the run built an ops sink or asked for a metrics port (``run --metrics-port``,
    ``GPT_TRADER_METRICS_PORT``); other runs need none of the ops machinery loaded."""
    sinks = getattr(context.kernel.parts, "sinks", ())
    if any(type(sink).__module__.startswith("gpt_trader_ops.") for sink in sinks):
        return True
    options = {**(context.extra.get("options") or {}), **context.extra}
    return options.get(PORT_OPTION) is not None or bool(os.environ.get(PORT_ENV, "").strip())


@hookimpl
def startup(context: Any) -> None:
    if not _has_work(context):
        return
    from gpt_trader_ops.lifecycle import on_startup

    on_startup(context)


@hookimpl
def shutdown(context: Any) -> None:
    # Only a run whose startup had work loaded the lifecycle; the others have nothing to stop.
    lifecycle = sys.modules.get("gpt_trader_ops.lifecycle")
    if lifecycle is not None:
        lifecycle.on_shutdown(context)
