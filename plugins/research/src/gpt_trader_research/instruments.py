"""Any instrument in a backtest: products described by the user, not by a venue.

Three places describe one, later ones winning: a ``products.toml`` beside the data (in the
data directory, the CSV's directory or the catalogue's root), the profile's ``[products]``
table, and ``--product "EUR-USD:price_increment=0.00001,base_increment=1,quote=USD"``.
A symbol none of them, the dev table nor a plugin's catalogue knows gets increments read off
the data (the most decimals its prices and volumes are written with), with a warning.

The products reach the ``sim`` broker as one more product catalogue (``register_products``)
on the backtest's plugin manager. A symbol the sim already knows cannot be redescribed: its
increments are the venue's. Live and sim runs never see these.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.components import ProductCatalogue
from gpt_trader.config import load_config
from gpt_trader.config.profiles import describe_validation_error
from gpt_trader.domain import Product
from gpt_trader.domain.bars import BarSeries
from gpt_trader.domain.money import currency_increment
from gpt_trader.errors import UserError
from gpt_trader.hookspecs import hookimpl
from gpt_trader.plugins import PluginManager
from gpt_trader.registry import Registry
from gpt_trader.sim.products import default_products
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gpt_trader_research import catalog

SIDECAR = "products.toml"
PLUGIN_NAME = "research.instruments"
UNLIMITED = Decimal(10) ** 15


class ProductSpec(BaseModel):
    """One instrument's terms; the quote defaults to the symbol's second part (EUR-USD)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price_increment: Decimal = Field(gt=0, allow_inf_nan=False)
    base_increment: Decimal = Field(gt=0, allow_inf_nan=False)
    quote: str | None = Field(None, min_length=1)
    base: str | None = Field(None, min_length=1)
    base_min_size: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    base_max_size: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    quote_increment: Decimal | None = Field(None, gt=0, allow_inf_nan=False)
    quote_min_size: Decimal | None = Field(None, ge=0, allow_inf_nan=False)

    def product(self, symbol: str) -> Product:
        first, _, rest = product_id(symbol).partition("-")
        quote = (self.quote or rest.split("-")[0]).upper()
        return Product(
            symbol=symbol,
            base=self.base or first,
            quote=quote,
            base_increment=self.base_increment,
            price_increment=self.price_increment,
            base_min_size=self.base_min_size or self.base_increment,
            base_max_size=self.base_max_size or UNLIMITED,
            quote_increment=self.quote_increment or currency_increment(quote),
            quote_min_size=Decimal(0) if self.quote_min_size is None else self.quote_min_size,
        )


KEYS = tuple(ProductSpec.model_fields)


def product_id(symbol: str) -> str:
    """``symbol`` when it has the form every profile's universe takes (``EUR-USD``)."""
    base, _, quote = symbol.partition("-")
    if not base or not quote or symbol.upper() != symbol:
        raise UserError(f"{symbol!r} is not a product id like 'BTC-USD' (or 'GOOG-USD')")
    return catalog.check_symbol(symbol)


def _spec(symbol: str, values: Mapping[str, Any], where: str) -> Product:
    unknown = [k for k in values if k not in KEYS]
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    try:
        spec = ProductSpec.model_validate({k: str(v) for k, v in values.items()})
    except ValidationError as exc:
        raise UserError(f"{where}: {describe_validation_error(exc)}") from None
    return spec.product(symbol)


def parse_flag(text: str) -> Product:
    """``EUR-USD:price_increment=0.00001,base_increment=1,quote=USD`` -> the Product."""
    symbol, sep, body = text.partition(":")
    where = f"--product {text!r}"
    if not sep or not symbol.strip():
        raise UserError(f"{where}: use SYMBOL:price_increment=...,base_increment=...[,quote=...]")
    values: dict[str, str] = {}
    for part in body.split(","):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise UserError(f"{where}: {part!r} is not key=value")
        values[key.strip()] = value.strip()
    return _spec(symbol.strip(), values, where)


