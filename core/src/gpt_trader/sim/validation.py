"""Checks an order request must pass before it reaches the book, and why one fails.

Pure functions of the product, the request, the time and the last price: the matching
engine runs them first, a venue's protocol server can run them for previews. Which
reason a check gives is listed in :mod:`gpt_trader.sim.reasons`.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from gpt_trader.domain import OrderRequest, OrderType, Product, Side, TimeInForce
from gpt_trader.domain.reasons import RejectReason


def normalize(request: OrderRequest) -> OrderRequest | str:
    """``request`` with real enums for side, type and TIF (callers may pass plain strings),
    or the reject reason when one of them is not a known value."""
    if (
        type(request.side) is Side
        and type(request.order_type) is OrderType
        and type(request.time_in_force) is TimeInForce
    ):
        return request  # the kernel's own requests: no lookup by value
    try:
        side = Side(request.side)
    except ValueError:
        return RejectReason.INVALID_SIDE
    try:
        kind = OrderType(request.order_type)
        tif = TimeInForce(request.time_in_force)
    except ValueError:
        return RejectReason.UNSUPPORTED_ORDER
    if side is request.side and kind is request.order_type and tif is request.time_in_force:
        return request
    return dataclasses.replace(request, side=side, order_type=kind, time_in_force=tif)


def size_reason(product: Product, size: Decimal) -> str | None:
    """Why ``size`` cannot be ordered, or None."""
    if not size.is_finite() or size <= 0:
        return RejectReason.SIZE_TOO_SMALL
    if product.size_error(size) is None:
        return None
    if size < product.base_min_size:
        return RejectReason.SIZE_TOO_SMALL
    if size > product.base_max_size:
        return RejectReason.SIZE_TOO_LARGE
    return RejectReason.INVALID_SIZE_PRECISION


def price_reason(product: Product, price: Decimal | None, missing: str) -> str | None:
    """The reason ``price`` is no valid limit/stop price (``missing`` when absent or <= 0)."""
    if price is None or not price.is_finite() or price <= 0:
        return missing
    if product.price_error(price) is not None:
        return RejectReason.INVALID_PRICE_PRECISION
    return None


def stop_reason(request: OrderRequest, product: Product, last: Decimal | None) -> str | None:
    """A stop-limit's own checks: a valid stop price, GTC/GTD only, and (as on major
    venues) a BUY stop above the last price, a SELL stop below it."""
    reason = price_reason(product, request.stop_price, RejectReason.INVALID_STOP_PRICE)
    if reason is not None:
        return reason
    if request.time_in_force not in (TimeInForce.GTC, TimeInForce.GTD):
        return RejectReason.UNSUPPORTED_ORDER
    stop = request.stop_price
    if stop is None or last is None:
        return None
    if request.side is Side.BUY and stop <= last:
        return RejectReason.STOP_BELOW_LAST
    if request.side is Side.SELL and stop >= last:
        return RejectReason.STOP_ABOVE_LAST
    return None


def bracket_reason(request: OrderRequest) -> str | None:
    """A bracket's stop must sit on the losing side of its take-profit limit."""
    stop, limit = request.stop_price, request.limit_price
    if stop is None or limit is None:  # pragma: no cover - price checks come first
        return RejectReason.INVALID_STOP_PRICE
    if (request.side is Side.SELL and stop >= limit) or (
        request.side is Side.BUY and stop <= limit
    ):
        return RejectReason.INVALID_STOP_PRICE
    return None


def request_reason(
    product: Product, request: OrderRequest, ts: int, last: Decimal | None
) -> str | None:
    """Why ``request`` (already :func:`normalize` d) cannot be placed at ``ts``, or None.

    Checks in order: product, size, limit price, stop (stop-limit and bracket), post-only
    combinations, GTD end time.
    """
    if request.symbol != product.symbol:
        return RejectReason.UNKNOWN_PRODUCT
    kind, tif = request.order_type, request.time_in_force
    reason = size_reason(product, request.size)
    if reason is not None:
        return reason
    if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.BRACKET):
        reason = price_reason(product, request.limit_price, RejectReason.INVALID_LIMIT_PRICE)
        if reason is not None:
            return reason
    if kind in (OrderType.STOP_LIMIT, OrderType.BRACKET):
        reason = stop_reason(request, product, last)
        if reason is not None:
            return reason
    if kind is OrderType.BRACKET:
        reason = bracket_reason(request)
        if reason is not None:
            return reason
    if request.post_only:
        if kind is not OrderType.LIMIT or tif is TimeInForce.IOC:
            return RejectReason.UNSUPPORTED_ORDER
        if tif is TimeInForce.FOK:
            return RejectReason.POST_ONLY_WITH_FOK
    if tif is TimeInForce.GTD:
        if request.end_ts is None:
            return RejectReason.GTD_NEEDS_END_TIME
        if request.end_ts <= ts:
            return RejectReason.END_TIME_IN_PAST
    return None
