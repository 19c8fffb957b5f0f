"""Decimal domain models shared by every component: products, orders, fills, market data."""

from gpt_trader.domain.decisions import (
    Action,
    Decision,
    FilterResult,
    GuardResult,
    GuardTrip,
    Reduction,
    Severity,
    SignalValue,
    TradingState,
)
from gpt_trader.domain.market import BookUpdate, Candle, MarketEvent, Ticker, Trade
from gpt_trader.domain.orders import (
    LIQUIDATION_TAG,
    SETTLEMENT_TAG,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from gpt_trader.domain.portfolio import Balance, FundingPayment, InventoryAdjustment, Position
from gpt_trader.domain.products import DerivativeTerms, MarginType, Product, ProductType

__all__ = [
    "LIQUIDATION_TAG",
    "SETTLEMENT_TAG",
    "Action",
    "Balance",
    "BookUpdate",
    "Candle",
    "Decision",
    "DerivativeTerms",
    "Fill",
    "FilterResult",
    "FundingPayment",
    "GuardResult",
    "GuardTrip",
    "InventoryAdjustment",
    "Liquidity",
    "MarginType",
    "MarketEvent",
    "Order",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "Product",
    "ProductType",
    "Reduction",
    "Severity",
    "Side",
    "SignalValue",
    "Ticker",
    "TimeInForce",
    "Trade",
    "TradingState",
]
