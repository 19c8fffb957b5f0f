"""``gpt-trader orders list|cancel ID...|cancel-all``, ``gpt-trader positions``, ``account``.

Each builds the broker of ``--profile`` (any broker: the Broker protocol is all they use),
asks it, prints a table or ``--json``, and lets it go. Broker failures are one line.
These are explicit operator commands, so they may act on a live profile without ``--live``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from gpt_trader.domain import OrderType, Position, money
from gpt_trader.errors import BrokerError, UserError

T = TypeVar("T")

ProfileOpt = Annotated[str, typer.Option("--profile", "-p", help="Profile name or TOML file.")]
StateDirOpt = Annotated[
    Path | None, typer.Option("--state-dir", help="State dir (default var/<profile>).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def order_row(o: Any, product: Any) -> dict[str, Any]:
    """An order with its sizes and prices on the product's increments; a bracket
    (``trigger_bracket_gtc``) with its two legs, the take-profit limit and the stop trigger."""
    tick = product.price_increment if product is not None else None
    lot = product.base_increment if product is not None else None

    def on(value: Decimal | None, increment: Decimal | None) -> str | None:
        if value is None:
            return None
        return money.at(value, increment) if increment else money.text(value)

    legs = []
    if o.order_type is OrderType.BRACKET:
        legs = [
            {"leg": "take_profit", "limit_price": on(o.limit_price, tick)},
            {"leg": "stop", "stop_trigger_price": on(o.stop_price, tick)},
        ]
    return {
        "client_order_id": o.client_order_id,
        "order_id": o.order_id,
        "symbol": o.symbol,
        "side": str(o.side),
        "type": str(o.order_type),
        "time_in_force": str(o.time_in_force),
        "status": str(o.status),
        "size": on(o.size, lot),
        "filled_size": on(o.filled_size, lot),
        "limit_price": on(o.limit_price, tick),
        "stop_price": on(o.stop_price, tick),
        "avg_fill_price": on(o.avg_fill_price, tick),
        "created_ts": o.created_ts,
        "legs": legs,
    }


def _with_broker(profile: str, state_dir: Path | None, work: Callable[[Any], Awaitable[T]]) -> T:
    from gpt_trader.components import BuildContext, Kind
    from gpt_trader.config import default_state_dir, load_config
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader.registry import Registry

    config = load_config(profile)
    target = _checked(state_dir or default_state_dir(config.profile.name))
    registry = Registry(make_plugin_manager())
    ctx = BuildContext(
        profile=config.profile.name,
        mode=config.profile.mode,
        universe=tuple(config.profile.universe),
        products={},
        state_dir=target,
        seed=config.profile.seed,
        options={"live": True, "cli": True},
    )

    async def go() -> T:
        broker = registry.build(Kind.BROKER, config.broker.use, config.broker.params, ctx)
        try:
            return await work(broker)
        except BrokerError as exc:
            raise UserError(f"{config.broker.use}: {exc}") from None
        finally:
            stop = getattr(broker, "stop", None)
            if stop is not None:
                with contextlib.suppress(Exception):  # a failed stop must not hide the answer
                    await stop()

    return asyncio.run(go())


def _state_dir(profile: str, state_dir: Path | None) -> Path:
    from gpt_trader.config import default_state_dir, load_config

    return _checked(state_dir or default_state_dir(load_config(profile).profile.name))


def _checked(state_dir: Path) -> Path:
    """A state dir that is a file is a typo, not a bot that never ran (which reads as no
    positions and would hide the mistake)."""
    if state_dir.exists() and not state_dir.is_dir():
        raise UserError(f"state dir {state_dir} is a file, not a directory")
    return state_dir


def bot_inventory(state_dir: Path) -> dict[str, Any]:
    """The bot's positions as its store rebuilds them (fills and inventory adjustments, as
    a restart would); empty when the bot never ran there."""
    from gpt_trader.engine.ledger import Ledger
    from gpt_trader.store import Store

    db = state_dir / "gpt_trader.db"
    if not db.exists():
        return {}
    store = Store(db, create=False)
    try:
        ledger = Ledger({}, Decimal(0))
        ledger.rebuild(store.fills(), store.adjustments())
    finally:
        store.close()
    return dict(ledger.positions)


def _order_lines(row: dict[str, Any], cols: list[str]) -> list[list[str]]:
    """An order's table row, then one row per leg of a bracket under it."""
    lines = [[str(row[c] or "") for c in cols]]
    for leg in row["legs"]:
        cells = {
            "client_order_id": f"  └ {leg['leg']}",
            "type": "LIMIT" if "limit_price" in leg else "STOP",
            "limit_price": leg.get("limit_price"),
            "stop_price": leg.get("stop_trigger_price"),
        }
        lines.append([str(cells.get(c) or "") for c in cols])
    return lines


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from gpt_trader.output import stdout
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*r)
    stdout.print(table)


