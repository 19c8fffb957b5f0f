"""The dev universe's products and market profiles."""

from __future__ import annotations

from decimal import Decimal

import pytest
from gpt_trader.errors import UserError
from gpt_trader.sim.products import DEV_UNIVERSE, default_products, market_profile


def test_dev_universe_has_ten_usd_products_with_coinbase_increments() -> None:
    products = default_products()
    assert list(products) == [
        "BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "LTC-USD",
        "ADA-USD", "DOGE-USD", "BCH-USD", "AVAX-USD", "LINK-USD",
    ]  # fmt: skip
    btc = products["BTC-USD"]
    assert (btc.base, btc.quote) == ("BTC", "USD")
    assert btc.base_increment == Decimal("0.00000001")
    assert btc.price_increment == Decimal("0.01")
    assert btc.base_min_size == Decimal("0.00000001")
    assert btc.base_max_size == Decimal("3400")
    doge = products["DOGE-USD"]
    assert (doge.price_increment, doge.base_increment) == (Decimal("0.00001"), Decimal("0.1"))


@pytest.mark.parametrize("symbol", DEV_UNIVERSE)
def test_profiles_are_realistic_and_on_the_tick_grid(symbol: str) -> None:
    product = default_products([symbol])[symbol]
    profile = market_profile(symbol)
    assert product.price_error(profile.start_price) is None
    assert 0.3 < profile.annual_vol < 1.5
    assert profile.daily_volume_usd > 0


def test_btc_profile_matches_the_brief() -> None:
    profile = market_profile("BTC-USD")
    assert (profile.start_price, profile.annual_vol) == (Decimal("100000.00"), 0.55)


def test_subset_keeps_the_given_order() -> None:
    assert list(default_products(["SOL-USD", "BTC-USD"])) == ["SOL-USD", "BTC-USD"]


@pytest.mark.parametrize("symbol", ["DOT-USD", "BTC-EUR", "BTCUSD"])
def test_unknown_symbol_is_a_one_line_user_error_listing_the_known(symbol: str) -> None:
    with pytest.raises(UserError) as err:
        default_products(["BTC-USD", symbol])
    message = str(err.value)
    assert "\n" not in message
    assert repr(symbol) in message
    assert "BTC-USD, ETH-USD" in message
    assert "LINK-USD" in message
