"""A seeded random-walk market: endless, deterministic candles for the dev profile and tests.

Each symbol walks a geometric Brownian motion with its own annualised volatility
(:func:`gpt_trader.sim.products.market_profile`); a bar's OHLC comes from ``substeps``
sub-steps, prices are quantised to the product's tick, volume is positive and grows with
the bar's move. Each symbol has its own ``random.Random`` seeded from ``(seed, symbol)``,
so a symbol's bars do not depend on which other symbols are asked for, and every call of
:meth:`SyntheticFeed.events` starts the walk afresh (replayable).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from decimal import Decimal

from gpt_trader.domain import Candle, Product
from gpt_trader.domain.market import NS
from gpt_trader.errors import UserError
from gpt_trader.sim.products import market_profile

DEFAULT_START_TS = 1_735_689_600 * NS
"""2025-01-01T00:00:00Z: the fixed default start, so runs are reproducible."""

SECONDS_PER_YEAR = 365.25 * 24 * 3600


class _Walker:
    """One symbol's walk: a float price path, quantised to Decimal at the boundary."""

    def __init__(self, product: Product, seed: int, interval_s: int, substeps: int) -> None:
        profile = market_profile(product)
        self.product = product
        self.rng = random.Random(f"gpt-trader-synthetic:{seed}:{product.symbol}")
        self.price = float(profile.start_price)
        self.substeps = substeps
        var = profile.annual_vol**2 * interval_s / SECONDS_PER_YEAR / substeps
        self.sigma = math.sqrt(var)
        self.drift = -0.5 * var
        self.tick = float(product.price_increment)
        self.base_volume = float(profile.daily_volume_usd) * interval_s / 86_400

    def _q(self, price: float) -> Decimal:
        ticks = max(1, round(price / self.tick))
        inc = self.product.price_increment
        return (Decimal(ticks) * inc).quantize(inc)

    def bar(self, ts: int, interval_s: int) -> Candle:
        rng, price = self.rng, self.price
        start, high, low = price, price, price
        for _ in range(self.substeps):
            price *= math.exp(self.drift + self.sigma * rng.gauss(0.0, 1.0))
            high = max(high, price)
            low = min(low, price)
        self.price = price
        move = abs(math.log(price / start))
        units = self.base_volume / price * math.exp(rng.gauss(0.0, 0.5)) * (1.0 + 50.0 * move)
        inc = self.product.base_increment
        volume = max(inc, self.product.quantize_size(Decimal(repr(units))))
        return Candle(
            symbol=self.product.symbol,
            ts=ts,
            open=self._q(start),
            high=self._q(high),
            low=self._q(low),
            close=self._q(price),
            volume=volume,
            interval_s=interval_s,
        )


class SyntheticFeed:
    """Deterministic candles for ``products`` (a ReplayableFeed and a live Feed).

    ``events(symbols)`` yields, bar time after bar time, one Candle per symbol in the order
    the symbols are given, without sleeping; endless unless ``limit`` (a number of bar
    times) is set here or in the call. ``stream(symbols)`` yields the same sequence with
    ``pace_s`` seconds between bar times (0: as fast as possible, still yielding to the
    event loop between bars).
    """

    def __init__(
        self,
        products: Mapping[str, Product],
        seed: int = 0,
        interval_s: int = 60,
        start_ts: int = DEFAULT_START_TS,
        pace_s: float = 1.0,
        *,
        substeps: int = 8,
        limit: int | None = None,
        warmup_bars: int = 0,
    ) -> None:
        if interval_s <= 0 or substeps <= 0 or pace_s < 0 or warmup_bars < 0:
            raise ValueError(
                "interval_s and substeps must be positive, pace_s and warmup_bars not negative"
            )
        self.products = dict(products)
        self.seed = seed
        self.interval_s = interval_s
        self.start_ts = start_ts
        self.pace_s = pace_s
        self.substeps = substeps
        self.limit = limit
        self.warmup_bars = warmup_bars

    def _walkers(self, symbols: Sequence[str]) -> list[_Walker]:
        missing = [s for s in symbols if s not in self.products]
        if missing:
            known = ", ".join(self.products) or "none"
            raise UserError(
                f"synthetic feed has no product for {', '.join(missing)}; known: {known}"
            )
        return [
            _Walker(self.products[s], self.seed, self.interval_s, self.substeps) for s in symbols
        ]

    def bars(self, symbols: Sequence[str], limit: int | None = None) -> Iterator[list[Candle]]:
        """One list of candles (one per symbol) per bar time."""
        walkers = self._walkers(symbols)
        bound = self.limit if limit is None else limit
        step = self.interval_s * NS
        n = 0
        while bound is None or n < bound:
            ts = self.start_ts + n * step
            yield [w.bar(ts, self.interval_s) for w in walkers]
            n += 1

    def events(self, symbols: Sequence[str], limit: int | None = None) -> Iterator[Candle]:
        for group in self.bars(symbols, limit):
            yield from group

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Candle]:
        """The bars paced ``pace_s`` apart; the first ``warmup_bars`` come at once, as the
        history a live feed would backfill, so indicators are warm when pacing starts."""
        for n, group in enumerate(self.bars(symbols)):
            if n > self.warmup_bars:
                await asyncio.sleep(self.pace_s)
            elif n:
                await asyncio.sleep(0)
            for candle in group:
                yield candle
