"""The invariants, checked after a scenario: the bot's store against the simulator's ledger.

* ``id_sent_twice``: no client_order_id reached the venue twice (the simulator counts every
  submit, the ones it answers with the original order included);
* ``unknown_order``: every order that reached the venue was committed as an intent first
  (an order re-sent under a new id behind the store's back shows up here: the store may
  still adopt such an order later, so its table alone cannot tell);
* ``decision_two_ids``: every order that reached the venue came from a decision, an exit
  or a guard's cut, and no decision reached it under two client_order_ids, across crashes
  too (:mod:`gpt_trader_chaos.lineage`: the store keeps no decision id);
* ``fills``: every venue fill is in the store exactly once, and nothing else is;
* ``inventory`` / ``cash``: what the store's fills add up to equals the venue's balances;
* ``working_unknown``: no order still working at the venue that the store thinks is done;
* ``secret``: the API secret in no log line, store row or WAL;
* ``loosened``: the trading state never loosened without an operator action, across runs;
* derivatives (``funding``, ``pool_cash``, ``positions``): the store against the venue's
  margin ledger, to the cent (:mod:`gpt_trader_chaos.invariants_derivatives`);
* brackets (``bracket_doubled``, ``bracket_lost``): checked after a calm last bot
  (:mod:`gpt_trader_chaos.invariants_brackets`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.domain import Fill, FundingPayment, Order, Position, Side, TradingState
from gpt_trader.domain.money import currency_increment, quantize
from gpt_trader.store import Store

from gpt_trader_chaos import invariants_derivatives as derivatives
from gpt_trader_chaos.lineage import Lineage

INVARIANTS = (
    "id_sent_twice",
    "unknown_order",
    "decision_two_ids",
    "fills",
    "inventory",
    "cash",
    "working_unknown",
    "secret",
    "loosened",
    "funding",
    "pool_cash",
    "positions",
    "bracket_doubled",
    "bracket_lost",
)
ZERO = Decimal(0)


@dataclass
class Evidence:
    submits: list[str]  # client_order_ids of every submit the venue handled, in order
    venue_orders: list[Order]
    venue_fills: list[Fill]
    venue_cash: dict[str, Decimal]
    start_cash: dict[str, Decimal]
    intents: set[str]  # every id the store committed as an intent, before it was sent
    contracts: dict[str, Decimal]  # the venue's futures/perpetual positions, signed
    store_orders: dict[str, Order]
    store_fills: list[Fill]
    state_events: list[tuple[str, dict[str, Any]]]  # (run_id, payload), log order
    runs: list[str]
    secret_lines: list[str]
    blobs: list[tuple[str, bytes]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    lineage: Lineage = field(default_factory=Lineage)
    margin: derivatives.MarginBooks | None = None
    store_funding: list[FundingPayment] = field(default_factory=list)
    store_positions: list[Position] = field(default_factory=list)

    @classmethod
    def gather(
        cls,
        bot_dir: Path,
        state: Any,
        *,
        start_cash: dict[str, Decimal],
        intents: set[str],
        secret: str,
        logs: list[str],
        lineage: Lineage,
        start_pools: dict[str, Decimal],
    ) -> Evidence:
        venue = state.venue
        store = Store(bot_dir / "gpt_trader.db", create=False)
        try:
            orders = {o.client_order_id: o for o in store.orders()}
            fills = store.fills()
            events = [(e.run_id, e.payload) for e in store.events(types=["trading_state"])]
            runs = [r.run_id for r in sorted(store.runs(), key=lambda r: r.started_ts)]
            funding = store.funding_payments()
            positions = store.positions()
        finally:
            store.close()
        blobs = [(p.name, p.read_bytes()) for p in sorted(bot_dir.glob("gpt_trader.db*"))]
        # the PEM's base64 lines: any one of them in the open is the key leaking
        lines = [ln for ln in secret.splitlines() if ln and not ln.startswith("-----")]
        return cls(
            submits=[str(b.get("client_order_id", "")) for b in state.submits],
            venue_orders=venue.orders(),
            venue_fills=venue.fills(),
            venue_cash={b.currency: b.total for b in venue.balances()},
            start_cash=dict(start_cash),
            intents=set(intents),
            contracts=_contracts(venue),
            store_orders=orders,
            store_fills=fills,
            state_events=events,
            runs=runs,
            secret_lines=lines,
            blobs=blobs,
            logs=logs,
            lineage=lineage,
            margin=derivatives.margin_books(venue, start_pools),
            store_funding=funding,
            store_positions=positions,
        )

    def is_derivative(self, symbol: str) -> bool:
        return symbol in self.contracts or "-" not in symbol or symbol.count("-") > 1

    def trace(self) -> list[str]:
        """The run in a few lines: the orders at the venue and their fills."""
        out = []
        for o in self.venue_orders:
            stored = self.store_orders.get(o.client_order_id)
            mine = stored.status.value if stored else "absent"
            out.append(
                f"{o.client_order_id} {o.side.value} {o.size} {o.symbol}: venue "
                f"{o.status.value} filled {o.filled_size}, store {mine}"
            )
        return out


def _contracts(venue: Any) -> dict[str, Decimal]:
    ledger = venue.derivatives
    if ledger is None:
        return {}
    return {p.symbol: p.size for p in ledger.positions()}


def check_all(ev: Evidence) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def fail(name: str, what: str) -> None:
        found.setdefault(name, []).append(what)

    for cid, n in Counter(ev.submits).items():
        if n > 1:
            fail("id_sent_twice", f"{cid} submitted {n} times")
    for cid in dict.fromkeys(ev.submits):
        if cid not in ev.intents:
            fail("unknown_order", f"{cid} reached the venue without an intent recorded first")
        elif not ev.lineage.origin.get(cid):
            fail("decision_two_ids", f"{cid} reached the venue from no decision, exit or guard")
    for decision, ids in ev.lineage.decisions(ev.submits).items():
        if len(ids) > 1:
            fail("decision_two_ids", f"{decision} reached the venue as {', '.join(ids)}")
    venue_trades = Counter(f.trade_id for f in ev.venue_fills)
    store_trades = Counter(f.trade_id for f in ev.store_fills)
    for trade, n in (venue_trades - store_trades).items():
        fail("fills", f"venue fill {trade} missing from the store ({n})")
    for trade, n in (store_trades - venue_trades).items():
        fail("fills", f"store fill {trade} not at the venue or recorded twice ({n})")
    _inventory(ev, fail)
    for o in ev.venue_orders:
        stored = ev.store_orders.get(o.client_order_id)
        if o.status.is_working and (stored is None or stored.status.is_terminal):
            fail("working_unknown", f"{o.client_order_id} works at the venue, store says done")
    _secret(ev, fail)
    _loosened(ev, fail)
    if ev.margin is not None:
        oldest_first = [f.trade_id for f in reversed(ev.venue_fills)]
        derivatives.check(
            ev.margin, ev.store_fills, ev.store_funding, ev.store_positions, oldest_first, fail
        )
    return found


def _inventory(ev: Evidence, fail: Any) -> None:
    """Base and quote moved by the store's fills equal what the venue's balances moved.

    The venue settles traded value exactly and rounds the running total to the cent (fees
    apart, each already on cents), so the store's fills must make the same figure."""
    base: dict[str, Decimal] = {}
    flow: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    contracts: dict[str, Decimal] = {}
    for f in ev.store_fills:
        if ev.is_derivative(f.symbol):
            sign = 1 if f.side is Side.BUY else -1
            contracts[f.symbol] = contracts.get(f.symbol, ZERO) + sign * f.size
            continue
        b, _, q = f.symbol.partition("-")
        sign = 1 if f.side is Side.BUY else -1
        base[b] = base.get(b, ZERO) + sign * f.size
        flow[q] = flow.get(q, ZERO) - sign * f.size * f.price
        fees[q] = fees.get(q, ZERO) + f.fee
    quote = {q: quantize(v, currency_increment(q)) - fees[q] for q, v in flow.items()}
    for symbol in sorted(set(contracts) | set(ev.contracts)):
        mine, venue = contracts.get(symbol, ZERO), ev.contracts.get(symbol, ZERO)
        if mine != venue:
            fail("inventory", f"{symbol}: venue holds {venue} contracts, the store's fills {mine}")
    for currency, moved in base.items():
        held = ev.venue_cash.get(currency, ZERO)
        if held != moved:
            fail("inventory", f"{currency}: venue holds {held}, the store's fills make {moved}")
    for currency, moved in quote.items():
        start = ev.start_cash.get(currency)
        if start is None:
            continue
        held = ev.venue_cash.get(currency, ZERO)
        if held != start + moved:
            fail("cash", f"{currency}: venue {held}, start {start} + the store's fills {moved}")


def _secret(ev: Evidence, fail: Any) -> None:
    for line in ev.secret_lines:
        if any(line in text for text in ev.logs):
            fail("secret", "the API secret is in a log line")
        needle = line.encode()
        for name, blob in ev.blobs:
            if needle in blob:
                fail("secret", f"the API secret is in {name}")
        if ev.secret_lines and ev.secret_lines[0] != line:
            break  # one distinctive line is enough


def _loosened(ev: Evidence, fail: Any) -> None:
    level = TradingState.ACTIVE
    by_run: dict[str, list[dict[str, Any]]] = {}
    for run_id, payload in ev.state_events:
        by_run.setdefault(run_id, []).append(payload)
    for run_id in ev.runs:
        events = by_run.get(run_id, [])
        if level > TradingState.ACTIVE:
            first = events[0] if events else None
            restored = first is not None and TradingState[str(first["new"])] >= level
            if not restored and not (first and first.get("operator")):
                fail("loosened", f"run {run_id} started looser than {level.name}")
        for payload in events:
            new = TradingState[str(payload["new"])]
            if new < level and not payload.get("operator"):
                fail("loosened", f"run {run_id}: {level.name} -> {new.name} by no operator")
            level = new
