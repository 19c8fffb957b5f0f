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
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader.domain import Balance, Position, money
from gpt_trader.errors import UserError

from gpt_trader_coinbase.convert import WireError, ident, objects
from gpt_trader_coinbase.derivatives.broker import DerivativesBroker, DerivativesConfig
from gpt_trader_coinbase.derivatives.convert import FCM, cfm_position, funding_due, wire_money
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
        self._pool = ZERO  # cfm_usd_balance at the last read
        self._sweep_ids: frozenset[str] = frozenset()
        # pool cash - kernel cash at the last quiet read, and the pending sweeps then
        self._gap: Decimal | None = None
        self._gap_sweeps: frozenset[str] = frozenset()
        # The last read's pool stood still across its position read (see take_funding).
        self._pool_still = False

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
        universe = self.config.universe
        # A resting order may fill between the position read and the pool read (two
        # replies): the pool read before as well tells whether anything moved meanwhile.
        resting = any(self.in_flight(s) for s in universe) and not any(
            self.in_flight(s, resting=False) for s in universe
        )
        before = await self.balance_summary() if resting else None
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
        self._pool = wire_money(summary, "cfm_usd_balance")
        self._pool_still = before is not None and self._pool == wire_money(
            before, "cfm_usd_balance"
        )
        self._sweep_ids = frozenset(ident(s, "id") for s in pending)
        await self._apply_sweep_rule(summary, pending)
        return out

    async def _apply_sweep_rule(
        self, summary: Mapping[str, Any], pending: list[Mapping[str, Any]]
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

    def take_funding(self, positions: list[Position]) -> None:
        """Funding of perp-style futures, read off the pool: CFM positions carry no P&L
        breakdown, but the pool's cash moves only by what the kernel books from fills,
        by funding, and by sweeps and transfers. Between two quiet reads with a funding
        time between them and no sweep moving, the pool's move beyond the kernel's cash
        is that funding (split by the rate's estimate when several positions pay)."""
        listener = self._listener
        cash = getattr(listener, "cash", None)
        mine = getattr(listener, "positions", None)
        if not isinstance(cash, Decimal) or not isinstance(mine, Mapping):
            return
        universe = self.config.universe
        if any(self.in_flight(s, resting=False) for s in universe):
            return
        if not self._pool_still and any(self.in_flight(s) for s in universe):
            return  # a resting order, and no proof the pool stood still over the read
        venue = {p.symbol: p.size for p in positions}
        for symbol in {*venue, *universe}:
            held = mine.get(symbol)
            if (held.size if held is not None else ZERO) != venue.get(symbol, ZERO):
                return  # a fill the kernel has not had yet
        # The pool settles in cents, within half a cent of exact books; the kernel keeps its
        # cash exact. Their gap, to the cent, is what moved the pool beyond the fills.
        gap = money.quantize(self._pool - cash, money.CENT)
        previous, self._gap = self._gap, gap
        sweeps_moved = self._sweep_ids != self._gap_sweeps
        self._gap_sweeps = self._sweep_ids
        due = self._due(positions, baseline=previous is None or sweeps_moved)
        if previous is None or sweeps_moved:
            return
        delta = gap - previous
        if not due:
            if delta:
                log.warning("cfm: the pool moved by %s USD outside fills and funding", delta)
            return
        if not delta:
            # Not paid yet, for a position still open: the next read books it. One closed
            # since paid nothing: it was gone by the funding time.
            open_now = {p.symbol for p in positions}
            for pos, through in due:
                if pos.symbol not in open_now:
                    self.funded_through_now(pos.symbol, through)
            return
        for (pos, through), amount in zip(due, self._split(delta, due), strict=True):
            self.book_funding(pos, through, amount)
        self._gap = previous  # the kernel's cash now includes it

    def _due(self, positions: list[Position], *, baseline: bool) -> list[tuple[Position, int]]:
        """The positions whose funding time passed unbooked, with that time: those open
        now, and those closed since that were held at some moment after their last
        booking (the pool's move may be theirs). On a baseline read every funding time
        so far counts as booked."""
        open_now = {p.symbol: p for p in positions}
        due: list[tuple[Position, int]] = []
        for symbol in self.config.universe:
            if not self._has_funding(symbol):
                continue
            through = self.last_funding_ts(symbol) or 0
            pos = open_now.get(symbol)
            if pos is None and symbol not in self.funded_through:
                continue  # never held in this run: nothing to book against
            if symbol not in self.funded_through or baseline:
                self.funded_through_now(symbol, through)  # a baseline, not a payment
            elif through > self.funded_through[symbol]:
                if pos is not None:
                    due.append((pos, through))
                elif symbol in self.exposed:
                    due.append((self.last_held.get(symbol) or Position(symbol), through))
                else:
                    self.funded_through_now(symbol, through)  # flat all along
        return due

    def _has_funding(self, symbol: str) -> bool:
        product = self._products.get(symbol)
        return (
            product is not None
            and product.derivative is not None
            and (product.derivative.funding_interval_s is not None)
        )

    def _split(self, delta: Decimal, due: list[tuple[Position, int]]) -> list[Decimal]:
        """``delta`` in cents over the paying positions, by their share of the estimate."""
        weights = []
        for pos, _through in due:
            rate, _next = funding_due(self._raw_products.get(pos.symbol) or {})
            weights.append(abs(pos.size * pos.contract_size * pos.mark_price * rate))
        total = sum(weights, ZERO)
        if len(due) == 1 or total == 0:
            return [delta] + [ZERO] * (len(due) - 1)
        parts = [(delta * w / total).quantize(CENT) for w in weights]
        parts[weights.index(max(weights))] += delta - sum(parts, ZERO)
        return parts

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
