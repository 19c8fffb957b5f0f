"""Which code the simulated exchange gives when it refuses an order, a cancel or an edit,
and the error that carries a refused cancel or edit.

The codes are :class:`~gpt_trader.domain.reasons.RejectReason` members; a venue's protocol
server maps them to its wire strings. A rejected order carries its code in
``Order.reject_reason``; a refused cancel or edit carries it in :class:`SimRejected`.

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
  that would open or grow a position ``REDUCE_ONLY_INCREASES``; a bracket larger than the
  position it closes ``EXCEEDS_POSITION``; too little margin in the product's pool (for a
  bracket: for its fee) ``INSUFFICIENT_MARGIN``.
- a refusal a venue layer decides itself (:meth:`~gpt_trader.sim.exchange.SimExchange.refuse`,
  e.g. a price outside the venue's band, ``PRICE_TOO_FAR``).
"""

from __future__ import annotations

from gpt_trader.domain.reasons import RejectReason
from gpt_trader.errors import VenueRefused


class SimRejected(VenueRefused):
    """The simulated exchange refused a cancel or an edit; ``reason`` is a
    :class:`~gpt_trader.domain.reasons.RejectReason`."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason, RejectReason.of(reason))
