"""A durable run keeps what it assembled out of the cyclic GC's walks while it runs (a
full collection stalled a tick for ~100 ms) and hands it back when it finishes."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from gpt_trader.app import assemble, finish, start
from gpt_trader.config import BotConfig


async def test_a_durable_run_freezes_its_objects_until_it_finishes(
    tmp_path: Path, plugin_manager: Any
) -> None:
    config = BotConfig(
        profile={"name": "gc", "mode": "paper", "universe": ["BTC-USD"]},
        broker={"use": "sim"},
        feed={"use": "synthetic", "pace_s": 0},
        voter={"use": "consensus"},
    )
    runtime = await assemble(config, plugin_manager, tmp_path / "state")
    assert gc.get_freeze_count() == 0
    await start(runtime, hooks=False)
    assert gc.get_freeze_count() > 0
    await finish(runtime, "test", hooks=False)
    assert gc.get_freeze_count() == 0
