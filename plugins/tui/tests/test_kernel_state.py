"""The dashboard of real runs (sim broker, the run's own SQLite store): every pause the
kernel makes and the trading state, money on the quote currency's and the product's
increments, and the account's holdings apart from the bot's inventory."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.control import apply_pending
from gpt_trader.domain import TradingState, money
from gpt_trader.monitor.reader import WARN, Dashboard, StoreReader
from gpt_trader.sim.products import default_products
from gpt_trader_tui.app import DashboardApp
from textual.pilot import Pilot
from tui_support import dev_config, flush, running_bot, screen_text

COINBASE_SILENT = "coinbase: market data connection silent"  # the Coinbase feed's pause


def dashboard(runtime: Any) -> DashboardApp:
    return DashboardApp(runtime.state_dir, clock=runtime.kernel.clock.now, poll_s=3600)


async def reread(app: DashboardApp, runtime: Any, pilot: Pilot[None]) -> Dashboard:
    """What the dashboard shows on its next poll, once the bot's store has the events."""
    flush(runtime)
    app.refresh_data()
    await pilot.pause()
    assert app.data is not None
    return app.data


def cells(panel: str) -> dict[str, list[str]]:
    """A bordered panel's table rows, by their first cell."""
    rows = [line.strip("│ ").split() for line in panel.splitlines()[1:-1]]
    return {row[0]: row for row in rows if row}


async def test_every_pause_the_kernel_makes_shows_until_it_is_lifted(tmp_path: Path) -> None:
    async with running_bot(tmp_path, events=60) as runtime:
        kernel, store = runtime.kernel, runtime.store
        assert store is not None
        app = dashboard(runtime)
        async with app.run_test(size=(120, 40)) as pilot:
            assert "OK" in screen_text(app, "banner")

            # The feed went silent: the adapter paused entries through the kernel.
            kernel.pause_entries(COINBASE_SILENT)
            data = await reread(app, runtime, pilot)
            assert (data.entries_paused, data.pause_reason) == (True, COINBASE_SILENT)
            assert f"ENTRIES PAUSED: {COINBASE_SILENT}" in screen_text(app, "banner")
            assert "OK" not in screen_text(app, "banner")
            status = screen_text(app, "status")
            assert "state ACTIVE" in status
            assert "entries paused" in status

            # An operator pause takes the kernel's one slot over: its reason shows.
            store.record_operator_action(kernel.now, "pause", "news at 14:00")
            await apply_pending(kernel, store, runtime.run_id, None)
            await reread(app, runtime, pilot)
            banner = screen_text(app, "banner")
            assert "ENTRIES PAUSED: operator pause: news at 14:00" in banner
            assert COINBASE_SILENT not in banner

            # Lifted: the pause disappears; a tightened state shows instead.
            kernel.resume_entries()
            kernel.operator_set_state(TradingState.REDUCE_ONLY, "daily_loss earlier")
            data = await reread(app, runtime, pilot)
            assert not data.entries_paused
            assert "ENTRIES PAUSED" not in screen_text(app, "banner")
            assert "REDUCE-ONLY: daily_loss earlier" in screen_text(app, "banner")
            assert "entries paused" not in screen_text(app, "status")
            assert "state REDUCE_ONLY" in screen_text(app, "status")

            kernel.pause_entries("coinbase: user channel disconnected")
    # The run ended paused: its summary says so, and the finished run shows it.
    data = StoreReader(tmp_path).read(kernel.now)
    assert not data.entries_paused, "a stopped bot holds nothing back"
    assert (WARN, "entries were paused at the end: coinbase: user channel disconnected") in (
        data.banners()
    )


