"""Typed reasons for a refused order, cancel or edit, shared by every venue and the
simulated exchange.

A REJECTED :class:`~gpt_trader.domain.orders.Order` carries one in ``reject_reason`` (a
``StrEnum``, so the store and ``--json`` keep plain strings). Venue adapters map their own wire
strings to these members and log the raw text; a string they cannot map is ``UNKNOWN``.
The simulated exchange's checks give them as documented in :mod:`gpt_trader.sim.reasons`.
"""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    """Why a venue (or the simulated exchange) refused an order, a cancel or an edit."""

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
    EXCEEDS_POSITION = "EXCEEDS_POSITION"  # an exit (a bracket) larger than the position
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
    # venue-side refusals the simulated exchange never gives on its own
    PRICE_TOO_FAR = "PRICE_TOO_FAR"  # a price outside the venue's band around the market
    ORDER_ENTRY_DISABLED = "ORDER_ENTRY_DISABLED"
    INVALID_REQUEST = "INVALID_REQUEST"
    # the kernel's: a working order the venue has never heard of
    NOT_FOUND_AT_VENUE = "NOT_FOUND_AT_VENUE"
    # a venue string no adapter maps (its raw text goes to the log, not here)
    UNKNOWN = "UNKNOWN"

    @classmethod
    def of(cls, value: str) -> RejectReason:
        """The reason ``value`` names, UNKNOWN for any other text (a stored free-form reason,
        a venue string nobody mapped): readers show a member, never a bare string."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN
