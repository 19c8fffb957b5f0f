"""Builders for the simulator tests: products, requests and market events.

Imported by the tests as ``simkit`` (conftest.py puts this folder on ``sys.path``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gpt_trader.domain import Candle, OrderRequest, OrderType, Side, TimeInForce, Trade
from gpt_trader.domain.market import NS
from gpt_trader.sim.matching import MatchingEngine
from gpt_trader.sim.products import default_products

T0 = 1_735_689_600 * NS  # 2025-01-01T00:00:00Z
BTC = default_products(["BTC-USD"])["BTC-USD"]


def D(x: str | int) -> Decimal:
    return Decimal(str(x))


def req(
    cid: str,
    side: Side | str,
    size: str,
    price: str | None = None,
    *,
    kind: OrderType | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    symbol: str = "BTC-USD",
    **kw: Any,
) -> OrderRequest:
    """A request: LIMIT when a price is given, else MARKET (IOC)."""
    side = Side(side)
    if kind is None:
        kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    if kind is OrderType.MARKET:
        tif = kw.pop("time_in_force", TimeInForce.IOC)
    return OrderRequest(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        size=D(size),
        order_type=kind,
        limit_price=None if price is None else D(price),
        time_in_force=tif,
        **kw,
    )


def bar(
    o: str, h: str, lo: str, c: str, v: str = "10", *, n: int = 0, symbol: str = "BTC-USD"
) -> Candle:
    """The n-th one-minute bar after T0."""
    return Candle(symbol, T0 + n * 60 * NS, D(o), D(h), D(lo), D(c), D(v), 60)


def trade(
    price: str, size: str, side: str = "SELL", ts: int = T0, symbol: str = "BTC-USD"
) -> Trade:
    return Trade(symbol, ts, f"t-{ts}-{price}", D(price), D(size), side)


def engine(**kw: Any) -> MatchingEngine:
    """A BTC-USD engine that already knows a last price of 100.00."""
    eng = MatchingEngine(BTC, **kw)
    eng.on_trade(trade("100.00", "1", ts=T0 - NS))
    return eng
