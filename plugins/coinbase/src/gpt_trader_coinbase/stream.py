"""One reconnecting Advanced Trade WebSocket, with the venue's sequence rules applied.

``WsStream.items()`` yields :class:`Frame` (in sequence order) and :class:`Notice` (what
happened to the connection) until closed:

* ``sequence_num`` is per connection, from 0, contiguous across every frame whatever the
  channel (coinbase-api.md §4.4). A frame at or below the last one is a duplicate or late:
  dropped. A frame ahead of the next expected one waits in a small reorder buffer (a few
  frames, ~100 ms) for the missing ones; if they do not come, a ``gap`` notice is yielded
  and numbering continues from what arrived. The consumer resyncs on a gap.
* Every subscribe/unsubscribe carries a fresh JWT when a key is configured (required for
  ``user``); one channel per message, as the SDK sends them.
* The connection is replaced when the server closes it (1001 "going away": at once, with a
  little jitter), when it drops (1006, reset), or when nothing at all (heartbeats included)
  arrived for ``silence_s`` (``silence`` notice). Reconnects back off exponentially with
  jitter while they keep failing, and every subscription is replayed; ``connected`` notices
  carry the connection number, so the consumer knows to resync from the second one on.
* A connect that fails is logged at WARNING, one line (where, why, when the next try is),
  and yielded as an ``unreachable`` notice saying where and why.
* ``tick`` notices come every ``tick_s`` whatever the traffic (for the consumer's timers).
* A frame that cannot be read (not JSON, not an object, no integer ``sequence_num``, a
  channel or events of the wrong type) is one WARNING line, counted (``parse_errors`` and
  the ``malformed`` reporter) and left out: its number is then missing, and the gap it
  leaves is reported like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from gpt_trader_coinbase.auth import Credentials
from gpt_trader_coinbase.convert import parse_time
from gpt_trader_coinbase.malformed import MalformedPayloads

log = logging.getLogger("gpt_trader_coinbase.stream")
# The shortest wait for a frame: a deadline already due is dealt with after one loop turn.
MIN_WAIT_S = 0.001

NoticeKind = Literal["connected", "gap", "disconnected", "silence", "tick", "error", "unreachable"]


@dataclass(frozen=True, slots=True)
class Frame:
    channel: str
    events: list[dict[str, Any]]
    seq: int
    ts: int  # the envelope's timestamp (venue time, ns)
    connection: int
    received: float = 0.0  # time.perf_counter() when it came off the socket


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    detail: str = ""
    connection: int = 0


@dataclass(frozen=True, slots=True)
class Subscription:
    channel: str
    product_ids: tuple[str, ...] = ()


@dataclass
class StreamStats:
    connections: int = 0
    frames: int = 0
    duplicates: int = 0
    reordered: int = 0
    gaps: int = 0
    going_away: int = 0
    drops: int = 0
    silences: int = 0
    errors: int = 0
    parse_errors: int = 0


def connect_error(exc: BaseException, timeout_s: float) -> str:
    """Why a connect failed, in words (aiohttp's own text carries object reprs)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"certificate not trusted ({exc.certificate_error})"[:200]
    if isinstance(exc, aiohttp.ClientConnectorError):
        err = exc.os_error
        if err.errno is not None and err.errno > 0:
            return os.strerror(err.errno)
        return err.strerror or type(err).__name__
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"WebSocket handshake refused (HTTP {exc.status})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g}s"
    return f"{type(exc).__name__}: {exc}"[:200]


class SequenceTracker:
    """Per-connection ordering: in-order frames out, duplicates dropped, gaps reported."""

    def __init__(
        self,
        window: int = 8,
        window_s: float = 0.1,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.expected = 0
        self.window = window
        self.window_s = window_s
        self._clock = clock or time.monotonic  # read now: a chaos run installs a virtual one
        self._pending: dict[int, Any] = {}
        self._since = 0.0
        self.duplicates = 0
        self.reordered = 0
        self.gaps = 0

    def push(self, seq: int, item: Any) -> tuple[list[Any], bool]:
        """Items now deliverable, and whether a gap had to be declared to get them."""
        if seq < self.expected or seq in self._pending:
            self.duplicates += 1
            return [], False
        if seq == self.expected:
            out = [item]
            self.expected += 1
            if self._pending:
                out.extend(self._drain())
            return out, False
        if not self._pending:
            self._since = self._clock()
        self._pending[seq] = item
        if len(self._pending) > self.window:
            return self._skip(), True
        return [], False

    def deadline(self) -> float | None:
        return self._since + self.window_s if self._pending else None

    def expire(self) -> tuple[list[Any], bool]:
        """Give up waiting for missing frames once the window has passed."""
        if self._pending and self._clock() >= self._since + self.window_s:
            return self._skip(), True
        return [], False

    def _skip(self) -> list[Any]:
        self.gaps += 1
        self.expected = min(self._pending)
        return self._drain()

    def _drain(self) -> list[Any]:
        out = []
        was_waiting = bool(self._pending)
        while self.expected in self._pending:
            out.append(self._pending.pop(self.expected))
            self.expected += 1
        if was_waiting and out:
            self.reordered += len(out)
        if self._pending:
            self._since = self._clock()
        return out


class WsStream:
    def __init__(
        self,
        url: str,
        *,
        subscriptions: Sequence[Subscription],
        credentials: Credentials | None,
        ssl_context: ssl.SSLContext | None,
        session: Callable[[], aiohttp.ClientSession],
        silence_s: float = 5.0,
        tick_s: float = 0.25,
        reorder_window: int = 8,
        reorder_window_s: float = 0.1,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        name: str = "ws",
        seed: int | None = None,
        malformed: MalformedPayloads | None = None,
    ) -> None:
        self.url = url
        self.subscriptions = list(subscriptions)
        self.credentials = credentials
        self.ssl_context = ssl_context
        self._session = session
        self.silence_s = silence_s
        self.tick_s = tick_s
        self.reorder_window = reorder_window
        self.reorder_window_s = reorder_window_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.connect_timeout_s = connect_timeout_s
        self.name = name
        self.stats = StreamStats()
        self.malformed = malformed or MalformedPayloads(f"coinbase.{name}")
        self._rng = random.Random(seed)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False
        self.tracker: SequenceTracker | None = None

    # -- control (between yields) -------------------------------------------------------

    def _message(self, kind: str, sub: Subscription) -> str:
        msg: dict[str, Any] = {
            "type": kind,
            "product_ids": list(sub.product_ids),
            "channel": sub.channel,
        }
        if self.credentials is not None:
            msg["jwt"] = self.credentials.ws_jwt()
        return json.dumps(msg, separators=(",", ":"))

    async def _send(self, text: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return
        with contextlib.suppress(ConnectionResetError, RuntimeError, aiohttp.ClientError):
            await ws.send_str(text)

    async def resubscribe(self, channels: Sequence[str]) -> None:
        """Unsubscribe and subscribe again (fresh snapshots) on the live connection."""
        for sub in self.subscriptions:
            if sub.channel in channels:
                await self._send(self._message("unsubscribe", sub))
                await self._send(self._message("subscribe", sub))

    async def close(self) -> None:
        self._closed = True
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()

    def _backoff(self, attempt: int) -> float:
        cap = min(self.backoff_max_s, self.backoff_base_s * float(2**attempt))
        return cap / 2 + self._rng.uniform(0, cap / 2)

    # -- the loop -------------------------------------------------------------------------

    async def items(self) -> AsyncIterator[Frame | Notice]:
        failures = 0
        going_away = False
        retry_in: float | None = None  # set by a failed connect, which announced it
        while not self._closed:
            if retry_in is not None:
                await asyncio.sleep(retry_in)
            elif self.stats.connections or failures:
                delay = (
                    self._rng.uniform(0, 0.2)
                    if going_away and not failures
                    else self._backoff(failures)
                )
                await asyncio.sleep(delay)
            going_away = False
            retry_in = None
            try:
                # Not asyncio.wait_for: on Python 3.11 a cancel that lands as a refused
                # connect completes is swallowed (wait_for raises the connect's error
                # instead), and the stream, cancelled at the run's end, retries for ever.
                async with asyncio.timeout(self.connect_timeout_s):
                    ws = await self._session().ws_connect(
                        self.url,
                        ssl=(self.ssl_context or True) if self.url.startswith("wss://") else False,
                        autoping=True,
                        heartbeat=None,
                        max_msg_size=16 * 1024 * 1024,
                        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                        headers={"x-cb-retry-counter": str(failures)} if failures else None,
                    )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                failures += 1
                self.stats.errors += 1
                retry_in = self._backoff(failures)
                why = f"cannot connect to {self.url}: {connect_error(exc, self.connect_timeout_s)}"
                log.warning("%s: %s; retrying in %.1fs", self.name, why, retry_in)
                yield Notice("unreachable", why)
                continue
            self._ws = ws
            self.stats.connections += 1
            conn = self.stats.connections
            tracker = SequenceTracker(self.reorder_window, self.reorder_window_s)
            self.tracker = tracker
            code: int | None = None
            delivered = False
            try:
                for sub in self.subscriptions:
                    await ws.send_str(self._message("subscribe", sub))
                yield Notice("connected", connection=conn)
                last_rx = time.monotonic()
                next_tick = last_rx + self.tick_s
                while not self._closed:
                    now = time.monotonic()
                    waits = [last_rx + self.silence_s - now, next_tick - now]
                    pending = tracker.deadline()
                    if pending is not None:
                        waits.append(pending - now)
                    try:
                        # Never 0: aiohttp reads a timeout of 0 as none, and a deadline
                        # already due (a slow consumer) would wait for the next frame.
                        msg = await ws.receive(timeout=max(MIN_WAIT_S, min(waits)))
                    except TimeoutError:
                        msg = None
                    now = time.monotonic()
                    if msg is not None:
                        if msg.type is aiohttp.WSMsgType.TEXT:
                            last_rx = now
                            frame = self._parse(msg.data, conn)
                            if isinstance(frame, Notice):
                                yield frame
                            elif frame is not None:
                                ready, gap = tracker.push(frame.seq, frame)
                                if gap:
                                    self.stats.gaps += 1
                                    yield Notice(
                                        "gap", f"before seq {tracker.expected - len(ready)}", conn
                                    )
                                for item in ready:
                                    delivered = True
                                    yield item
                        elif msg.type in (
                            aiohttp.WSMsgType.CLOSE,
                            aiohttp.WSMsgType.CLOSING,
                            aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR,
                        ):
                            # A receive timeout leaves close_code at 1006: read the frame's.
                            closing = msg.type is aiohttp.WSMsgType.CLOSE
                            code = int(msg.data) if closing else ws.close_code
                            break
                    ready, gap = tracker.expire()
                    if gap:
                        self.stats.gaps += 1
                        yield Notice("gap", "missing frames did not arrive", conn)
                    for item in ready:
                        delivered = True
                        yield item
                    if now - last_rx >= self.silence_s:
                        self.stats.silences += 1
                        yield Notice("silence", f"nothing for {self.silence_s:g}s", conn)
                        break
                    if now >= next_tick:
                        next_tick = now + self.tick_s
                        yield Notice("tick", connection=conn)
            except (aiohttp.ClientError, ConnectionResetError, RuntimeError) as exc:
                code = 1006
                log.debug("%s: connection %d failed: %s", self.name, conn, type(exc).__name__)
            finally:
                self._ws = None
                if not ws.closed:
                    with contextlib.suppress(Exception):
                        await ws.close()
                self.stats.duplicates += tracker.duplicates
                self.stats.reordered += tracker.reordered
            if self._closed:
                return
            if code == 1001:
                self.stats.going_away += 1
                going_away = True
            else:
                self.stats.drops += 1
            failures = 0 if delivered else failures + 1
            yield Notice("disconnected", f"code {code}", conn)

    def _unreadable(self, why: str) -> None:
        self.stats.parse_errors += 1
        self.malformed.report(f"{self.name} frame", why)

    def _parse(self, raw: str, conn: int) -> Frame | Notice | None:
        received = time.perf_counter()
        self.stats.frames += 1
        try:
            data = json.loads(raw)
        except ValueError:
            self._unreadable("not JSON (truncated?)")
            return None
        if not isinstance(data, dict):
            self._unreadable(f"a JSON {type(data).__name__}, not an object")
            return None
        if data.get("type") == "error":
            self.stats.errors += 1
            message = str(data.get("message", ""))[:200]
            log.warning("%s: server error frame: %s", self.name, message)
            return Notice("error", message, conn)
        seq = data.get("sequence_num")
        if not isinstance(seq, int) or isinstance(seq, bool):
            self._unreadable("sequence_num is not an integer")
            return None
        events = data.get("events", [])
        channel = data.get("channel")
        if not isinstance(channel, str) or not isinstance(events, list):
            # Left out of the sequence: its number shows up missing, a gap the consumer
            # resyncs on, as for a frame that never came.
            self._unreadable(f"frame {seq}: channel or events of the wrong type")
            return None
        try:
            ts = parse_time(data.get("timestamp"), "timestamp")
        except ValueError:
            ts = time.time_ns()
        return Frame(
            channel,
            events,
            seq,
            ts,
            conn,
            received,
        )
