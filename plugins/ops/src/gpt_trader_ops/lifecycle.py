"""What the ``startup``/``shutdown`` hooks do: bind the sinks to the kernel, serve metrics,
run the periodic refresh and state checks on the kernel's loop, and stop it all again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpt_trader_ops.alerts import AlertsSink
from gpt_trader_ops.metrics import Exporter, MetricsParams, MetricsSink, resolve_port
from gpt_trader_ops.telegram import CommandBot, TelegramSettings

log = logging.getLogger("gpt_trader.ops")

EXTRA_KEY = "gpt_trader_ops"


@dataclass
class OpsRun:
    """The ops machinery of one run, kept in ``runtime.extra["gpt_trader_ops"]``."""

    metrics: MetricsSink | None = None
    alerts: list[AlertsSink] = field(default_factory=list)
    exporter: Exporter | None = None
    telegram: list[CommandBot] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def metrics_url(self) -> str | None:
        return self.exporter.url if self.exporter is not None else None


def attach_sink(kernel: Any, sink: Any) -> None:
    """Add a sink to a kernel that was assembled without it."""
    add = getattr(kernel, "add_sink", None)
    if callable(add):
        add(sink)
    else:
        raise TypeError("this kernel has no add_sink(); gpt-trader core is too old")


def on_startup(runtime: Any) -> OpsRun:
    kernel = runtime.kernel
    sinks = list(getattr(kernel.parts, "sinks", ()))
    ops = OpsRun(
        metrics=next((s for s in sinks if isinstance(s, MetricsSink)), None),
        alerts=[s for s in sinks if isinstance(s, AlertsSink)],
    )
    runtime.extra[EXTRA_KEY] = ops
    port = ops.metrics.port if ops.metrics is not None else None
    if port is None:
        # `run --metrics-port`: the run's options, if core keeps them on the runtime.
        options = {**(runtime.extra.get("options") or {}), **runtime.extra}
        port = resolve_port(None, options)
    if ops.metrics is None and port is not None:
        # `run --metrics-port` without a metrics sink in the profile: add one.
        ops.metrics = MetricsSink(MetricsParams(port=port))
        attach_sink(kernel, ops.metrics)
    if ops.metrics is not None:
        ops.metrics.f.run.info(
            {"run_id": runtime.run_id, "profile": runtime.profile, "mode": runtime.mode}
        )
        ops.metrics.bind(kernel)
        if port is not None:
            ops.exporter = Exporter(ops.metrics.registry, ops.metrics.params.host, port)
            ops.exporter.start()
            runtime.extra["metrics_url"] = ops.exporter.url
    for sink in ops.alerts:
        sink.bind(kernel)
        for settings in sink.engine.params.notifiers:
            if isinstance(settings, TelegramSettings) and settings.commands:
                bot = CommandBot(settings, runtime.state_dir)
                bot.start()
                ops.telegram.append(bot)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return ops  # no loop (a synchronous caller): no periodic work
    if ops.metrics is not None:
        ops.tasks.append(_every(ops.metrics.params.refresh_s, ops.metrics.refresh, "metrics"))
    for sink in ops.alerts:
        ops.tasks.append(_every(sink.engine.params.check_interval_s, sink.check, "alerts"))
    return ops


def on_shutdown(runtime: Any) -> None:
    ops: OpsRun | None = runtime.extra.pop(EXTRA_KEY, None)
    if ops is None:
        return
    for task in ops.tasks:
        task.cancel()
    if ops.metrics is not None:
        with contextlib.suppress(Exception):
            ops.metrics.refresh()
    if ops.exporter is not None:
        ops.exporter.stop()
    for bot in ops.telegram:
        bot.stop()
    for sink in ops.alerts:
        sink.close()


def _every(interval_s: float, fn: Callable[[], object], name: str) -> asyncio.Task[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                fn()
            except Exception:  # a bug here must never stop trading
                log.exception("periodic %s check failed", name)

    return asyncio.get_running_loop().create_task(loop(), name=f"gpt-trader-ops-{name}")
