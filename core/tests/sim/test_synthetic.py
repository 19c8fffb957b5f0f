"""SyntheticFeed: a deterministic, realistic, quantised random walk."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from decimal import Decimal

import pytest
from gpt_trader.domain import Candle
from gpt_trader.domain.market import NS
from gpt_trader.errors import UserError
from gpt_trader.protocols import ReplayableFeed
from gpt_trader.sim.products import DEV_UNIVERSE, default_products, market_profile
from gpt_trader.sim.synthetic import DEFAULT_START_TS, SyntheticFeed

PRODUCTS = default_products(DEV_UNIVERSE)


def test_same_seed_same_candles_other_seed_other_candles() -> None:
    a = list(SyntheticFeed(PRODUCTS, seed=1).events(["BTC-USD", "ETH-USD"], limit=200))
    b = list(SyntheticFeed(PRODUCTS, seed=1).events(["BTC-USD", "ETH-USD"], limit=200))
    c = list(SyntheticFeed(PRODUCTS, seed=2).events(["BTC-USD", "ETH-USD"], limit=200))
    assert a == b
    assert [x.close for x in a] != [x.close for x in c]


def test_a_symbol_walks_the_same_whatever_else_is_asked_for() -> None:
    feed = SyntheticFeed(PRODUCTS, seed=3)
    alone = list(feed.events(["SOL-USD"], limit=50))
    mixed = [c for c in feed.events(["BTC-USD", "SOL-USD"], limit=50) if c.symbol == "SOL-USD"]
    assert alone == mixed


def test_bars_interleave_symbols_per_bar_time_in_the_given_order() -> None:
    feed = SyntheticFeed(PRODUCTS, seed=0, interval_s=300)
    events = list(feed.events(["ETH-USD", "BTC-USD"], limit=3))
    assert [(e.symbol, (e.ts - DEFAULT_START_TS) // NS) for e in events] == [
        ("ETH-USD", 0),
        ("BTC-USD", 0),
        ("ETH-USD", 300),
        ("BTC-USD", 300),
        ("ETH-USD", 600),
        ("BTC-USD", 600),
    ]
    assert all(e.interval_s == 300 for e in events)
    assert isinstance(feed, ReplayableFeed)


@pytest.mark.parametrize("symbol", DEV_UNIVERSE)
def test_candles_are_consistent_quantised_and_continuous(symbol: str) -> None:
    product = PRODUCTS[symbol]
    candles = list(SyntheticFeed(PRODUCTS, seed=11).events([symbol], limit=500))
    start = market_profile(symbol).start_price
    assert candles[0].open == start
    prev: Candle | None = None
    for c in candles:
        assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
        assert c.low > 0
        assert c.volume > 0
        for value in (c.open, c.high, c.low, c.close):
            assert product.price_error(value) is None
        assert product.quantize_size(c.volume) == c.volume
        if prev is not None:
            assert c.open == prev.close
        prev = c


def test_volatility_is_close_to_the_profile() -> None:
    candles = list(SyntheticFeed(PRODUCTS, seed=5).events(["BTC-USD"], limit=20_000))
    rets = [math.log(float(b.close) / float(a.close)) for a, b in itertools.pairwise(candles)]
    mean = sum(rets) / len(rets)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
    annual = sd * math.sqrt(365.25 * 24 * 60)
    assert annual == pytest.approx(0.55, rel=0.05)


def test_unbounded_events_go_on() -> None:
    feed = SyntheticFeed(PRODUCTS, seed=0)
    it = feed.events(["BTC-USD"])
    got = [next(it) for _ in range(1000)]
    assert got[-1].ts == DEFAULT_START_TS + 999 * 60 * NS


def test_unknown_symbol_is_a_user_error() -> None:
    with pytest.raises(UserError, match="DOT-USD"):
        list(SyntheticFeed(PRODUCTS).events(["DOT-USD"], limit=1))


def test_outside_the_dev_universe_a_fallback_profile_is_used() -> None:
    products = {
        "BTC-EUR": PRODUCTS["BTC-USD"].__class__(
            "BTC-EUR",
            "BTC",
            "EUR",
            Decimal("0.00000001"),
            Decimal("0.01"),
            Decimal("0.00000001"),
            Decimal("100"),
        )
    }
    [candle] = SyntheticFeed(products).events(["BTC-EUR"], limit=1)
    assert candle.open == Decimal("100.00")


async def test_stream_yields_the_same_sequence_and_paces_between_bars() -> None:
    feed = SyntheticFeed(PRODUCTS, seed=4, pace_s=0, limit=20)
    streamed = [c async for c in feed.stream(["BTC-USD", "ETH-USD"])]
    assert streamed == list(feed.events(["BTC-USD", "ETH-USD"]))
    paced = SyntheticFeed(PRODUCTS, seed=4, pace_s=0.05, limit=3)
    began = time.monotonic()
    got = [c async for c in paced.stream(["BTC-USD"])]
    assert len(got) == 3
    assert time.monotonic() - began >= 0.1  # two pauses between three bar times


async def test_stream_with_no_pace_keeps_the_loop_responsive() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    feed = SyntheticFeed(PRODUCTS, seed=0, pace_s=0, limit=50)
    n = len([c async for c in feed.stream(["BTC-USD"])])
    task.cancel()
    assert n == 50
    assert ticks >= 40


async def test_warmup_bars_come_unpaced_then_pacing_starts(monkeypatch) -> None:
    import asyncio

    from gpt_trader.sim import synthetic
    from gpt_trader.sim.products import default_products

    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(synthetic.asyncio, "sleep", record)
    feed = synthetic.SyntheticFeed(default_products(["BTC-USD"]), seed=1, pace_s=0.2, warmup_bars=5)
    seen = 0
    async for _ in feed.stream(["BTC-USD"]):
        seen += 1
        if seen == 8:
            break
    # bars 1..5 are history (a yield to the loop only), bars 6 and 7 are paced
    assert slept == [0, 0, 0, 0, 0, 0.2, 0.2]
