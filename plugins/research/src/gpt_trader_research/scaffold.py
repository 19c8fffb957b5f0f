"""``gpt-trader strategy new NAME``: write a third-party strategy package to start from.

The package is modelled on ``examples/third_party_signal``: a ``src/`` layout, the
``gpt_trader`` entry point, one signal (``NAME.momentum``, incremental ``update`` plus an
exact vectorised ``compute`` so backtests take the fast path) and its tests. It installs
with ``uv pip install DIR`` (or ``pip install DIR``) and then shows in
``gpt-trader plugins list``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gpt_trader.errors import UserError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")

PYPROJECT = """\
[project]
name = "{dist}"
version = "0.1.0"
description = "GPT-Trader strategy plugin: the {name}.momentum signal"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["gpt-trader"]

# Entry-point group "gpt_trader": the name ("{name}") is what `gpt-trader plugins list`
# shows and what GPT_TRADER_LOAD_PLUGINS allows; the value is the module with the hooks.
[project.entry-points.gpt_trader]
{name} = "{pkg}.plugin"

[project.optional-dependencies]
test = ["pytest>=8"]

[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/{pkg}"]
"""

README = """\
# {dist}

A GPT-Trader strategy plugin written by `gpt-trader strategy new {name}`. It registers one
signal, `{name}.momentum`: LONG when the close is more than `threshold_pct` % above the close
`lookback` bars earlier, FLAT when it is more than that below.

```bash
uv pip install -e .                 # or: pip install -e .
gpt-trader plugins list             # shows "{name}" providing signal:{name}.momentum
gpt-trader backtest --data bars.csv --symbol BTC-USD --signal {name}.momentum:lookback=30
pytest tests                        # the signal's own tests
```

Use it in a profile:

```toml
[[signals]]
use = "{name}.momentum"
lookback = 30
threshold_pct = 0.2
```

Edit `src/{pkg}/signal.py` to change the rule. Keep `update` O(1) per bar, return a value
only when the view changes, and keep `compute` giving exactly what `update` gives (the
tests check it): backtests use `compute` to skip quiet bars.
"""

INIT = '''\
"""GPT-Trader strategy plugin {dist}: the ``{name}.momentum`` signal."""

from {pkg}.signal import Momentum, MomentumParams

__all__ = ["Momentum", "MomentumParams"]
'''

PLUGIN = '''\
"""The module the ``{name}`` entry point names: its hook implementations."""

from __future__ import annotations

from collections.abc import Iterator

from gpt_trader.components import BuildContext, ComponentSpec, Kind
from gpt_trader.hookspecs import hookimpl

from {pkg}.signal import Momentum, MomentumParams


def make_momentum(params: MomentumParams, ctx: BuildContext) -> Momentum:
    """Factory: called once per symbol of the universe (``per_symbol=True``)."""
    if ctx.symbol is None:
        raise ValueError("{name}.momentum is per-symbol: build it with ctx.symbol set")
    return Momentum(ctx.symbol, params.lookback, params.threshold_pct)


@hookimpl
def register_signals() -> Iterator[ComponentSpec]:
    yield ComponentSpec(
        "{name}.momentum",
        Kind.SIGNAL,
        make_momentum,
        MomentumParams,
        summary="LONG when the close is threshold_pct above the close lookback bars ago",
        per_symbol=True,
    )
'''

SIGNAL = '''\
"""``{name}.momentum``: the close against the close ``lookback`` bars earlier.

LONG when ``close > past * (1 + threshold)``, FLAT when ``close < past * (1 - threshold)``
(threshold = ``threshold_pct`` / 100); emitted only when the view changes.
"""

from __future__ import annotations

from collections import deque

from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.decisions import Action, SignalValue
from gpt_trader.domain.market import Candle, MarketEvent
from gpt_trader.params import Params
from pydantic import Field


class MomentumParams(Params):
    """``{name}.momentum``: ``lookback`` bars and a dead band of ``threshold_pct`` percent."""

    lookback: int = Field(20, gt=0, description="bars between the two closes compared")
    threshold_pct: float = Field(0.0, ge=0, description="dead band around the past close, %")


class Momentum:
    """Per-symbol momentum signal (long-only): O(1) per bar with a ring of past closes."""

    def __init__(
        self, symbol: str, lookback: int = 20, threshold_pct: float = 0.0, *, name: str = "{name}.momentum"
    ) -> None:
        p = MomentumParams(lookback=lookback, threshold_pct=threshold_pct)
        self.symbol = symbol
        self.name = name
        self.lookback = p.lookback
        self.threshold = p.threshold_pct / 100.0
        self._closes: deque[float] = deque(maxlen=p.lookback + 1)
        self._last_ts: int | None = None
        self._view: Action | None = None

    def _decide(self, close: float, past: float) -> Action | None:
        if close > past * (1.0 + self.threshold):
            return Action.LONG
        if close < past * (1.0 - self.threshold):
            return Action.FLAT
        return None

    def update(self, event: MarketEvent) -> SignalValue | None:
        if not isinstance(event, Candle) or event.symbol != self.symbol:
            return None
        if self._last_ts is not None and event.ts <= self._last_ts:
            return None  # a repeated or late bar
        self._last_ts = event.ts
        close = float(event.close)
        self._closes.append(close)
        if len(self._closes) <= self.lookback:
            return None
        action = self._decide(close, self._closes[0])
        if action is None or action is self._view:
            return None
        self._view = action
        return SignalValue(self.name, self.symbol, event.close_ts, action)

    def compute(self, bars: BarSeries) -> list[int]:
        """What a fresh instance's ``update`` would emit for each bar (NO_SIGNAL if nothing)."""
        out = [NO_SIGNAL] * len(bars)
        if bars.symbol != self.symbol:
            return out
        closes: list[float] = []
        last_ts: int | None = None
        view: Action | None = None
        for i, (ts, close) in enumerate(zip(bars.ts, bars.close, strict=True)):
            if last_ts is not None and ts <= last_ts:
                continue
            last_ts = ts
            closes.append(close)
            if len(closes) <= self.lookback:
                continue
            action = self._decide(close, closes[-1 - self.lookback])
            if action is not None and action is not view:
                view = action
                out[i] = int(action)
        return out
'''

TEST = '''\
"""Tests for {name}.momentum, using only gpt-trader's public API."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.components import BuildContext, Kind
from gpt_trader.domain.bars import NO_SIGNAL, BarSeries
from gpt_trader.domain.decisions import Action
from gpt_trader.domain.market import NS, Candle
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry
from pydantic import ValidationError

import {pkg}.plugin as plugin
from {pkg} import Momentum

SYMBOL = "BTC-USD"


def bars(closes: list[float]) -> BarSeries:
    series = BarSeries(SYMBOL, 60)
    for i, c in enumerate(closes):
        text = repr(c)
        series.ts.append(i * 60 * NS)
        for column in (series.open, series.high, series.low, series.close):
            column.append(c)
        series.volume.append(1.0)
        series.raw.append((text, text, text, text, "1"))
    return series


def emitted(signal: Momentum, series: BarSeries) -> dict[int, Action]:
    out = {{}}
    for i, candle in enumerate(series.candles()):
        value = signal.update(candle)
        if value is not None:
            out[i] = value.action
    return out


def test_long_then_flat() -> None:
    series = bars([10, 11, 12, 13, 12, 11, 10])
    assert emitted(Momentum(SYMBOL, lookback=2), series) == {{2: Action.LONG, 5: Action.FLAT}}


def test_compute_matches_update() -> None:
    rng = random.Random(1)
    price, closes = 100.0, []
    for _ in range(3000):
        price = round(price * (1 + rng.gauss(0, 0.002)), 2)
        closes.append(price)
    series = bars(closes)
    for lookback, threshold in ((1, 0.0), (20, 0.1), (60, 0.5)):
        fast = Momentum(SYMBOL, lookback, threshold).compute(series)
        slow = emitted(Momentum(SYMBOL, lookback, threshold), series)
        assert {{i: Action(v) for i, v in enumerate(fast) if v != NO_SIGNAL}} == slow


def test_registers_through_the_plugin_manager(tmp_path: Path) -> None:
    pm = PluginManager()
    pm.register_plugin(plugin, "{name}")
    registry = Registry(pm)
    assert "{name}.momentum" in registry.names(Kind.SIGNAL)
    ctx = BuildContext("test", "sim", (SYMBOL,), {{}}, tmp_path, symbol=SYMBOL)
    signal = registry.build(Kind.SIGNAL, "{name}.momentum", {{"lookback": 5}}, ctx)
    assert isinstance(signal, Momentum)
    assert signal.lookback == 5
    with pytest.raises(ValidationError):
        Momentum(SYMBOL, lookback=0)


def test_ignores_other_symbols_and_late_bars() -> None:
    signal = Momentum(SYMBOL, lookback=1)
    one = Decimal(1)
    assert signal.update(Candle("ETH-USD", 0, one, one, one, one, one)) is None
    assert signal.update(Candle(SYMBOL, 60 * NS, one, one, one, one, one)) is None
    two = Decimal(2)
    assert signal.update(Candle(SYMBOL, 0, two, two, two, two, one)) is None  # late
    value = signal.update(Candle(SYMBOL, 120 * NS, two, two, two, two, one))
    assert value is not None
    assert value.action is Action.LONG
'''


def new_strategy(name: str, directory: Path) -> dict[str, Any]:
    """Write the package for ``name`` into ``directory / name``; returns what was written."""
    if not _NAME.match(name):
        raise UserError(
            f"strategy name {name!r}: use lower-case letters, digits and underscores, "
            "starting with a letter (e.g. my_momentum)"
        )
    pkg = f"gpt_trader_{name}"
    dist = f"gpt-trader-{name.replace('_', '-')}"
    root = Path(directory).expanduser() / name
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UserError(f"{root} already exists and is not empty; choose another name or --dir")
    values = {"name": name, "pkg": pkg, "dist": dist}
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/{pkg}/__init__.py": INIT,
        f"src/{pkg}/plugin.py": PLUGIN,
        f"src/{pkg}/signal.py": SIGNAL,
        f"src/{pkg}/py.typed": "",
        f"tests/test_{name}.py": TEST,
    }
    written: list[str] = []
    try:
        for rel, template in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(**values) if template else "", encoding="utf-8")
            written.append(rel)
    except OSError as exc:
        raise UserError(f"cannot write {root}: {exc.strerror or exc}") from None
    return {
        "path": str(root),
        "name": name,
        "distribution": dist,
        "package": pkg,
        "entry_point": name,
        "signal": f"{name}.momentum",
        "files": written,
    }
