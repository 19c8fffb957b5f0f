"""The simulator's venue kept across restarts: ``<state dir>/venue.json``.

The in-process simulator of a ``sim = true`` profile stops when its run ends, and the next
command on the same state dir (``positions``, ``account``, a restarted bot) starts another:
it must find the same account. The file holds the exchange (orders, fills, cash, margin
pools, derivative positions, id counters: ``SimExchange.to_state``), what the wire says of
each order beyond the domain Order (:class:`OrderMeta`), and each product's last price, so
the market goes on from there instead of jumping back to its seed price.

It is written atomically after every request and market step that changed the account (the
venue never forgets an order it has acknowledged), and on stop.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler
from gpt_trader.errors import UserError
from gpt_trader.sim.state import need_dec, read_json, state_error, undec, write_json_atomic

from gpt_trader_coinbase_sim.ordermeta import OrderMeta
from gpt_trader_coinbase_sim.state import STATE, log
from gpt_trader_coinbase_sim.wire import NS

if TYPE_CHECKING:
    from gpt_trader_coinbase_sim.state import SimState

VENUE_FILE = "venue.json"
FORMAT = 1


def _meta_json(meta: OrderMeta) -> dict[str, Any]:
    out = dataclasses.asdict(meta)
    out["quote_size"] = None if meta.quote_size is None else str(meta.quote_size)
    return out


def _meta_from(item: dict[str, Any]) -> OrderMeta:
    return OrderMeta(**{**item, "quote_size": undec(item.get("quote_size"))})


class VenueFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved: int | None = None
        self._failing = False

    def read(self) -> dict[str, Any] | None:
        """What a previous simulator left, or None on a fresh state dir."""
        if not self.path.exists():
            return None
        data = read_json(self.path)
        if data.get("format") != FORMAT:
            raise UserError(
                f"simulator state {self.path} has format {data.get('format')!r}, not {FORMAT}; "
                "delete it to start afresh"
            )
        return data

    def products(self, data: dict[str, Any]) -> list[str]:
        """The products the saved account trades (the new simulator must list them)."""
        try:
            return [str(symbol) for symbol in data["exchange"]["engines"]]
        except (KeyError, TypeError) as exc:
            raise state_error(self.path, exc) from None

    def restore(self, state: SimState, data: dict[str, Any]) -> dict[str, Decimal]:
        """Load the saved account into ``state``; returns each product's last price."""
        try:
            state.venue.load_state(data["exchange"], source=str(self.path))
            for item in data["orders"]:
                state.metas.put(_meta_from(item))
            prices = {str(s): need_dec(p) for s, p in data["prices"].items() if s in state.markets}
        except UserError:
            raise
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            raise state_error(self.path, exc) from None
        ahead = state.venue.last_ts - state.clock.now_ns()
        if ahead > 0:
            state.clock.shift(ahead / NS)  # the venue's time never runs backwards
        self._saved = state.venue.version
        log.info("simulator account restored from %s", self.path)
        return prices

    def save(self, state: SimState, *, always: bool = False) -> None:
        """Write the account if it changed since the last write (``always``: the prices
        too, which move without changing it)."""
        version = state.venue.version
        if version == self._saved and not always:
            return
        data = {
            "format": FORMAT,
            "exchange": state.venue.to_state(),
            "orders": [_meta_json(m) for m in state.metas.all()],
            "prices": {s: str(m.price) for s, m in state.markets.items()},
        }
        try:
            write_json_atomic(self.path, data)
        except OSError as exc:
            if not self._failing:
                log.error("simulator state not saved to %s: %s", self.path, exc.strerror or exc)
            self._failing = True
            return
        self._failing = False
        self._saved = version


@web.middleware
async def persist_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Save what a request changed before its reply leaves."""
    try:
        return await handler(request)
    finally:
        request.app[STATE].persist()