def register(app: typer.Typer) -> None:
    from gpt_trader.output import print_json, stdout

    orders = typer.Typer(help="Open orders at the venue: list and cancel.", no_args_is_help=True)
    app.add_typer(orders, name="orders")

    @orders.command("list")
    def list_orders(
        profile: ProfileOpt = "dev", state_dir: StateDirOpt = None, as_json: JsonOpt = False
    ) -> None:
        """List the open orders of the profile's broker."""

        async def work(broker: Any) -> list[dict[str, Any]]:
            products = {p.symbol: p for p in await broker.products()}
            return [order_row(o, products.get(o.symbol)) for o in await broker.open_orders()]

        rows = _with_broker(profile, state_dir, work)
        if as_json:
            print_json(rows)
            return
        if not rows:
            stdout.print("No open orders.")
            return
        cols = [
            "client_order_id",
            "order_id",
            "symbol",
            "side",
            "type",
            "status",
            "size",
            "filled_size",
            "limit_price",
            "stop_price",
        ]
        _table("open orders", cols, [line for r in rows for line in _order_lines(r, cols)])

    @orders.command("cancel")
    def cancel(
        ids: Annotated[list[str], typer.Argument(help="Client order ids or venue order ids.")],
        profile: ProfileOpt = "dev",
        state_dir: StateDirOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Cancel orders by client order id (or venue order id)."""

        async def work(broker: Any) -> dict[str, bool]:
            by_venue_id = {o.order_id: o.client_order_id for o in await broker.open_orders()}
            wanted = [by_venue_id.get(i, i) for i in ids]
            answers = await broker.cancel(wanted)
            return {i: bool(answers.get(w, False)) for i, w in zip(ids, wanted, strict=True)}

        result = _with_broker(profile, state_dir, work)
        _print_cancel(result, as_json)

    @orders.command("cancel-all")
    def cancel_all(
        profile: ProfileOpt = "dev",
        state_dir: StateDirOpt = None,
        symbol: Annotated[
            list[str] | None, typer.Option("--symbol", help="Only these products.")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Cancel every cancellable open order (optionally of some products)."""

        async def work(broker: Any) -> dict[str, bool]:
            from gpt_trader_coinbase.spot.broker import CoinbaseSpotBroker

            if isinstance(broker, CoinbaseSpotBroker):
                return await broker.cancel_all(symbol)
            open_ = [o for o in await broker.open_orders() if not symbol or o.symbol in symbol]
            if not open_:
                return {}
            return dict(await broker.cancel([o.client_order_id for o in open_]))

        result = _with_broker(profile, state_dir, work)
        _print_cancel(result, as_json)

    def _print_cancel(result: dict[str, bool], as_json: bool) -> None:
        if as_json:
            print_json(
                {
                    "cancelled": [k for k, v in result.items() if v],
                    "failed": [k for k, v in result.items() if not v],
                }
            )
        elif not result:
            stdout.print("Nothing to cancel.")
        else:
            for key, ok in result.items():
                stdout.print(f"{'cancelled' if ok else 'NOT cancelled'} {key}")
        if any(not ok for ok in result.values()):
            raise typer.Exit(1)

    @app.command()
    def positions(
        profile: ProfileOpt = "dev", state_dir: StateDirOpt = None, as_json: JsonOpt = False
    ) -> None:
        """Positions as the venue reports them; on spot, the account's holding beside the
        bot's own inventory (what its fills built, from the state dir's store)."""

        async def work(broker: Any) -> list[dict[str, Any]]:
            products = {p.symbol: p for p in await broker.products()}
            venue = {p.symbol: p for p in await broker.positions() if p.size != 0}
            inventory = bot_inventory(_state_dir(profile, state_dir))
            rows = []
            for symbol in sorted(set(venue) | {s for s, v in inventory.items() if v.size}):
                product = products.get(symbol)
                pos = venue.get(symbol) or Position(symbol)
                if product is not None and not product.is_derivative:
                    rows.append(spot_row(pos, inventory.get(symbol), product))
                else:
                    rows.append(position_row(pos, product))
            return rows

        rows = _with_broker(profile, state_dir, work)
        if as_json:
            print_json(rows)
        elif not rows:
            stdout.print("No positions.")
        else:
            for kind in ("spot", "derivative"):
                shown = [r for r in rows if r["kind"] == kind]
                if shown:
                    columns = [c for c in shown[0] if c != "kind"]
                    _table(
                        f"positions ({kind})",
                        columns,
                        [[r[c] or "-" for c in columns] for r in shown],
                    )

    def spot_row(venue: Any, mine: Any, product: Any) -> dict[str, Any]:
        """The account's holding and the bot's inventory in it: the bot trades only its own."""
        bot = mine.size if mine is not None else Decimal(0)
        return {
            "kind": "spot",
            "symbol": venue.symbol,
            "account": money.at(venue.size, product.base_increment),
            "bot_inventory": money.at(bot, product.base_increment),
            "not_the_bots": money.at(max(venue.size - bot, Decimal(0)), product.base_increment),
            "bot_avg_entry_price": money.at(mine.avg_entry_price, product.price_increment)
            if mine is not None and bot
            else "",
        }

    def position_row(p: Any, product: Any) -> dict[str, Any]:
        """A derivative: the venue's size, entry, mark, P&L and risk figures."""
        tick = product.price_increment if product is not None else Decimal("0.01")
        size_inc = product.base_increment if product is not None else Decimal("0.00000001")
        quote = product.quote if product is not None else "USD"
        return {
            "kind": "derivative",
            "symbol": p.symbol,
            "size": money.at(p.size, size_inc),
            "avg_entry_price": money.at(p.avg_entry_price, tick),
            "mark_price": money.at(p.mark_price, tick),
            "unrealized_pnl": money.amount(p.unrealized_pnl, quote),
            "leverage": money.text(p.leverage) if p.leverage is not None else "",
            "initial_margin": money.amount(p.initial_margin, quote) if p.initial_margin else "",
            "liquidation_price": money.at(p.liquidation_price, tick)
            if p.liquidation_price is not None
            else "",
        }

    @app.command()
    def account(
        profile: ProfileOpt = "dev", state_dir: StateDirOpt = None, as_json: JsonOpt = False
    ) -> None:
        """Balances of the profile's broker account (total, available, on hold)."""

        async def work(broker: Any) -> list[dict[str, Any]]:
            return [
                {
                    "currency": b.currency,
                    "total": money.amount(b.total, b.currency),
                    "available": money.amount(b.available, b.currency),
                    "hold": money.amount(b.hold, b.currency),
                }
                for b in await broker.balances()
                if b.total != 0 or b.available != 0
            ]

        rows = _with_broker(profile, state_dir, work)
        if as_json:
            print_json(rows)
        elif not rows:
            stdout.print("No balances.")
        else:
            _table(
                "account",
                ["currency", "total", "available", "hold"],
                [[r[k] for k in ("currency", "total", "available", "hold")] for r in rows],
            )
