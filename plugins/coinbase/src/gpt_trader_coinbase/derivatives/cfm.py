"""``coinbase.cfm``: US-regulated futures (Coinbase Financial Markets) over Advanced Trade.

Cash is the CFM pool (``cfm_usd_balance``), funded apart from spot USD: Coinbase does not
sweep spot USD into futures for API orders. CFM positions carry no liquidation price on
the wire; it is derived from the balance summary's liquidation buffer (equity above the
maintenance requirement): a position's mark may move ``buffer / (contracts * size)``
against it, others held, before the account is liquidated.

Funding of perp-style futures (``BIP-…``) is read off the pool's cash (see
:meth:`CoinbaseCfmBroker.take_funding`): CFM positions carry no P&L breakdown.

The sweep rule (``sweep_floor``): a pending CFM -> spot sweep that would leave less than
the floor above the initial margin is cancelled; with ``sweep_excess_above`` set, the
broker itself schedules a sweep of what lies above floor + margin once it exceeds that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader.domain import Balance, Position
from gpt_trader.errors import UserError

from gpt_trader_coinbase.convert import WireError, ident, objects
from gpt_trader_coinbase.derivatives.broker import DerivativesBroker, DerivativesConfig
from gpt_trader_coinbase.derivatives.convert import FCM, cfm_position, wire_money
from gpt_trader_coinbase.derivatives.sweeps import SweepPlan, plan_sweep
from gpt_trader_coinbase.rest import RestError

log = logging.getLogger("gpt_trader_coinbase.cfm")
ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass
class CfmConfig(DerivativesConfig):
    sweep_floor: Decimal | None = None
    sweep_excess_above: Decimal | None = None


class CoinbaseCfmBroker(DerivativesBroker):
    VENUE = FCM
    VENUE_REDUCE_ONLY = False
    config: CfmConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sweeps_scheduled = 0
        self.sweeps_cancelled = 0
        self._sweep_ids: frozenset[str] = frozenset()
        self._gap_sweeps: frozenset[str] = frozenset()  # the pending sweeps at the last quiet read

    async def check_access(self) -> None:
        try:
            await self.balance_summary()
        except RestError as exc:
            if exc.status in (401, 403, 404):
                raise UserError(
                    "coinbase.cfm: this account cannot trade US futures "
                    f"(balance summary refused: {exc}); enable futures on Coinbase first"
                ) from None
            raise

    async def balance_summary(self) -> Mapping[str, Any]:
        reply = await self.rest.get("/cfm/balance_summary")
        summary = reply.get("balance_summary")
        if not isinstance(summary, Mapping):
            raise WireError("cfm balance_summary: no balance_summary object in the reply")
        return summary

    async def balances(self) -> list[Balance]:
        with self._reading("balance summary"):
            s = await self.balance_summary()
            total = wire_money(s, "cfm_usd_balance")
            available = wire_money(s, "futures_buying_power")
        return [Balance("USD", total, min(total, available))]

    async def venue_positions(self) -> list[Position]:
        with self._reading("positions"):
            return await self._venue_positions()

    async def _venue_positions(self) -> list[Position]:
        before = await self.pool_cash() if self.only_resting() else None
        reply = await self.rest.get("/cfm/positions")
        summary = await self.balance_summary()
        buffer = wire_money(summary, "liquidation_buffer_amount")
        out = []
        for raw in objects(reply, "positions", "cfm positions"):
            contract = (await self.listing(ident(raw, "product_id"))).contract_size
            pos = cfm_position(raw, contract)
            if pos.size == 0:
                continue
            move = buffer / (abs(pos.size) * contract)
            pos.liquidation_price = pos.mark_price - move if pos.size > 0 else pos.mark_price + move
            if pos.liquidation_price <= 0:
                pos.liquidation_price = None
            out.append(pos)
        sweeps = await self.rest.get("/cfm/sweeps")
        pending = objects(sweeps, "sweeps", "cfm sweeps")
        self.pool_seen(wire_money(summary, "cfm_usd_balance"), before)
        self._sweep_ids = frozenset(ident(s, "id") for s in pending)
        await self._apply_sweep_rule(summary, pending)
        return out

    async def _apply_sweep_rule(
        self, summary: Mapping[str, Any], pending: Sequence[Mapping[str, Any]]
    ) -> None:
        floor = self.config.sweep_floor
        if floor is None:
            return
        plan = plan_sweep(
            balance=wire_money(summary, "cfm_usd_balance"),
            initial_margin=wire_money(summary, "initial_margin"),
            pending=pending,
            floor=floor,
            excess_above=self.config.sweep_excess_above,
        )
        await self._carry_out(plan)

    # ------------------------------------------------------------------ funding

    async def pool_cash(self) -> Decimal:
        return wire_money(await self.balance_summary(), "cfm_usd_balance")

    def take_funding(self, positions: list[Position]) -> None:
        """Funding of perp-style futures, read off the pool: CFM positions carry no P&L
        breakdown, but the pool's cash moves only by what the kernel books from fills,
        by funding, and by sweeps and transfers. Between two quiet reads with a funding
        time between them and no sweep moving, the pool's move beyond the kernel's cash
        is that funding (split by the rate's estimate when several positions pay)."""
        if self._listener is None or not self.quiet(positions):
            return
        sweeps_moved = self._sweep_ids != self._gap_sweeps
        self._gap_sweeps = self._sweep_ids
        delta = self.pool_move(reset=sweeps_moved)
        for pos in positions:
            if self._has_funding(pos.symbol) and pos.symbol not in self.funded_through:
                self.funded_through_now(pos.symbol, self.last_funding_ts(pos.symbol) or 0)
        funded = {s for s in self.config.universe if self._has_funding(s)}
        due = self.pool_due(funded, baseline=delta is None)
        if delta is not None:
            self.book_pool_move(delta, due)

    def _has_funding(self, symbol: str) -> bool:
        product = self._products.get(symbol)
        return (
            product is not None
            and product.derivative is not None
            and (product.derivative.funding_interval_s is not None)
        )

    async def _carry_out(self, plan: SweepPlan) -> None:
        if plan.cancel:
            await self.rest.request("DELETE", "/cfm/sweeps")
            self.sweeps_cancelled += 1
            log.warning("cfm: pending sweep cancelled: %s", plan.reason)
        if plan.schedule is not None:
            await self.rest.request(
                "POST",
                "/cfm/sweeps/schedule",
                body={"usd_amount": str(plan.schedule)},
                retry="unsent",  # a repeat could schedule a second sweep
            )
            self.sweeps_scheduled += 1
            log.info("cfm: sweep of %s USD to spot scheduled: %s", plan.schedule, plan.reason)
