"""Coinbase-like failure reasons the simulator answers with, and the error that carries one.

The strings are Coinbase's own enum values (``new_order_failure_reason``,
``preview_failure_reason``, cancel and edit failure reasons), so the Coinbase-protocol
server can put them on the wire unchanged. A rejected order carries its reason in
``Order.reject_reason``; a refused cancel or edit carries it in :class:`SimRejected`.

Which reason a check gives:

- size <= 0 or below ``base_min_size``: ``PREVIEW_INVALID_BASE_SIZE_TOO_SMALL``;
  above ``base_max_size``: ``PREVIEW_INVALID_BASE_SIZE_TOO_LARGE``; off the
  ``base_increment`` grid: ``INVALID_SIZE_PRECISION``.
- limit price missing or <= 0: ``INVALID_LIMIT_PRICE``; off the tick grid:
  ``INVALID_PRICE_PRECISION`` (stop prices alike, ``PREVIEW_INVALID_STOP_PRICE`` when
  missing or <= 0).
- derivatives (:mod:`gpt_trader.sim.margin`): expired product ``UNTRADABLE_PRODUCT``;
  leverage below 1 or above the product's cap ``INVALID_LEVERAGE``; a margin type the
  product does not offer ``INVALID_MARGIN_TYPE``, one that differs from the open position's
  ``PREVIEW_OPPOSITE_MARGIN_TYPE_EXISTS``; a reduce-only order that would open or grow a
  position ``PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE``; too little margin
  ``PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES`` (CFM) or ``INSUFFICIENT_FUNDS`` (INTX).
"""

from __future__ import annotations

from gpt_trader.errors import BrokerError

# submit
INVALID_PRODUCT_ID = "INVALID_PRODUCT_ID"
INVALID_SIDE = "INVALID_SIDE"
UNSUPPORTED_ORDER_CONFIGURATION = "UNSUPPORTED_ORDER_CONFIGURATION"
INVALID_SIZE_PRECISION = "INVALID_SIZE_PRECISION"
INVALID_PRICE_PRECISION = "INVALID_PRICE_PRECISION"
INVALID_LIMIT_PRICE = "INVALID_LIMIT_PRICE"
SIZE_TOO_SMALL = "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL"
SIZE_TOO_LARGE = "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE"
INVALID_STOP_PRICE = "PREVIEW_INVALID_STOP_PRICE"
STOP_BELOW_LAST = "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE"
STOP_ABOVE_LAST = "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE"
GTD_NEEDS_END_TIME = "PREVIEW_GTD_ORDERS_MUST_HAVE_END_TIME"
END_TIME_IN_PAST = "PREVIEW_END_TIME_IS_IN_THE_PAST"
POST_ONLY_WITH_FOK = "PREVIEW_POST_ONLY_NOT_ALLOWED_WITH_FOK"
POST_ONLY_WOULD_CROSS = "INVALID_LIMIT_PRICE_POST_ONLY"
NO_LIQUIDITY = "INVALID_NO_LIQUIDITY"
INSUFFICIENT_FUND = "INSUFFICIENT_FUND"

# submit, derivatives (see gpt_trader.sim.margin)
INSUFFICIENT_FUNDS_FOR_FUTURES = "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES"  # CFM
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"  # INTX
INVALID_LEVERAGE = "INVALID_LEVERAGE"
INVALID_MARGIN_TYPE = "INVALID_MARGIN_TYPE"
OPPOSITE_MARGIN_TYPE_EXISTS = "PREVIEW_OPPOSITE_MARGIN_TYPE_EXISTS"
REDUCE_ONLY_INCREASES = "PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE"
UNTRADABLE_PRODUCT = "UNTRADABLE_PRODUCT"

# cancel
UNKNOWN_CANCEL_ORDER = "UNKNOWN_CANCEL_ORDER"
ORDER_IS_FULLY_FILLED = "ORDER_IS_FULLY_FILLED"
DUPLICATE_CANCEL_REQUEST = "DUPLICATE_CANCEL_REQUEST"
NOT_ALLOWED_TO_CANCEL = "NOT_ALLOWED_TO_CANCEL"

# edit
ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
ONLY_LIMIT_ORDER_EDITS_SUPPORTED = "ONLY_LIMIT_ORDER_EDITS_SUPPORTED"
ONLY_OPEN_ORDERS_CAN_BE_EDITED = "ONLY_OPEN_ORDERS_CAN_BE_EDITED"
CANNOT_EDIT_TO_BELOW_FILLED_SIZE = "CANNOT_EDIT_TO_BELOW_FILLED_SIZE"
INVALID_EDITED_SIZE = "INVALID_EDITED_SIZE"
INVALID_EDITED_PRICE = "INVALID_EDITED_PRICE"
EDIT_EQUAL_TO_ORIGINAL = "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST"
EDIT_INSUFFICIENT_FUND = "PREVIEW_INSUFFICIENT_FUND"


class SimRejected(BrokerError):
    """The simulated venue refused a cancel or an edit; ``reason`` is the Coinbase enum."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
