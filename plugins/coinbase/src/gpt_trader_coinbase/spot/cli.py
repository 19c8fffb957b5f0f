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
from gpt_trader.errors import BrokerError, UserError

T = TypeVar("T")

ProfileOpt = Annotated[str, typer.Option("--profile", "-p", help="Profile name or TOML file.")]
StateDirOpt = Annotated[
    Path | None, typer.Option("--state-dir", help="State dir (default var/<profile>).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _money(value: Any) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return "0" if text in ("-0", "") else text


def order_row(o: Any) -> dict[str, Any]:
    return {
        "client_order_id": o.client_order_id,
        "order_id": o.order_id,
        "symbol": o.symbol,
        "side": str(o.side),
        "type": str(o.order_type),
        "time_in_force": str(o.time_in_force),
        "status": str(o.status),
        "size": _money(o.size),
        "filled_size": _money(o.filled_size),
        "limit_price": _money(o.limit_price),
        "stop_price": _money(o.stop_price),
        "avg_fill_price": _money(o.avg_fill_price),
        "created_ts": o.created_ts,
    }


def _with_broker(profile: str, state_dir: Path | None, work: Callable[[Any], Awaitable[T]]) -> T:
    from gpt_trader.cli.run_cmd import default_state_dir
    from gpt_trader.components import BuildContext, Kind
    from gpt_trader.config import load_config
    from gpt_trader.plugins import make_plugin_manager
    from gpt_trader.registry import Registry

    config = load_config(profile)
    target = state_dir or default_state_dir(config.profile.name)
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


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from gpt_trader.cli.output import stdout
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*r)
    stdout.print(table)


def register(app: typer.Typer) -> None:
    from gpt_trader.cli.output import print_json, stdout

    orders = typer.Typer(help="Open orders at the venue: list and cancel.", no_args_is_help=True)
    app.add_typer(orders, name="orders")

    @orders.command("list")
    def list_orders(
        profile: ProfileOpt = "dev", state_dir: StateDirOpt = None, as_json: JsonOpt = False
    ) -> None:
        """List the open orders of the profile's broker."""

        async def work(broker: Any) -> list[dict[str, Any]]:
            return [order_row(o) for o in await broker.open_orders()]

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
        ]
        _table("open orders", cols, [[str(r[c] or "") for c in cols] for r in rows])

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
        """Positions as the profile's broker reports them."""

        async def work(broker: Any) -> list[dict[str, Any]]:
            products = {p.symbol: p for p in await broker.products()}
            held = [p for p in await broker.positions() if p.size != 0]
            return [position_row(p, products.get(p.symbol)) for p in held]

        rows = _with_broker(profile, state_dir, work)
        if as_json:
            print_json(rows)
        elif not rows:
            stdout.print("No positions.")
        else:
            derivative = any(r["liquidation_price"] or Decimal(r["mark_price"]) for r in rows)
            columns = list(rows[0]) if derivative else ["symbol", "size", "avg_entry_price"]
            _table("positions", columns, [[r[c] or "-" for c in columns] for r in rows])

    def position_row(p: Any, product: Any) -> dict[str, Any]:
        """Spot: size and entry; derivatives add the venue's mark, P&L and risk figures.
        On the product's increments and in its quote currency when the broker lists it."""
        from gpt_trader.domain.money import amount, at

        def size(v: Any) -> str | None:
            return at(v, product.base_increment) if product else _money(v)

        def price(v: Any) -> str | None:
            return at(v, product.price_increment) if product else _money(v)

        def cash(v: Any) -> str | None:
            return amount(v, product.quote) if product else _money(v)

        return {
            "symbol": p.symbol,
            "size": size(p.size),
            "avg_entry_price": price(p.avg_entry_price),
            "mark_price": price(p.mark_price),
            "unrealized_pnl": cash(p.unrealized_pnl),
            "leverage": _money(p.leverage) if p.leverage is not None else "",
            "initial_margin": cash(p.initial_margin) if p.initial_margin else "",
            "liquidation_price": price(p.liquidation_price)
            if p.liquidation_price is not None
            else "",
        }

    @app.command()
    def account(
        profile: ProfileOpt = "dev", state_dir: StateDirOpt = None, as_json: JsonOpt = False
    ) -> None:
        """Balances of the profile's broker account (total, available, on hold)."""
        from gpt_trader.domain.money import amount

        async def work(broker: Any) -> list[dict[str, Any]]:
            return [
                {
                    "currency": b.currency,
                    "total": amount(b.total, b.currency),
                    "available": amount(b.available, b.currency),
                    "hold": amount(b.hold, b.currency),
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
