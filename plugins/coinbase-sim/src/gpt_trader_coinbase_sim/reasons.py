"""The core exchange's refusal codes as Coinbase's enum strings on the wire
(``new_order_failure_reason`` / ``preview_failure_reason``, cancel and edit failure reasons).

The core :class:`~gpt_trader.sim.reasons.Reason` is venue-neutral; Coinbase names the same
refusals its own way, and one of them depends on the account: too little margin is
``PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES`` for a CFM future and ``INSUFFICIENT_FUNDS`` for
an INTX perpetual. An unknown order is ``UNKNOWN_CANCEL_ORDER`` to a cancel and
``ORDER_NOT_FOUND`` to an edit.
"""

from __future__ import annotations

from gpt_trader.sim import Reason

from gpt_trader_coinbase_sim.catalogue import INTX

WIRE: dict[str, str] = {
    Reason.UNKNOWN_PRODUCT: "INVALID_PRODUCT_ID",
    Reason.INVALID_SIDE: "INVALID_SIDE",
    Reason.UNSUPPORTED_ORDER: "UNSUPPORTED_ORDER_CONFIGURATION",
    Reason.INVALID_SIZE_PRECISION: "INVALID_SIZE_PRECISION",
    Reason.INVALID_PRICE_PRECISION: "INVALID_PRICE_PRECISION",
    Reason.INVALID_LIMIT_PRICE: "INVALID_LIMIT_PRICE",
    Reason.SIZE_TOO_SMALL: "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
    Reason.SIZE_TOO_LARGE: "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE",
    Reason.INVALID_STOP_PRICE: "PREVIEW_INVALID_STOP_PRICE",
    Reason.STOP_BELOW_LAST: "PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE",
    Reason.STOP_ABOVE_LAST: "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE",
    Reason.GTD_NEEDS_END_TIME: "PREVIEW_GTD_ORDERS_MUST_HAVE_END_TIME",
    Reason.END_TIME_IN_PAST: "PREVIEW_END_TIME_IS_IN_THE_PAST",
    Reason.POST_ONLY_WITH_FOK: "PREVIEW_POST_ONLY_NOT_ALLOWED_WITH_FOK",
    Reason.POST_ONLY_WOULD_CROSS: "INVALID_LIMIT_PRICE_POST_ONLY",
    Reason.NO_LIQUIDITY: "INVALID_NO_LIQUIDITY",
    Reason.INSUFFICIENT_FUNDS: "INSUFFICIENT_FUND",
    Reason.INSUFFICIENT_MARGIN: "PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES",
    Reason.INVALID_LEVERAGE: "INVALID_LEVERAGE",
    Reason.INVALID_MARGIN_TYPE: "INVALID_MARGIN_TYPE",
    Reason.OPPOSITE_MARGIN_TYPE: "PREVIEW_OPPOSITE_MARGIN_TYPE_EXISTS",
    Reason.REDUCE_ONLY_INCREASES: "PREVIEW_REDUCE_ONLY_INCREASED_POSITION_SIZE",
    Reason.PRODUCT_NOT_TRADING: "UNTRADABLE_PRODUCT",
    Reason.UNKNOWN_ORDER: "ORDER_NOT_FOUND",
    Reason.ALREADY_FILLED: "ORDER_IS_FULLY_FILLED",
    Reason.DUPLICATE_CANCEL: "DUPLICATE_CANCEL_REQUEST",
    Reason.NOT_CANCELLABLE: "NOT_ALLOWED_TO_CANCEL",
    Reason.EDIT_NOT_LIMIT: "ONLY_LIMIT_ORDER_EDITS_SUPPORTED",
    Reason.EDIT_NOT_OPEN: "ONLY_OPEN_ORDERS_CAN_BE_EDITED",
    Reason.EDIT_BELOW_FILLED: "CANNOT_EDIT_TO_BELOW_FILLED_SIZE",
    Reason.INVALID_EDITED_SIZE: "INVALID_EDITED_SIZE",
    Reason.INVALID_EDITED_PRICE: "INVALID_EDITED_PRICE",
    Reason.EDIT_UNCHANGED: "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST",
    Reason.EDIT_INSUFFICIENT_FUNDS: "PREVIEW_INSUFFICIENT_FUND",
}
UNKNOWN_CANCEL_ORDER = "UNKNOWN_CANCEL_ORDER"
PERPS_INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"


def wire_reason(reason: str, pool: str | None = None) -> str:
    """Coinbase's string for a core reason; ``pool`` is the derivative product's (the
    margin shortfall is named by account). A string that is no core reason passes as is."""
    if reason == Reason.INSUFFICIENT_MARGIN and pool == INTX:
        return PERPS_INSUFFICIENT_FUNDS
    return WIRE.get(reason, reason)


def wire_cancel_reason(reason: str) -> str:
    """As :func:`wire_reason`, for a refused cancel."""
    return UNKNOWN_CANCEL_ORDER if reason == Reason.UNKNOWN_ORDER else wire_reason(reason)
