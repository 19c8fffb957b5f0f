"""Market data events. ``ts`` is integer nanoseconds since the epoch, UTC, everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

NS = 1_000_000_000


def ts_to_iso(ts: int) -> str:
    """``ts`` as ISO-8601 UTC to the millisecond: ``2025-01-01T00:05:00.000Z``."""
    return (
        datetime.fromtimestamp(ts / NS, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def datetime_to_ts(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: timestamps must be UTC-aware")
    return int(dt.timestamp()) * NS + dt.microsecond * 1000


@dataclass(frozen=True, slots=True)
class Candle:
    """An OHLCV bar; ``ts`` is the bar's open time, the bar closes at ``ts + interval_ns``."""

    symbol: str
    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    interval_s: int = 60

    @property
    def close_ts(self) -> int:
        return self.ts + self.interval_s * NS

    @property
    def price(self) -> Decimal:
        return self.close


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    ts: int
    price: Decimal
    bid: Decimal
    ask: Decimal
    bid_size: Decimal = Decimal(0)
    ask_size: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Trade:
    """A print on the tape. ``side`` is the taker's side."""

    symbol: str
    ts: int
    trade_id: str
    price: Decimal
    size: Decimal
    side: str


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """Level-2 change: ``(price, new_size)`` pairs; size 0 removes a level."""

    symbol: str
    ts: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    snapshot: bool = False


@dataclass(frozen=True, slots=True)
class BookView:
    """Both sides best first; what guards read through ``StateView.book(symbol)``."""

    symbol: str
    ts: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None


MarketEvent = Candle | Ticker | Trade | BookUpdate


def event_price(event: MarketEvent) -> Decimal | None:
    """The price a market event marks positions at, if it carries one."""
    if isinstance(event, Candle):
        return event.close
    if isinstance(event, Ticker | Trade):
        return event.price
    return None
