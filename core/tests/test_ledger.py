"""P&L against hand-computed cases (average-cost method)."""

from decimal import Decimal as D

from gpt_trader.domain import Fill, Liquidity, Position, Side
from gpt_trader.engine.ledger import Ledger
from gpt_trader.sim.products import default_products


def fill(side: Side, price: str, size: str, fee: str = "0", n: int = 0) -> Fill:
    return Fill(
        f"t{n}-{side}-{price}-{size}",
        "c",
        "o",
        "BTC-USD",
        side,
        D(price),
        D(size),
        D(fee),
        Liquidity.TAKER,
        n,
    )


def test_long_round_trip_realises_price_difference_times_size() -> None:
    pos = Position("BTC-USD")
    assert pos.apply(fill(Side.BUY, "100", "2")) == 0
    assert pos.apply(fill(Side.BUY, "110", "2")) == 0
    assert pos.avg_entry_price == D("105")
    # sell 3 at 120: (120 - 105) * 3 = 45
    assert pos.apply(fill(Side.SELL, "120", "3")) == D("45")
    assert pos.size == D("1")
    assert pos.avg_entry_price == D("105")
    pos.mark_price = D("100")
    assert pos.unrealized_pnl == D("-5")
    assert pos.apply(fill(Side.SELL, "90", "1")) == D("-15")
    assert pos.is_flat
    assert pos.realized_pnl == D("30")


def test_short_and_flip_through_zero() -> None:
    pos = Position("BTC-USD")
    pos.apply(fill(Side.SELL, "200", "1"))
    assert pos.size == D("-1")
    # buy 3 at 150: closes the short for +50, opens 2 long at 150
    assert pos.apply(fill(Side.BUY, "150", "3")) == D("50")
    assert pos.size == D("2")
    assert pos.avg_entry_price == D("150")


def test_ledger_cash_fees_and_closed_trades() -> None:
    products = default_products(["BTC-USD"])
    ledger = Ledger(products, D("1000"))
    ledger.apply_fill(fill(Side.BUY, "100", "2", fee="1.20", n=1))
    assert ledger.cash == D("1000") - D("200") - D("1.20")
    ledger.mark("BTC-USD", D("110"))
    assert ledger.equity == D("798.80") + D("220")
    ledger.apply_fill(fill(Side.SELL, "110", "2", fee="1.32", n=2))
    assert ledger.cash == D("798.80") + D("220") - D("1.32")
    assert ledger.realized_pnl == D("20")
    assert ledger.fees == D("2.52")
    # one round trip: +20 realised - 2.52 fees
    assert ledger.closed_trades["BTC-USD"] == [D("17.48")]
