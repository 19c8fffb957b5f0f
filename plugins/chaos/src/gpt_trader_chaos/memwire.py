"""The wire between the adapter and the simulator, in memory: no socket, no TLS.

Each connection is a pair of transports whose bytes reach the other side as callbacks on
the event loop, in the order they were written. So the same HTTP/1.1 requests and
replies, WebSocket frames, JWTs and JSON cross it as over loopback, through the same aiohttp
parsers and the simulator's same handlers and middlewares; only their arrival no longer
depends on the kernel. On a virtual clock that matters: a byte in flight is a callback the
loop runs before it may let time jump, where a loopback byte could still be in the kernel
when the clock moved on, and the same seed could play out differently on a busy machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

# What both ends report as the other's address (the simulator logs and rate-limits by it).
PEER = ("127.0.0.1", 0)


class _End(asyncio.Transport):
    """One side of a connection: writes go to ``peer``'s protocol on the next loop turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol) -> None:
        super().__init__({"peername": PEER, "sockname": PEER})
        self._loop = loop
        self._protocol = protocol
        self.peer: _End | None = None
        self._closing = False
        self._lost = False
        self._paused = False
        self._held: list[bytes] = []

    # -- what the protocol above calls ------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or self.peer is None:
            return
        self._loop.call_soon(self.peer._receive, bytes(data))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """FIN both ways, after what was written before it (callbacks run in order)."""
        if self._closing:
            return
        self._closing = True
        self._loop.call_soon(self._connection_lost)
        if self.peer is not None:
            self._loop.call_soon(self.peer._hang_up)

    abort = close

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        self._paused = False
        held, self._held = self._held, []
        for data in held:
            self._receive(data)

    def is_reading(self) -> bool:
        return not self._paused

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        return None

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.Protocol)
        self._protocol = protocol

    # -- what the other end calls -----------------------------------------------------

    def _receive(self, data: bytes) -> None:
        if self._lost:
            return
        if self._paused:
            self._held.append(data)
            return
        self._protocol.data_received(data)

    def _hang_up(self) -> None:
        if not self._closing:
            self._closing = True
            self._connection_lost()

    def _connection_lost(self) -> None:
        if not self._lost:
            self._lost = True
            self._protocol.connection_lost(None)


def connect(
    loop: asyncio.AbstractEventLoop, client: asyncio.Protocol, server: asyncio.Protocol
) -> None:
    """Join two protocols by a fresh pair of ends, as an accepted TCP connection would."""
    near, far = _End(loop, client), _End(loop, server)
    near.peer, far.peer = far, near
    server.connection_made(far)
    client.connection_made(near)


class MemoryConnector(aiohttp.BaseConnector):
    """An aiohttp connector whose every connection is a memory pipe to ``accept()``'s
    protocol (the simulator's :meth:`~gpt_trader_coinbase_sim.server.Simulator.accept`),
    whatever host the URL names."""

    def __init__(self, accept: Callable[[], asyncio.Protocol], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._accept = accept

    async def _create_connection(  # aiohttp's signature
        self,
        req: Any,
        traces: Any,
        timeout: Any,  # noqa: ASYNC109 - nothing to wait for: the pipe is there at once
    ) -> ResponseHandler:
        proto: ResponseHandler = self._factory()
        connect(self._loop, proto, self._accept())
        return proto
