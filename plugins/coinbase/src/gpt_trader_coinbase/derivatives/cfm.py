"""``coinbase.cfm``: US-regulated futures (Coinbase Financial Markets) over Advanced Trade.

Cash is the CFM pool (``cfm_usd_balance``), funded apart from spot USD: Coinbase does not
sweep spot USD into futures for API orders. CFM positions carry no liquidation price on
the wire; it is derived from the balance summary's liquidation buffer (equity above the
maintenance requirement): a position's mark may move ``buffer / (contracts * size)``
against it, others held, before the account is liquidated.

The sweep rule (``sweep_floor``): a pending CFM -> spot sweep that would leave less than
the floor above the initial margin is cancelled; with ``sweep_excess_above`` set, the
broker itself schedules a sweep of what lies above floor + margin once it exceeds that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader.domain import Balance, Position
from gpt_trader.errors import UserError

from gpt_trader_coinbase.derivatives.broker import DerivativesBroker, DerivativesConfig
from gpt_trader_coinbase.derivatives.convert import FCM, cfm_position, money_of
from gpt_trader_coinbase.derivatives.sweeps import SweepPlan, plan_sweep
from gpt_trader_coinbase.rest import RestError

log = logging.getLogger("gpt_trader_coinbase.cfm")
ZERO = Decimal(0)


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
            raise ValueError("cfm balance_summary: no balance_summary object in the reply")
        return summary

    async def balances(self) -> list[Balance]:
        s = await self.balance_summary()
        total = money_of(s.get("cfm_usd_balance"), "cfm_usd_balance")
        available = money_of(s.get("futures_buying_power"), "futures_buying_power")
        return [Balance("USD", total, min(total, available))]

    async def venue_positions(self) -> list[Position]:
        reply = await self.rest.get("/cfm/positions")
        summary = await self.balance_summary()
        buffer = money_of(summary.get("liquidation_buffer_amount"), "liquidation_buffer_amount")
        out = []
        for raw in reply.get("positions") or []:
            symbol = str(raw.get("product_id", ""))
            product = self._products.get(symbol)
            contract = product.contract_size if product is not None else Decimal(1)
            pos = cfm_position(raw, contract)
            if pos.size == 0:
                continue
            move = buffer / (abs(pos.size) * contract)
            pos.liquidation_price = pos.mark_price - move if pos.size > 0 else pos.mark_price + move
            if pos.liquidation_price <= 0:
                pos.liquidation_price = None
            out.append(pos)
        await self._apply_sweep_rule(summary)
        return out

    async def _apply_sweep_rule(self, summary: Mapping[str, Any]) -> None:
        floor = self.config.sweep_floor
        if floor is None:
            return
        reply = await self.rest.get("/cfm/sweeps")
        plan = plan_sweep(
            balance=money_of(summary.get("cfm_usd_balance"), "cfm_usd_balance"),
            initial_margin=money_of(summary.get("initial_margin"), "initial_margin"),
            pending=[s for s in reply.get("sweeps") or [] if isinstance(s, Mapping)],
            floor=floor,
            excess_above=self.config.sweep_excess_above,
        )
        await self._carry_out(plan)

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
