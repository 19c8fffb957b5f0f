"""The WebSocket stream against an endpoint that refuses connections (a closed port on
127.0.0.1): a cancel always ends it, whenever it lands."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
from gpt_trader_coinbase.stream import Frame, Notice, Subscription, WsStream


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_cancel_landing_as_a_connect_is_refused_ends_the_stream():
    # The run's end cancels the stream while it reconnects to a venue that is gone. Here the
    # cancel is delivered on the loop turn right after a refused connect failed, before the
    # stream resumed: it must still end the stream, not be taken for the refusal (the
    # stream would then retry for ever, and the run waiting for it would never stop).
    seen: list[Frame | Notice] = []
    retried = asyncio.Event()

    async def consume() -> None:
        async for item in stream.items():
            seen.append(item)

    async def on_refused(_session: aiohttp.ClientSession, _ctx: object, _params: object) -> None:
        if consumer.done() or stream.stats.errors:
            retried.set()  # a second attempt: the cancel did not end it
        else:
            asyncio.get_running_loop().call_soon(consumer.cancel)

    trace = aiohttp.TraceConfig()
    trace.on_request_exception.append(on_refused)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        stream = WsStream(
            f"ws://127.0.0.1:{closed_port()}/ws",
            subscriptions=[Subscription("heartbeats")],
            credentials=None,
            ssl_context=None,
            session=lambda: session,
        )
        consumer = asyncio.ensure_future(consume())
        retry = asyncio.ensure_future(retried.wait())
        await asyncio.wait({consumer, retry}, return_when=asyncio.FIRST_COMPLETED)
        retry.cancel()
        assert not retried.is_set(), "the cancel was swallowed: the stream tried again"
        assert consumer.cancelled()
    assert [(n.kind, n.detail.endswith("Connection refused")) for n in seen] == [
        ("unreachable", True)
    ]
