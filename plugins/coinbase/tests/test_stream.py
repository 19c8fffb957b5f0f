"""The WebSocket stream against an endpoint that refuses connections (a closed port on
127.0.0.1): a cancel always ends it, whenever it lands."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
from aiohttp import web
from gpt_trader_coinbase.stream import Frame, Notice, Subscription, WsStream


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def heartbeats(port: int, session: aiohttp.ClientSession, **options: float) -> WsStream:
    """A stream of the heartbeats channel from 127.0.0.1:PORT, without credentials."""
    return WsStream(
        f"ws://127.0.0.1:{port}/ws",
        subscriptions=[Subscription("heartbeats")],
        credentials=None,
        ssl_context=None,
        session=lambda: session,
        **options,
    )


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
        stream = heartbeats(closed_port(), session)
        consumer = asyncio.ensure_future(consume())
        retry = asyncio.ensure_future(retried.wait())
        await asyncio.wait({consumer, retry}, return_when=asyncio.FIRST_COMPLETED)
        retry.cancel()
        assert not retried.is_set(), "the cancel was swallowed: the stream tried again"
        assert consumer.cancelled()
    assert [(n.kind, n.detail.endswith("Connection refused")) for n in seen] == [
        ("unreachable", True)
    ]


async def test_a_silent_connection_is_noticed_behind_a_slow_consumer():
    # The consumer takes longer than a tick over each item (a resync's REST calls do), so
    # the tick is already due when the stream waits again. That wait must still end: a
    # connection that went quiet is then reported silent, not waited on for ever.
    async def mute(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _msg in ws:  # reads the subscriptions, never says anything
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", mute)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    kinds: list[str] = []

    async def until_silence() -> None:
        async for item in stream.items():
            if isinstance(item, Notice):
                kinds.append(item.kind)
                if item.kind == "silence":
                    return
                await asyncio.sleep(0.1)  # slower than a tick

    try:
        async with aiohttp.ClientSession() as session:
            stream = heartbeats(port, session, silence_s=0.5, tick_s=0.05)
            reader = asyncio.ensure_future(until_silence())
            # A guard against a hang, not a speed check: silence is due after 0.5 s.
            done, _ = await asyncio.wait({reader}, timeout=30)
            reader.cancel()
            await stream.close()
    finally:
        await runner.cleanup()
    assert done, f"no silence noticed; the stream said {kinds[:5]}"
    assert kinds[0] == "connected"
    assert "tick" in kinds
    assert kinds[-1] == "silence"
