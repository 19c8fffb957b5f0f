"""Decimal domain models shared by every component: products, orders, fills, market data."""

from gpt_trader.domain.decisions import (
    Action,
    Decision,
    FilterResult,
    GuardResult,
    Severity,
    SignalValue,
    TradingState,
)
from gpt_trader.domain.market import BookUpdate, Candle, MarketEvent, Ticker, Trade
from gpt_trader.domain.orders import (
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from gpt_trader.domain.portfolio import Balance, FundingPayment, Position
from gpt_trader.domain.products import Product, ProductType

__all__ = [
    "Action",
    "Balance",
    "BookUpdate",
    "Candle",
    "Decision",
    "Fill",
    "FilterResult",
    "FundingPayment",
    "GuardResult",
    "Liquidity",
    "MarketEvent",
    "Order",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "Product",
    "ProductType",
    "Severity",
    "Side",
    "SignalValue",
    "Ticker",
    "TimeInForce",
    "Trade",
    "TradingState",
]
