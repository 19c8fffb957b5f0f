"""The bot's book is its own: on spot it trades only the inventory its fills built (and
holdings the profile adopted with a cost), a balance below it shrinks it, nothing grows it.
Derivatives take the venue's size, never an entry price of 0. Through the sim broker and a
real SQLite store, across restarts."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from gpt_trader.domain import (
    Action,
    Decision,
    OrderRequest,
    OrderType,
    Position,
    Side,
    Trade,
)
from gpt_trader.domain.events import InventoryAdjusted
from gpt_trader.engine.clock import SimClock
from gpt_trader.engine.kernel import Kernel
from gpt_trader.errors import UserError
from gpt_trader.sim.exchange import SimExchange
from gpt_trader.sim.products import default_products
from gpt_trader.store import Store, StoreSink
from gpt_trader.testing import FROZEN_TS, EventRecorder, derivative_product, manual_kernel

BTC = "BTC-USD"
NS = 1_000_000_000


class Venue:
    """One simulated account (1 BTC and 100,000 USD before the bot), kept across restarts."""

    def __init__(self, btc: str = "1") -> None:
        self.exchange = SimExchange(
            default_products([BTC]), {"USD": D(100_000), "BTC": D(btc)}, taker_fee=D("0.006")
        )
        self.clock = SimClock(FROZEN_TS)
        self.runs = 0

    def kernel(self, store: Store, **parts: Any) -> tuple[Kernel, EventRecorder]:
        self.runs += 1
        run_id = f"run{self.runs}"
        store.start_run(run_id, "test", "sim", self.clock.now())
        rec = EventRecorder()
        kernel = manual_kernel(
            self.exchange,
            self.clock,
            run_id=run_id,
            journal=store,
            sinks=[StoreSink(store, run_id, flush_every=1), rec],
            critical_sinks=frozenset({0}),
            **parts,
        )
        return kernel, rec

    async def price(self, kernel: Kernel, price: str) -> None:
        self.clock.advance_to(self.clock.now() + 60 * NS)
        now = self.clock.now()
        await kernel.on_market(Trade(BTC, now, f"t{now}", D(price), D("5"), "BUY"))

    async def market(self, kernel: Kernel, side: Side, size: str) -> None:
        await kernel.submit(
            OrderRequest(kernel.next_client_order_id(), BTC, side, D(size), OrderType.MARKET)
        )


def decision(action: Action) -> Decision:
    return Decision(BTC, FROZEN_TS, action, 1.0, ())


async def _close(kernel: Kernel) -> None:
    await kernel.stop(cancel_open=True)
    for sink in kernel.parts.sinks:
        close = getattr(sink, "close", None)
        if close is not None:
            close()


async def test_holdings_the_bot_did_not_buy_are_never_sold_nor_counted(tmp_path: Path) -> None:
    venue = Venue()
    store = Store(tmp_path / "gpt_trader.db")
    kernel, _ = venue.kernel(store)
    await kernel.start()
    await venue.price(kernel, "60000")
    assert kernel.positions[BTC].size == 0  # the account's 1 BTC is not the bot's
    assert kernel.holdings[BTC] == D(1)
    assert kernel.summary()["holdings"] == [
        {"symbol": BTC, "account": "1.00000000", "bot": "0.00000000", "not_the_bots": "1.00000000"}
    ]
    # A FLAT decision with no inventory sells nothing.
    kernel.parts.voter = type("V", (), {"combine": lambda *_: decision(Action.FLAT)})()
    await kernel.decide(BTC)
    assert not kernel.orders
    # Round trips: only the bot's own 0.01 BTC goes back and forth.
    for buy, sell in (("60000", "60600"), ("61000", "60500"), ("60000", "60010")):
        await venue.price(kernel, buy)
        await venue.market(kernel, Side.BUY, "0.01")
        await venue.price(kernel, sell)
        await kernel.decide(BTC)  # FLAT: sells the inventory, not the account's coins
    assert kernel.positions[BTC].size == 0
    assert venue.exchange.balance("BTC").total == D(1)
    await _close(kernel)  # the store writer has everything
    fills = store.fills()
    by_hand = sum((f.price * f.size * (1 if f.side is Side.SELL else -1) for f in fills), D(0))
    assert kernel.realized_pnl == by_hand == D("6.00") + D("-5.00") + D("0.10")
    assert kernel.summary()["pnl"]["realized"] == "1.10"
    store.close()


async def test_a_balance_below_the_inventory_shrinks_it_once_and_nothing_grows_it(
    tmp_path: Path,
) -> None:
    venue = Venue(btc="0")
    store = Store(tmp_path / "gpt_trader.db")
    kernel, rec = venue.kernel(store)
    await kernel.start()
    await venue.price(kernel, "60000")
    await venue.market(kernel, Side.BUY, "0.5")
    assert kernel.positions[BTC].size == D("0.5")
    # The user withdraws 0.2 BTC behind the bot's back.
    venue.exchange._ledger.debit("BTC", D("0.2"))
    kernel.on_account_holding(BTC, D("0.3"))
    [shrunk] = [e for e in rec.events if isinstance(e, InventoryAdjusted)]
    assert (shrunk.adjustment.kind, shrunk.adjustment.size) == ("shrunk", D("-0.2"))
    assert shrunk.inventory == D("0.3")
    assert shrunk.account == D("0.3")
    assert kernel.positions[BTC].size == D("0.3")
    assert kernel.positions[BTC].avg_entry_price == D("60000")  # cost basis of what is left
    assert kernel.realized_pnl == 0  # nothing was traded
    # The user deposits 2 BTC: the bot's inventory does not grow.
    venue.exchange._ledger.credit("BTC", D("2"))
    kernel.on_account_holding(BTC, D("2.3"))
    assert kernel.positions[BTC].size == D("0.3")
    await _close(kernel)
    # A restart rebuilds the same inventory (fills + the recorded shrink), no new event.
    again, rec2 = venue.kernel(store)
    await again.start()
    assert again.positions[BTC].size == D("0.3")
    assert not [e for e in rec2.events if isinstance(e, InventoryAdjusted)]
    assert [(a.kind, a.size) for a in store.adjustments()] == [("shrunk", D("-0.2"))]
    await _close(again)
    store.close()


async def test_adopted_holdings_are_traded_at_their_cost_and_adopted_once(tmp_path: Path) -> None:
    venue = Venue()
    store = Store(tmp_path / "gpt_trader.db")
    adopt = {BTC: (D("0.5"), D("61000"))}
    kernel, rec = venue.kernel(store, adopt_holdings=adopt)
    await kernel.start()
    assert kernel.positions[BTC].size == D("0.5")
    assert kernel.positions[BTC].avg_entry_price == D("61000")
    [event] = [e for e in rec.events if isinstance(e, InventoryAdjusted)]
    assert event.adjustment.kind == "adopted"
    await venue.price(kernel, "62000")
    kernel.parts.voter = type("V", (), {"combine": lambda *_: decision(Action.FLAT)})()
    await kernel.decide(BTC)
    assert kernel.positions[BTC].size == 0
    assert kernel.realized_pnl == D("500")  # (62000 - 61000) * 0.5, fees apart
    assert venue.exchange.balance("BTC").total == D("0.5")  # the other half is the user's
    await _close(kernel)
    # Same profile again: already adopted, so nothing is adopted twice.
    again, rec2 = venue.kernel(store, adopt_holdings=adopt)
    await again.start()
    assert again.positions[BTC].size == 0
    assert not [e for e in rec2.events if isinstance(e, InventoryAdjusted)]
    await _close(again)
    store.close()


async def test_adopting_more_than_the_account_holds_is_refused(tmp_path: Path) -> None:
    venue = Venue(btc="0.1")
    store = Store(tmp_path / "gpt_trader.db")
    kernel, _ = venue.kernel(store, adopt_holdings={BTC: (D("0.5"), D("61000"))})
    with pytest.raises(UserError, match=r"holds 0\.1 BTC.*0\.5 cannot be adopted"):
        await kernel.start()
    assert store.adjustments() == []
    await _close(kernel)
    store.close()


def test_adoption_without_a_cost_is_refused_in_one_line() -> None:
    from gpt_trader.config import BotConfig
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="a cost basis is required"):
        BotConfig(run={"adopt_holdings": {BTC: {"size": "0.5"}}})
    with pytest.raises(ValidationError, match="not in the profile's universe"):
        BotConfig(run={"adopt_holdings": {"ETH-USD": {"size": "1", "cost": "3000"}}})


class DerivativeVenue:
    """A broker double whose venue reports a derivative position (a unit test of the
    reconcile rule; the venue adapters' end-to-end tests cover the wire)."""

    def __init__(self, position: Position) -> None:
        self.position = position

    def __getattr__(self, name: str) -> Any:
        async def empty(*_: Any, **__: Any) -> list[Any]:
            return []

        return empty

    async def positions(self) -> list[Position]:
        return [self.position]


@pytest.mark.parametrize(
    ("venue_entry", "mark", "expected", "source"),
    [
        (D("60100"), D("60500"), D("60100"), "venue"),
        (D(0), D("60500"), D("60500"), "mark"),
    ],
)
async def test_a_derivative_takes_the_venue_size_and_never_an_entry_price_of_0(
    venue_entry: D, mark: D, expected: D, source: str
) -> None:
    perp = "BTC-PERP"
    exchange = SimExchange([derivative_product(perp, "perpetual")], {"USDC": D(0)})
    rec = EventRecorder()
    kernel = manual_kernel(exchange, SimClock(FROZEN_TS), sinks=[rec])
    kernel.broker = DerivativeVenue(
        Position(perp, size=D("0.2"), avg_entry_price=venue_entry, mark_price=mark)
    )
    await kernel.reconcile()
    pos = kernel.positions[perp]
    assert (pos.size, pos.avg_entry_price) == (D("0.2"), expected)
    [event] = [e for e in rec.events if getattr(e, "client_order_id", "") == f"position:{perp}"]
    assert source in event.action
