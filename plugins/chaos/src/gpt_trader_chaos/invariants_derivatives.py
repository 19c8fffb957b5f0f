"""The derivatives invariants: the bot's store against the venue's margin ledger, to the cent.

What the venue exposes (``Venue.derivatives``, the core :class:`DerivativesLedger`): each
collateral pool's cash (CFM: the FCM pool, ``cfm_usd_balance``; INTX: the portfolio's
USDC), each position (size, exact realised P&L, fees, funding, initial margin at the mark),
every funding payment (symbol, funding time, amount on the cent), isolated margin, sweeps.

What the bot keeps in its store: every fill; every funding payment it booked (table
``funding``, one per symbol and funding time); and, at each stop, its positions (realised
P&L, fees and funding on the cent, and the venue's initial margin as last read). It keeps
no pool cash (the kernel's cash is memory, read from the venue at each start) and no
margin figure of its own: the saved initial margin is the venue's, relayed from its last
position read without the mark or time it was read at, so it cannot be held to the
venue's ledger after the fact and is not checked.

* ``funding``: every funding payment the venue made on the bot's positions is in the store
  once, for the same symbol and funding time and the same amount, and nothing else is;
* ``pool_cash``: each pool's cash at the venue equals its starting cash plus what the
  store's fills realised (average cost, rounded half-even to the cent as the venue books
  it) less their fees, plus the store's funding, less isolated margin and sweeps out;
* ``positions``: each position the store saved at the last stop has the venue's size,
  realised P&L, fees and funding, on the cent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader.domain import Fill, FundingPayment, Position
from gpt_trader.domain.money import currency_increment, quantize
from gpt_trader_coinbase_sim.catalogue import FCM

ZERO = Decimal(0)
Fail = Callable[[str, str], None]


@dataclass
class MarginBooks:
    """The venue's side: pools, positions, funding (all read after the scenario)."""

    start: dict[str, Decimal]  # pool -> cash at the scenario's start
    cash: dict[str, Decimal]
    isolated: dict[str, Decimal]
    swept: dict[str, Decimal]  # pool -> what sweeps moved out of it
    currency: dict[str, str]  # pool -> its currency
    pool_of: dict[str, str]  # symbol -> pool
    contract_size: dict[str, Decimal]
    positions: dict[str, Position]
    funding: list[FundingPayment]


def start_pools(venue: Any) -> dict[str, Decimal]:
    """Each pool's cash now (call it before the bot trades)."""
    ledger = venue.derivatives
    return {} if ledger is None else {a: ledger.cash(a) for a in ledger.accounts()}


def margin_books(venue: Any, start: dict[str, Decimal]) -> MarginBooks | None:
    ledger = venue.derivatives
    if ledger is None:
        return None
    pools = ledger.accounts()
    symbols = ledger.symbols()
    swept = sum((s.swept for s in venue.sweeps.all()), ZERO)
    return MarginBooks(
        start=dict(start),
        cash={a: ledger.cash(a) for a in pools},
        isolated={a: ledger.isolated_margin(a) for a in pools},
        swept={a: swept for a in pools if a == FCM},  # a sweep leaves the CFM pool
        currency={a: ledger.currency(a) for a in pools},
        pool_of={s: ledger.terms(s).pool for s in symbols},
        contract_size={s: ledger.product(s).contract_size for s in symbols},
        positions={s: b.position for s, b in ledger.books().items()},
        funding=ledger.funding_payments(),
    )


def check(
    books: MarginBooks,
    fills: list[Fill],
    funding: list[FundingPayment],
    saved: list[Position],
    venue_order: list[str],
    fail: Fail,
) -> None:
    """``fills``/``funding``/``saved``: the store's; ``venue_order``: the venue's trade ids,
    oldest first (average cost depends on the order fills are applied in)."""
    _funding(books, funding, fail)
    _pool_cash(books, fills, funding, venue_order, fail)
    _positions(books, saved, fail)


def _funding(books: MarginBooks, funding: list[FundingPayment], fail: Fail) -> None:
    venue = {(p.symbol, p.ts): p.amount for p in books.funding}
    mine: dict[tuple[str, int], list[Decimal]] = {}
    for p in funding:
        mine.setdefault((p.symbol, p.ts), []).append(p.amount)
    for key, amount in sorted(venue.items()):
        got = mine.get(key, [])
        if got != [amount]:
            fail("funding", f"{key[0]} funding at {key[1]}: venue {amount}, store {got or 'none'}")
    for key, got in sorted(mine.items()):
        if key not in venue:
            fail("funding", f"{key[0]} funding at {key[1]}: store {got}, the venue paid none")


def _pool_cash(
    books: MarginBooks,
    fills: list[Fill],
    funding: list[FundingPayment],
    venue_order: list[str],
    fail: Fail,
) -> None:
    rank = {t: i for i, t in enumerate(venue_order)}
    replay: dict[str, Position] = {}
    realized: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for f in sorted(fills, key=lambda f: rank.get(f.trade_id, len(rank))):
        pool = books.pool_of.get(f.symbol)
        if pool is None:
            continue
        pos = replay.setdefault(
            f.symbol, Position(f.symbol, contract_size=books.contract_size[f.symbol])
        )
        realized[pool] = realized.get(pool, ZERO) + pos.apply(f)
        fees[pool] = fees.get(pool, ZERO) + f.fee
    paid: dict[str, Decimal] = {}
    for p in funding:
        pool = books.pool_of.get(p.symbol)
        if pool is not None:
            paid[pool] = paid.get(pool, ZERO) + p.amount
    for pool, held in sorted(books.cash.items()):
        start = books.start.get(pool)
        if start is None:
            continue
        cents = currency_increment(books.currency[pool])
        made = quantize(realized.get(pool, ZERO), cents) - fees.get(pool, ZERO)
        expected = (
            start
            + made
            + paid.get(pool, ZERO)
            - books.isolated.get(pool, ZERO)
            - books.swept.get(pool, ZERO)
        )
        if held != expected:
            fail(
                "pool_cash",
                f"{pool}: venue {held}, start {start} + the store's fills {made} + funding "
                f"{paid.get(pool, ZERO)} = {expected}",
            )


def _positions(books: MarginBooks, saved: list[Position], fail: Fail) -> None:
    for mine in saved:
        venue = books.positions.get(mine.symbol)
        pool = books.pool_of.get(mine.symbol)
        if pool is None:
            continue
        cents = currency_increment(books.currency[pool])
        theirs = venue or Position(mine.symbol)
        pairs = {
            "size": (mine.size, theirs.size),
            "realized P&L": (mine.realized_pnl, quantize(theirs.realized_pnl, cents)),
            "fees": (mine.fees, quantize(theirs.fees, cents)),
            "funding": (mine.funding, quantize(theirs.funding, cents)),
        }
        for what, (a, b) in pairs.items():
            if a != b:
                fail("positions", f"{mine.symbol} {what}: store {a}, venue {b}")
