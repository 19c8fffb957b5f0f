"""The core exchange's refusal codes as Coinbase's enum strings on the wire
(``new_order_failure_reason`` / ``preview_failure_reason``, cancel and edit failure reasons).

The domain :class:`~gpt_trader.domain.reasons.RejectReason` is venue-neutral; Coinbase names the same
refusals its own way, and one of them depends on the account: too little margin is
``PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES`` for a CFM future and ``INSUFFICIENT_FUNDS`` for
an INTX perpetual. An unknown order is ``UNKNOWN_CANCEL_ORDER`` to a cancel and
``ORDER_NOT_FOUND`` to an edit.
"""

from __future__ import annotations

from gpt_trader.domain import RejectReason

from gpt_trader_coinbase_sim.catalogue import INTX

WIRE: dict[str, str] = {
    RejectReason.UNKNOWN_PRODUCT: "INVALID_PRODUCT_ID",
    RejectReason.INVALID_SIDE: "INVALID_SIDE",
    RejectReason.UNSUPPORTED_ORDER: "UNSUPPORTED_ORDER_CONFIGURATION",
    RejectReason.INVALID_SIZE_PRECISION: "INVALID_SIZE_PRECISION",
    RejectReason.INVALID_PRICE_PRECISION: "INVALID_PRICE_PRECISION",
    RejectReason.INVALID_LIMIT_PRICE: "INVALID_LIMIT_PRICE",
    RejectReason.SIZE_TOO_SMALL: "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
    RejectReason.SIZE_TOO_LARGE: "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE",
    RejectReason.INVALID_STOP_PRICE: "PREVIEW_INVALID_STOP_PRICE",
    RejectReason.STOP_BELOW_LAST: "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE",
    RejectReason.STOP_ABOVE_LAST: "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE",
    RejectReason.GTD_NEEDS_END_TIME: "PREVIEW_GTD_ORDERS_MUST_HAVE_END_TIME",
    RejectReason.END_TIME_IN_PAST: "PREVIEW_END_TIME_IS_IN_THE_PAST",
    RejectReason.POST_ONLY_WITH_FOK: "PREVIEW_POST_ONLY_NOT_ALLOWED_WITH_FOK",
    RejectReason.POST_ONLY_WOULD_CROSS: "INVALID_LIMIT_PRICE_POST_ONLY",
    RejectReason.NO_LIQUIDITY: "INVALID_NO_LIQUIDITY",
    RejectReason.INSUFFICIENT_FUNDS: "INSUFFICIENT_FUND",
    RejectReason.INSUFFICIENT_MARGIN: "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES",
    RejectReason.INVALID_LEVERAGE: "INVALID_LEVERAGE",
    RejectReason.INVALID_MARGIN_TYPE: "INVALID_MARGIN_TYPE",
    RejectReason.OPPOSITE_MARGIN_TYPE: "PREVIEW_OPPOSITE_MARGIN_TYPE_EXISTS",
    RejectReason.REDUCE_ONLY_INCREASES: "PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE",
    RejectReason.EXCEEDS_POSITION: "PREVIEW_BRACKET_ORDER_SIZE_EXCEEDS_POSITION",
    RejectReason.PRICE_TOO_FAR: "PREVIEW_BREACHED_PRICE_LIMIT",
    RejectReason.PRODUCT_NOT_TRADING: "UNTRADABLE_PRODUCT",
    RejectReason.UNKNOWN_ORDER: "ORDER_NOT_FOUND",
    RejectReason.ALREADY_FILLED: "ORDER_IS_FULLY_FILLED",
    RejectReason.DUPLICATE_CANCEL: "DUPLICATE_CANCEL_REQUEST",
    RejectReason.NOT_CANCELLABLE: "NOT_ALLOWED_TO_CANCEL",
    RejectReason.EDIT_NOT_LIMIT: "ONLY_LIMIT_ORDER_EDITS_SUPPORTED",
    RejectReason.EDIT_NOT_OPEN: "ONLY_OPEN_ORDERS_CAN_BE_EDITED",
    RejectReason.EDIT_BELOW_FILLED: "CANNOT_EDIT_TO_BELOW_FILLED_SIZE",
    RejectReason.INVALID_EDITED_SIZE: "INVALID_EDITED_SIZE",
    RejectReason.INVALID_EDITED_PRICE: "INVALID_EDITED_PRICE",
    RejectReason.EDIT_UNCHANGED: "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST",
    RejectReason.EDIT_INSUFFICIENT_FUNDS: "PREVIEW_INSUFFICIENT_FUND",
}
UNKNOWN_CANCEL_ORDER = "UNKNOWN_CANCEL_ORDER"
PERPS_INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
BRACKET_EXCEEDS_POSITION = "PREVIEW_BRACKET_ORDER_SIZE_EXCEEDS_POSITION"


def wire_reason(reason: str, pool: str | None = None, *, bracket: bool = False) -> str:
    """Coinbase's string for a core reason; ``pool`` is the derivative product's (the
    margin shortfall is named by account), ``bracket`` says the order is one: an exit, so
    too little to sell is a size beyond the position (coinbase-api.md §3.5). A string that
    is no core reason passes as is."""
    if reason == RejectReason.INSUFFICIENT_MARGIN and pool == INTX:
        return PERPS_INSUFFICIENT_FUNDS
    if reason == RejectReason.INSUFFICIENT_FUNDS and bracket:
        return BRACKET_EXCEEDS_POSITION
    return WIRE.get(reason, reason)


def wire_cancel_reason(reason: str) -> str:
    """As :func:`wire_reason`, for a refused cancel."""
    return UNKNOWN_CANCEL_ORDER if reason == RejectReason.UNKNOWN_ORDER else wire_reason(reason)
