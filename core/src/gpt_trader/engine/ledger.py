"""Positions, cash and P&L derived from fills: the kernel's books."""

from __future__ import annotations

from decimal import Decimal

from gpt_trader.domain import (
    Fill,
    FundingPayment,
    InventoryAdjustment,
    Position,
    Product,
    ProductType,
    Side,
)

ZERO = Decimal(0)


class Ledger:
    """Cash in the quote currency plus one Position per symbol, moved only by fills."""

    def __init__(self, products: dict[str, Product], cash: Decimal) -> None:
        self.products = products
        self.cash = cash
        self.starting_equity = cash
        self.positions: dict[str, Position] = {
            s: Position(s, contract_size=p.contract_size) for s, p in products.items()
        }
        self.peak_equity = cash
        self.closed_trades: dict[str, list[Decimal]] = {s: [] for s in products}
        self._open_trade_pnl: dict[str, Decimal] = {s: ZERO for s in products}

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol)
            self.closed_trades[symbol] = []
            self._open_trade_pnl[symbol] = ZERO
        return pos

    def _margined(self, symbol: str) -> bool:
        product = self.products.get(symbol)
        return product is not None and product.product_type is not ProductType.SPOT

    def apply_fill(self, fill: Fill) -> Decimal:
        """Move cash and the position; returns realised P&L (before fees).

        Spot exchanges the notional. A future or perpetual is margined: no notional
        changes hands, cash moves by the realised P&L and the fee only.
        """
        pos = self.position(fill.symbol)
        was_flat = pos.size == 0
        realized = pos.apply(fill)
        if self._margined(fill.symbol):
            self.cash += realized - fill.fee
        elif fill.side is Side.BUY:
            self.cash -= fill.price * fill.size * pos.contract_size + fill.fee
        else:
            self.cash += fill.price * fill.size * pos.contract_size - fill.fee
        # A round trip's result (realised minus every fee on the way) feeds the Kelly sizer.
        trade = self._open_trade_pnl[fill.symbol] if not was_flat else ZERO
        trade += realized - fill.fee
        if pos.size == 0:
            self.closed_trades[fill.symbol].append(trade)
            trade = ZERO
        self._open_trade_pnl[fill.symbol] = trade
        return realized

    def rebuild(self, fills: list[Fill], adjustments: list[InventoryAdjustment]) -> None:
        """Positions from recorded fills and inventory adjustments, in time order (a fill
        before an adjustment of the same instant). Cash is left alone: the venue's
        balances are its truth."""
        steps: list[tuple[int, int, Fill | InventoryAdjustment]] = [(f.ts, 0, f) for f in fills]
        steps += [(a.ts, 1, a) for a in adjustments]
        steps.sort(key=lambda step: (step[0], step[1]))
        for _, _, item in steps:
            pos = self.position(item.symbol)
            if isinstance(item, Fill):
                pos.apply(item)
            else:
                pos.adjust(item)

    def apply_funding(self, payment: FundingPayment) -> None:
        self.position(payment.symbol).funding += payment.amount
        self.cash += payment.amount

    def mark(self, symbol: str, price: Decimal) -> None:
        pos = self.positions.get(symbol)
        if pos is not None:
            pos.mark_price = price

    @property
    def equity(self) -> Decimal:
        """Cash plus spot holdings at the mark plus the unrealised P&L of margined ones."""
        value = self.cash
        for symbol, pos in self.positions.items():
            if pos.size:
                if self._margined(symbol):
                    value += pos.unrealized_pnl
                else:
                    value += pos.size * pos.mark_price * pos.contract_size
        return value

    def update_peak(self) -> Decimal:
        eq = self.equity
        if eq > self.peak_equity:
            self.peak_equity = eq
        return eq

    @property
    def realized_pnl(self) -> Decimal:
        return sum((p.realized_pnl for p in self.positions.values()), ZERO)

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((p.unrealized_pnl for p in self.positions.values()), ZERO)

    @property
    def funding(self) -> Decimal:
        return sum((p.funding for p in self.positions.values()), ZERO)

    @property
    def fees(self) -> Decimal:
        return sum((p.fees for p in self.positions.values()), ZERO)