async def test_money_is_shown_on_the_quote_and_the_product_increments(tmp_path: Path) -> None:
    universe = ("BTC-USD", "DOGE-USD")  # ticks 0.01 and 0.00001; lots 1e-8 and 0.1
    products = default_products(universe)
    # 306 events: many round trips, ending with both symbols held.
    async with running_bot(tmp_path, dev_config(universe), events=306) as runtime:
        summary = runtime.kernel.summary()
        app = dashboard(runtime)
        async with app.run_test(size=(120, 40)):
            running = app.data
            assert running is not None
            positions_panel = screen_text(app, "positions")
            pnl_panel = screen_text(app, "pnl")
    finished = StoreReader(tmp_path).read(runtime.kernel.now)

    assert summary["fills"] > 10
    assert {p.symbol for p in running.positions if p.size} == set(universe)
    for data in (running, finished):
        for kind in ("realized", "unrealized", "fees", "funding", "net"):
            assert data.pnl[kind] == Decimal(summary["pnl"][kind]), kind
            assert data.pnl[kind].as_tuple().exponent == -2, kind
        by_symbol = {p["symbol"]: p for p in summary["positions"]}
        for row in data.positions:
            product, reported = products[row.symbol], by_symbol[row.symbol]
            assert row.size == Decimal(reported["size"])
            assert row.size.as_tuple().exponent == product.base_increment.as_tuple().exponent
            assert row.avg_entry == Decimal(reported["avg_entry_price"])
            for figure in (row.avg_entry, row.mark):
                tick = product.price_increment.as_tuple().exponent
                assert figure.as_tuple().exponent == tick, row
            for figure in (row.unrealized, row.realized):
                assert figure.as_tuple().exponent == -2, row
    shown = cells(positions_panel)
    for row in running.positions:
        assert shown[row.symbol][1] == money.text(row.size)
        assert shown[row.symbol][3:5] == [money.text(row.avg_entry), money.text(row.mark)]
    assert money.text(running.pnl["realized"]) in pnl_panel
    assert money.text(running.pnl["net"]) in pnl_panel
    assert finished.equity == Decimal(summary["equity"])


async def test_spot_positions_show_the_account_apart_from_the_bots_inventory(
    tmp_path: Path,
) -> None:
    """Run 1 adopts 0.5 of the account's 1 BTC (its 2 ETH stay the user's); in run 2 the
    venue reports 0.3 BTC left (the user sold some), and the kernel shrinks the bot's
    inventory to it."""
    config = dev_config(
        broker={"starting_balances": {"BTC": "1", "ETH": "2"}},
        run={"adopt_holdings": {"BTC-USD": {"size": "0.5", "cost": "60000"}}},
    )
    async with running_bot(tmp_path, config) as first:
        pass
    after_first = StoreReader(tmp_path).read(first.kernel.now)
    async with running_bot(tmp_path, config) as second:
        # A balance update from the venue, as a spot adapter reports it to the kernel.
        second.kernel.on_account_holding("BTC-USD", Decimal("0.3"))
        app = dashboard(second)
        async with app.run_test(size=(120, 40)) as pilot:
            running = await reread(app, second, pilot)
            panel = screen_text(app, "positions")
    finished = StoreReader(tmp_path).read(second.kernel.now)

    def holdings(data: Dashboard) -> dict[str, tuple[str, str | None]]:
        return {
            p.symbol: (money.text(p.size), None if p.account is None else money.text(p.account))
            for p in data.positions
        }

    assert holdings(after_first) == {
        "BTC-USD": ("0.50000000", "1.00000000"),
        "ETH-USD": ("0.00000000", "2.00000000"),
    }
    for data in (running, finished):
        assert holdings(data) == {
            "BTC-USD": ("0.30000000", "0.30000000"),
            "ETH-USD": ("0.00000000", "2.00000000"),
        }
    btc = next(p for p in running.positions if p.symbol == "BTC-USD")
    assert btc.avg_entry == Decimal("60000.00")
    lines = cells(panel)
    assert lines["symbol"] == [
        "symbol", "bot", "account", "entry", "mark", "stop", "target", "uPnL", "rPnL"
    ]  # fmt: skip
    assert lines["BTC-USD"][1:4] == ["0.30000000", "0.30000000", "60000.00"]
    # Flat inventory beside the account's coins: the account's only.
    assert lines["ETH-USD"][1:] == ["-", "2.00000000", "-", "-", "-", "-", "-", "-"]
