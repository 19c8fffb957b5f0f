"""Helpers for tests that talk to a running simulator over real sockets.

Kept in the package (not in a tests folder) so the Coinbase broker's own tests can use them:
the options of a fast simulator, a raw WebSocket recorder (to see exactly which frames and
sequence numbers arrive), an admin client, and JWT builders for WebSocket subscribe messages.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import websockets
from coinbase import jwt_generator

from gpt_trader_coinbase_sim.server import SimInfo

# SimulatorThread options for tests: a market that moves ten times a second, heartbeats as
# often and ticker batches every half second, so tests wait on frames for a fraction of a
# second; half an hour of candle history keeps start-up short.
FAST: dict[str, Any] = {
    "tick_s": 0.1,
    "history_minutes": 30,
    "heartbeat_s": 0.1,
    "ticker_batch_s": 0.5,
}


def ssl_context(info: SimInfo) -> ssl.SSLContext:
    """A client context that trusts exactly the simulator's certificate."""
    return ssl.create_default_context(cafile=info.cert_file)


def admin(info: SimInfo, method: str, path: str, body: Any = None) -> Any:
    """Call the admin API (``path`` relative to admin_url, e.g. ``/faults``)."""
    if not info.admin_url.startswith("https://"):
        raise ValueError(f"unexpected admin url {info.admin_url!r}")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(  # noqa: S310 - https only, checked above
        info.admin_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {info.admin_token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, context=ssl_context(info), timeout=10) as resp:  # noqa: S310
        return json.loads(resp.read())


def ws_jwt(key_file: str) -> str:
    """A WebSocket JWT (no uri claim) for the key in ``key_file``, as the SDK builds it."""
    with open(key_file) as fh:
        key = json.load(fh)
    return jwt_generator.build_ws_jwt(key["name"], key["privateKey"])


@dataclass
class Recording:
    frames: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # time.monotonic() of each frame
    close_code: int | None = None
    closed_after_s: float | None = None

    def seqs(self) -> list[int]:
        return [f["sequence_num"] for f in self.frames if "sequence_num" in f]

    def channels(self) -> set[str]:
        return {f.get("channel", f.get("type", "")) for f in self.frames}


async def record_ws(
    url: str,
    info: SimInfo,
    messages: list[dict[str, Any]],
    *,
    duration: float = 1.0,
    max_frames: int | None = None,
    gap_s: float = 0.0,
) -> Recording:
    """Connect, send ``messages`` (``gap_s`` apart), record frames for ``duration`` seconds
    (or until ``max_frames``), and note how the connection ended (1006 = no close frame)."""
    rec = Recording()
    async with websockets.connect(url, ssl=ssl_context(info), max_size=None) as ws:
        for msg in messages:
            await ws.send(json.dumps(msg))
            if gap_s:
                await asyncio.sleep(gap_s)
        start = time.monotonic()  # the recording window opens once everything is sent
        try:
            while time.monotonic() - start < duration:
                left = duration - (time.monotonic() - start)
                raw = await asyncio.wait_for(ws.recv(), timeout=max(left, 0.01))
                rec.frames.append(json.loads(raw))
                rec.times.append(time.monotonic())
                if max_frames is not None and len(rec.frames) >= max_frames:
                    break
        except TimeoutError:
            pass
        except websockets.ConnectionClosed as e:
            rec.close_code = e.rcvd.code if e.rcvd is not None else 1006
            rec.closed_after_s = time.monotonic() - start
    return rec


def assert_refused(run: subprocess.CompletedProcess[str], *words: str) -> str:
    """A CLI refusal as issue #19 asks: exit 2, exactly one stderr line holding every one of
    ``words``, no traceback, nothing on stdout. Returns the line."""
    assert run.returncode == 2, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == "", run.stdout
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]