def from_table(table: Mapping[str, Any], where: str) -> dict[str, Product]:
    """``{"EUR-USD": {"price_increment": ...}, ...}`` (a TOML table) -> Products."""
    out: dict[str, Product] = {}
    for symbol, values in table.items():
        if not isinstance(values, Mapping):
            raise UserError(f"{where}: [{symbol}] must be a table of keys ({', '.join(KEYS)})")
        out[symbol] = _spec(symbol, values, f"{where} [{symbol}]")
    return out


def sidecar_dir(data: Path | str) -> Path:
    """Where a ``products.toml`` for ``data`` lives."""
    if catalog.is_ref(data):
        return catalog.parse_ref(str(data))[0]
    path = Path(data).expanduser()
    return path if path.is_dir() else path.parent


def read_sidecar(data: Path | str) -> dict[str, Product]:
    path = sidecar_dir(data) / SIDECAR
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: {exc}") from None
    return from_table(table.get("products", table), str(path))


def described(
    flags: Sequence[str], profile: str | None, data: Path | str | None
) -> dict[str, Product]:
    """The products the user describes: sidecar, then the profile's ``[products]``, then
    ``--product`` flags, a later one replacing an earlier one of the same symbol."""
    out = read_sidecar(data) if data is not None else {}
    if profile:
        out.update(from_table(load_config(profile).products, f"profile {profile} [products]"))
    for text in flags:
        product = parse_flag(text)
        out[product.symbol] = product
    return out


def _decimals(texts: Iterable[str]) -> int:
    most = 0
    for t in texts:
        if "e" in t or "E" in t:
            most = max(most, -int(Decimal(t).as_tuple().exponent))
        else:
            most = max(most, len(t.partition(".")[2]))
    return most


def infer(symbol: str, series: BarSeries) -> Product:
    """Increments read off the bars: the finest decimals the prices (volumes) are written in."""
    prices = _decimals(v for row in series.raw for v in row[:4])
    sizes = _decimals(row[4] for row in series.raw)
    spec = ProductSpec(
        price_increment=Decimal(1).scaleb(-prices), base_increment=Decimal(1).scaleb(-sizes)
    )
    return spec.product(symbol)


def terms(product: Product) -> str:
    return (
        f"price_increment={product.price_increment},base_increment={product.base_increment},"
        f"quote={product.quote}"
    )


def _known(symbol: str, pm: PluginManager) -> bool:
    try:
        default_products([symbol], Registry(pm).catalogues())
    except UserError:
        return False
    return True


class _Catalogue:
    """The plugin that offers the described products to the sim broker."""

    def __init__(self, products: Mapping[str, Product]) -> None:
        self.products = dict(products)

    @hookimpl
    def register_products(self) -> Iterator[ProductCatalogue]:
        yield ProductCatalogue("described instruments", self.products.get, tuple(self.products))


def install(
    pm: PluginManager,
    products: Mapping[str, Product],
    bars: Mapping[str, BarSeries] | None = None,
) -> list[str]:
    """Offer ``products`` (and, inferred, any of ``bars``' symbols the sim does not know) to
    the backtest on ``pm``; returns the warnings to print, one line each."""
    for symbol in products:
        if _known(symbol, pm):
            raise UserError(
                f"{symbol} is a product the sim already knows; its increments are the "
                "venue's (describe only instruments it does not know)"
            )
    found = dict(products)
    warnings = []
    for symbol, series in (bars or {}).items():
        if symbol in found or _known(symbol, pm) or not len(series):
            continue
        found[symbol] = infer(symbol, series)
        warnings.append(
            f"{symbol}: no product description; increments inferred from the data "
            f"({terms(found[symbol])}); set them with --product {symbol}:..."
        )
    if found:
        if pm.get_plugin(PLUGIN_NAME) is not None:
            pm.unregister(name=PLUGIN_NAME)
        pm.register_plugin(_Catalogue(found), PLUGIN_NAME)
    return warnings
