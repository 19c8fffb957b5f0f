"""Any instrument: ``--product``, a profile's ``[products]``, a ``products.toml`` beside
the data, or increments inferred from the bars; backtesting.py's own EURUSD and GOOG data
sets trade as backtesting.py trades them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from gpt_trader.errors import UserError
from gpt_trader.plugins import make_plugin_manager
from gpt_trader_research.engine import load_series
from gpt_trader_research.instruments import described, infer, install, parse_flag
from research_support import assert_same_trades, backtesting_py, sma_cross_strategy

backtesting = pytest.importorskip("backtesting")

EURUSD = "EUR-USD:price_increment=0.00001,base_increment=1,quote=USD"
GOOG = "GOOG-USD:price_increment=0.01,base_increment=1"


def _export(name: str, tmp_path: Path) -> Path:
    """backtesting.py's own data set as a CSV (its index is the bar time)."""
    from backtesting import test as data

    frame = getattr(data, name)
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index_label="timestamp")
    return path


def _trips(trades: list[dict[str, object]]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            entry_bar=t["entry_bar"],
            exit_bar=t["exit_bar"],
            entry_price=Decimal(str(t["entry_price"])),
            exit_price=Decimal(str(t["exit_price"])),
        )
        for t in trades
    ]


@pytest.mark.parametrize(
    ("name", "symbol", "product", "count"),
    [("EURUSD", "EUR-USD", EURUSD, 83), ("GOOG", "GOOG-USD", GOOG, 32)],
)
def test_backtesting_py_data_sets_trade_alike(  # type: ignore[no-untyped-def]
    run_main, tmp_path: Path, name: str, symbol: str, product: str, count: int
) -> None:
    csv = _export(name, tmp_path)
    code, out, err = run_main(
        "backtest", "--data", str(csv), "--symbol", symbol, "--product", product,
        "--signal", "sma_cross:fast=10,slow=30", "--fee-bps", "10", "--cash", "1000000",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "warning" not in err
    result = json.loads(out)
    ours = [t for t in result["trades"] if not t["open"]]
    assert len(ours) == count
    # a position still open at the end is no trade in backtesting.py's list either
    assert len(result["trades"]) - count <= 1
    series = load_series(csv, symbol)
    stats = backtesting_py(series, sma_cross_strategy(series), Decimal(10), Decimal(1_000_000))
    assert_same_trades(_trips(ours), stats["_trades"])
    # whole units at the product's increment: an EUR-USD price has five decimals
    assert all(float(t["size"]).is_integer() for t in ours)


def test_increments_inferred_with_a_warning(run_main, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = _export("EURUSD", tmp_path)
    code, out, err = run_main(
        "backtest", "--data", str(csv), "--symbol", "EUR-USD", "--signal", "sma_cross", "--json"
    )
    assert code == 0, err
    assert err.strip().splitlines() == [
        "warning: EUR-USD: no product description; increments inferred from the data "
        "(price_increment=0.00001,base_increment=1,quote=USD); set them with --product EUR-USD:..."
    ]
    assert json.loads(out)["trades"]
    assert infer("X-USD", load_series(_export("GOOG", tmp_path), "X-USD")).price_increment == (
        Decimal("0.01")
    )


def test_sidecar_and_profile_describe_products(tmp_path: Path) -> None:
    data = tmp_path / "fx"
    data.mkdir()
    (data / "products.toml").write_text(
        '[EUR-USD]\nprice_increment = "0.0001"\nbase_increment = "1"\n'
        "[GBP-USD]\nprice_increment = 0.00001\nbase_increment = 1000\n"
    )
    profile = tmp_path / "fx.toml"
    profile.write_text(
        '[profile]\nname = "fx"\n[[signals]]\nuse = "sma_cross"\n'
        '[products.EUR-USD]\nprice_increment = "0.00001"\nbase_increment = "1"\n'
    )
    products = described([], None, data / "EURUSD.csv")
    assert products["EUR-USD"].price_increment == Decimal("0.0001")
    assert products["GBP-USD"].base_increment == Decimal(1000)
    assert products["GBP-USD"].quote == "USD"
    with_profile = described([], str(profile), data)
    assert with_profile["EUR-USD"].price_increment == Decimal("0.00001")  # the profile wins
    flagged = described(["EUR-USD:price_increment=0.001,base_increment=1"], str(profile), data)
    assert flagged["EUR-USD"].price_increment == Decimal("0.001")  # and --product over both


def test_backtest_with_a_sidecar(run_main, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = _export("EURUSD", tmp_path)
    (tmp_path / "products.toml").write_text(
        '[EUR-USD]\nprice_increment = "0.00001"\nbase_increment = "1000"\n'
    )
    code, out, err = run_main(
        "backtest", "--data", str(csv), "--symbol", "EUR-USD", "--signal", "sma_cross", "--json"
    )
    assert code == 0, err
    assert not err
    sizes = [Decimal(t["size"]) for t in json.loads(out)["trades"]]
    assert sizes
    assert all(s % 1000 == 0 for s in sizes)  # the sidecar's base increment


def test_a_known_product_cannot_be_redescribed() -> None:
    pm = make_plugin_manager()
    with pytest.raises(UserError, match="BTC-USD is a product the sim already knows"):
        install(pm, {"BTC-USD": parse_flag("BTC-USD:price_increment=1,base_increment=1")})


BAD_PRODUCTS = [
    ("EUR-USD:price_increment=0.00001,base_incremen=1", "unknown key 'base_incremen'"),
    ("EUR-USD:price_increment=abc,base_increment=1", "price_increment"),
    (
        "EUR-USD:price_increment=0,base_increment=1",
        "price_increment: Input should be greater than 0",
    ),
    ("EUR-USD:price_increment=NaN,base_increment=1", "price_increment"),
    ("EUR-USD:price_increment=0.00001", "base_increment"),
    ("EUR-USD", "use SYMBOL:price_increment="),
    ("EUR-USD:price_increment", "'price_increment' is not key=value"),
    ("EURUSD:price_increment=0.00001,base_increment=1", "'EURUSD' is not a product id"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_PRODUCTS)
def test_bad_product_flag(run_main, sample: Path, spec: str, message: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_main(
        "backtest", "--data", str(sample), "--symbol", "EUR-USD", "--signal", "sma_cross",
        "--product", spec,
    )  # fmt: skip
    assert code == 2
    assert message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not out
