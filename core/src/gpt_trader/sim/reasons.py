"""Why the simulated exchange refuses an order, a cancel or an edit, and the error that
carries a refused cancel or edit.

The codes are the exchange's own; a venue's protocol server maps them to its wire strings.
A rejected order carries its code in ``Order.reject_reason``; a refused cancel or edit
carries it in :class:`SimRejected`.

Which code a check gives:

- size <= 0 or below ``base_min_size``: ``SIZE_TOO_SMALL``; above ``base_max_size``:
  ``SIZE_TOO_LARGE``; off the ``base_increment`` grid: ``INVALID_SIZE_PRECISION``.
- limit price missing or <= 0: ``INVALID_LIMIT_PRICE``; off the tick grid:
  ``INVALID_PRICE_PRECISION`` (stop prices alike, ``INVALID_STOP_PRICE`` when missing or
  <= 0).
- spot funds short: ``INSUFFICIENT_FUNDS``.
- derivatives (:mod:`gpt_trader.sim.margin`): a product past its expiry
  ``PRODUCT_NOT_TRADING``; leverage below 1 or above the product's cap
  ``INVALID_LEVERAGE``; a margin type the product does not offer ``INVALID_MARGIN_TYPE``,
  one that differs from the open position's ``OPPOSITE_MARGIN_TYPE``; a reduce-only order
  that would open or grow a position ``REDUCE_ONLY_INCREASES``; too little margin in the
  product's pool ``INSUFFICIENT_MARGIN``.
"""

from __future__ import annotations

from enum import StrEnum

from gpt_trader.errors import BrokerError


class Reason(StrEnum):
    # submit
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    INVALID_SIDE = "INVALID_SIDE"
    UNSUPPORTED_ORDER = "UNSUPPORTED_ORDER"
    INVALID_SIZE_PRECISION = "INVALID_SIZE_PRECISION"
    INVALID_PRICE_PRECISION = "INVALID_PRICE_PRECISION"
    INVALID_LIMIT_PRICE = "INVALID_LIMIT_PRICE"
    SIZE_TOO_SMALL = "SIZE_TOO_SMALL"
    SIZE_TOO_LARGE = "SIZE_TOO_LARGE"
    INVALID_STOP_PRICE = "INVALID_STOP_PRICE"
    STOP_BELOW_LAST = "STOP_BELOW_LAST"
    STOP_ABOVE_LAST = "STOP_ABOVE_LAST"
    GTD_NEEDS_END_TIME = "GTD_NEEDS_END_TIME"
    END_TIME_IN_PAST = "END_TIME_IN_PAST"
    POST_ONLY_WITH_FOK = "POST_ONLY_WITH_FOK"
    POST_ONLY_WOULD_CROSS = "POST_ONLY_WOULD_CROSS"
    NO_LIQUIDITY = "NO_LIQUIDITY"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    # submit, derivatives
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    INVALID_LEVERAGE = "INVALID_LEVERAGE"
    INVALID_MARGIN_TYPE = "INVALID_MARGIN_TYPE"
    OPPOSITE_MARGIN_TYPE = "OPPOSITE_MARGIN_TYPE"
    REDUCE_ONLY_INCREASES = "REDUCE_ONLY_INCREASES"
    PRODUCT_NOT_TRADING = "PRODUCT_NOT_TRADING"
    # cancel and edit
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    ALREADY_FILLED = "ALREADY_FILLED"
    DUPLICATE_CANCEL = "DUPLICATE_CANCEL"
    NOT_CANCELLABLE = "NOT_CANCELLABLE"
    EDIT_NOT_LIMIT = "EDIT_NOT_LIMIT"
    EDIT_NOT_OPEN = "EDIT_NOT_OPEN"
    EDIT_BELOW_FILLED = "EDIT_BELOW_FILLED"
    INVALID_EDITED_SIZE = "INVALID_EDITED_SIZE"
    INVALID_EDITED_PRICE = "INVALID_EDITED_PRICE"
    EDIT_UNCHANGED = "EDIT_UNCHANGED"
    EDIT_INSUFFICIENT_FUNDS = "EDIT_INSUFFICIENT_FUNDS"


class SimRejected(BrokerError):
    """The simulated exchange refused a cancel or an edit; ``reason`` is a :class:`Reason`."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
