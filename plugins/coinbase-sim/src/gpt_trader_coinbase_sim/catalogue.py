"""Coinbase's derivative products as the simulator lists them: CFM futures and INTX
perpetuals, recognised by their product ids.

Three families:

* CFM monthly futures ``{CODE}-{DD}{MON}{YY}-CDE`` (``BIT-28NOV26-CDE`` = nano Bitcoin,
  0.01 BTC a contract; ``ET-...`` = nano Ether, 0.1 ETH). Product type FUTURE,
  ``contract_expiry_type`` EXPIRING, expiry at 15:00 UTC on the date in the id, sizes in
  whole contracts, margin from per-product intraday and overnight rates (long/short).
* CFM "perp-style" futures ``BIP-20DEC30-CDE`` / ``ETP-20DEC30-CDE``: EXPIRING with a far
  expiry (16:00 UTC) and an hourly funding rate, as Coinbase lists them.
* INTX perpetuals ``BTC-PERP-INTX``, ``ETH-PERP-INTX``, ``SOL-PERP-INTX``: product type
  PERPETUAL, quote USDC, sizes in the base asset (contract size 1), funding every hour,
  margin = notional / leverage with a per-product maximum leverage.

Everything the core exchange margins by rides on the product
(``Product.derivative``: :class:`~gpt_trader.domain.DerivativeTerms`): CFM products trade
against the ``"FCM"`` pool (USD) and follow :data:`CFM_SCHEDULE`, INTX ones against the
``"INTX"`` pool (USDC) with one set of rates. What only the REST answers show (display
name, contract code, group description) is a :class:`Listing`.

CFM margin windows: Coinbase's intraday window is 08:00-16:00 ET on weekdays. We use the
fixed UTC window **13:00-20:00 UTC, Monday to Friday** (:data:`CFM_SCHEDULE`): the part of
08:00-16:00 ET that is intraday in both winter (UTC-5) and summer (UTC-4) time, so it is
never more generous than the venue. Saturdays and Sundays (UTC) are the WEEKEND window,
every other time OVERNIGHT; both use the overnight rates. Intraday rates apply only to an
account that opted in (``INTRADAY_MARGIN_SETTING_INTRADAY``).

All numbers are round, documented figures close to Coinbase's (the BIP rates are those of
the shared sample), not live values. The catalogue reaches the core ``sim`` broker through
the ``register_products`` hook (:mod:`gpt_trader_coinbase_sim.plugin`).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from gpt_trader.components import ProductCatalogue
from gpt_trader.domain import (
    DerivativeTerms,
    ExpiryType,
    MarginRates,
    MarginSchedule,
    MarginType,
    Product,
    ProductType,
)
from gpt_trader.domain.margin_schedule import MarginWindow
from gpt_trader.errors import UserError
from gpt_trader.sim import DerivativesConfig, default_terms

D = Decimal
NS = 1_000_000_000
HOUR_S = 3600
DAY_S = 86_400
FCM = "FCM"
INTX = "INTX"
POOL_CURRENCIES = {FCM: "USD", INTX: "USDC"}
CFM_SCHEDULE = MarginSchedule(intraday_start_s=13 * HOUR_S, intraday_end_s=20 * HOUR_S)


class IntradaySetting(StrEnum):
    STANDARD = "INTRADAY_MARGIN_SETTING_STANDARD"
    INTRADAY = "INTRADAY_MARGIN_SETTING_INTRADAY"


def wire_window(window: MarginWindow) -> str:
    """Coinbase's ``margin_window_type`` for a window (``FCM_MARGIN_WINDOW_TYPE_...``)."""
    return f"FCM_MARGIN_WINDOW_TYPE_{window.value}"


@dataclass(frozen=True, slots=True)
class Listing:
    """A derivative product as the REST answers describe it: its margin terms plus the
    display fields. ``account`` is the pool (``"FCM"`` or ``"INTX"``)."""

    symbol: str
    venue: str
    contract_code: str
    root: str
    display_name: str
    group_description: str
    terms: DerivativeTerms

    @property
    def account(self) -> str:
        return self.terms.pool


# -- the catalogue -------------------------------------------------------------------------

# code: root, contract size, price increment, perp-style, intraday (long, short),
#       overnight (long, short), display
_CFM: dict[str, tuple[str, str, str, bool, tuple[str, str], tuple[str, str], str]] = {
    "BIT": ("BTC", "0.01", "5", False, ("0.10", "0.10"), ("0.25", "0.30"), "nano Bitcoin"),
    "ET": ("ETH", "0.1", "0.5", False, ("0.12", "0.12"), ("0.30", "0.35"), "nano Ether"),
    "BIP": (
        "BTC",
        "0.01",
        "5",
        True,
        ("0.1000185", "0.1000008"),
        ("0.245625", "0.306375"),
        "nano BTC Perp",
    ),
    "ETP": ("ETH", "0.1", "0.5", True, ("0.12", "0.12"), ("0.30", "0.35"), "nano ETH Perp"),
}
_CFM_FUNDING_RATE = D("0.000013")
_CFM_MAX_SIZE = D(5000)

# root: base increment, price increment, max leverage, funding rate per hour
_INTX: dict[str, tuple[str, str, str, str]] = {
    "BTC": ("0.0001", "0.1", "20", "0.00001"),
    "ETH": ("0.001", "0.01", "20", "0.00001"),
    "SOL": ("0.01", "0.01", "10", "0.00002"),
}
_INTX_MAX_SIZE = D(1000)

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_CFM_ID = re.compile(r"^(?P<code>[A-Z]+)-(?P<dd>\d{2})(?P<mon>[A-Z]{3})(?P<yy>\d{2})-CDE$")
_INTX_ID = re.compile(r"^(?P<root>[A-Z]+)-PERP-INTX$")

DERIVATIVE_EXAMPLES = ("BIT-28NOV26-CDE", "BIP-20DEC30-CDE", "BTC-PERP-INTX", "ETH-PERP-INTX")


def _ts(year: int, month: int, day: int, hour: int) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp()) * NS


def _cfm(symbol: str) -> tuple[Listing, Product] | None:
    m = _CFM_ID.match(symbol)
    if m is None or m["code"] not in _CFM or m["mon"] not in _MONTHS:
        return None
    root, size, tick, perp, intra, over, desc = _CFM[m["code"]]
    try:
        expiry = _ts(2000 + int(m["yy"]), _MONTHS[m["mon"]], int(m["dd"]), 16 if perp else 15)
    except ValueError:
        return None  # 31FEB and friends
    intraday = MarginRates(D(intra[0]), D(intra[1]))
    terms = DerivativeTerms(
        pool=FCM,
        intraday=intraday,
        overnight=MarginRates(D(over[0]), D(over[1])),
        # 1 / the lowest intraday rate, rounded down: the most a CFM account can get
        max_leverage=(1 / min(intraday.long, intraday.short)).to_integral_value(
            rounding=ROUND_FLOOR
        ),
        default_leverage=None,
        margin_types=(MarginType.CROSS,),
        expiry_ts=expiry,
        expiry_type=ExpiryType.EXPIRING,
        funding_interval_s=HOUR_S if perp else None,
        funding_rate=_CFM_FUNDING_RATE if perp else D(0),
        schedule=CFM_SCHEDULE,
    )
    listing = Listing(
        symbol=symbol,
        venue="cde",
        contract_code=m["code"],
        root=root,
        display_name=f"{root} PERP" if perp else f"{root} {m['dd']} {m['mon']} {m['yy']}",
        group_description=f"{desc} Futures",
        terms=terms,
    )
    product = Product(
        symbol=symbol,
        base=root,
        quote="USD",
        base_increment=D(1),
        price_increment=D(tick),
        base_min_size=D(1),
        base_max_size=_CFM_MAX_SIZE,
        quote_increment=D("0.01"),
        quote_min_size=D(0),
        product_type=ProductType.FUTURE,
        contract_size=D(size),
        derivative=terms,
    )
    return listing, product


def _intx(symbol: str) -> tuple[Listing, Product] | None:
    m = _INTX_ID.match(symbol)
    if m is None or m["root"] not in _INTX:
        return None
    root = m["root"]
    base_inc, tick, max_lev, funding = _INTX[root]
    rate = 1 / D(max_lev)
    terms = DerivativeTerms(
        pool=INTX,
        intraday=MarginRates(rate, rate),
        overnight=MarginRates(rate, rate),
        max_leverage=D(max_lev),
        default_leverage=D(1),
        margin_types=(MarginType.CROSS, MarginType.ISOLATED),
        expiry_ts=None,
        expiry_type=ExpiryType.PERPETUAL,
        funding_interval_s=HOUR_S,
        funding_rate=D(funding),
    )
    listing = Listing(
        symbol=symbol,
        venue="intx",
        contract_code=f"{root}-PERP",
        root=root,
        display_name=f"{root} PERP",
        group_description=f"{root} Perpetual",
        terms=terms,
    )
    product = Product(
        symbol=symbol,
        base=root,
        quote="USDC",
        base_increment=D(base_inc),
        price_increment=D(tick),
        base_min_size=D(base_inc),
        base_max_size=_INTX_MAX_SIZE,
        quote_increment=D("0.01"),
        quote_min_size=D(1),
        product_type=ProductType.PERPETUAL,
        contract_size=D(1),
        derivative=terms,
    )
    return listing, product


def _lookup(symbol: str) -> tuple[Listing, Product] | None:
    return _cfm(symbol) or _intx(symbol)


def product(symbol: str) -> Product | None:
    """The catalogue product of ``symbol``, or None when the id is not one of ours."""
    found = _lookup(symbol)
    return None if found is None else found[1]


def listing(p: Product) -> Listing:
    """How the REST answers show a derivative product: the catalogue's listing, or for a
    product the catalogue does not know, one made of its own terms and symbol."""
    found = _lookup(p.symbol)
    if found is not None:
        return found[0]
    terms = p.derivative or default_terms(p)
    perpetual = terms.expiry_type is ExpiryType.PERPETUAL
    return Listing(
        symbol=p.symbol,
        venue="intx" if terms.pool == INTX else "cde",
        contract_code=p.symbol if perpetual else p.base,
        root=p.base,
        display_name=p.symbol,
        group_description=p.symbol,
        terms=terms,
    )


def _unknown(symbol: str) -> UserError:
    return UserError(
        f"unknown sim derivative {symbol!r}; known forms: "
        + ", ".join(DERIVATIVE_EXAMPLES)
        + f" (CFM codes {', '.join(_CFM)}; INTX roots {', '.join(_INTX)})"
    )


def derivative_listing(symbol: str) -> Listing:
    """The listing of a catalogue symbol; :class:`UserError` when the symbol is not one."""
    found = _lookup(symbol)
    if found is None:
        raise _unknown(symbol)
    return found[0]


def derivatives_products(symbols: Iterable[str]) -> dict[str, Product]:
    """Products for derivative ``symbols``, keyed by symbol, in the given order."""
    out: dict[str, Product] = {}
    for symbol in symbols:
        found = product(symbol)
        if found is None:
            raise _unknown(symbol)
        out[symbol] = found
    return out


def derivatives_config(
    futures_cash: Decimal, perps_cash: Decimal, *, intraday_margin: bool = False
) -> DerivativesConfig:
    """The core exchange's settings for a Coinbase account: the CFM pool (USD) and the INTX
    pool (USDC), each funded separately from the spot wallets."""
    return DerivativesConfig(
        pools={FCM: futures_cash, INTX: perps_cash},
        currencies=POOL_CURRENCIES,
        intraday_margin=intraday_margin,
    )


def last_friday(year: int, month: int) -> int:
    """Day of the month of the last Friday."""
    last = calendar.monthrange(year, month)[1]
    weekday = calendar.weekday(year, month, last)  # Monday = 0
    return last - (weekday - calendar.FRIDAY) % 7


def next_expiry_symbol(code: str, ts: int, *, min_days: int = 7) -> str:
    """The first monthly CFM contract of ``code`` (e.g. ``"BIT"``) expiring on the last
    Friday of a month at least ``min_days`` after ``ts``, e.g. ``"BIT-25DEC26-CDE"``."""
    if code not in _CFM:
        raise UserError(f"unknown CFM contract code {code!r}; known: {', '.join(_CFM)}")
    when = datetime.fromtimestamp(ts // NS + min_days * DAY_S, UTC)
    year, month = when.year, when.month
    for _ in range(3):
        day = last_friday(year, month)
        if _ts(year, month, day, 15) > ts + min_days * DAY_S * NS:
            mon = calendar.month_abbr[month].upper()
            return f"{code}-{day:02d}{mon}{year % 100:02d}-CDE"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable")  # pragma: no cover


CATALOGUE = ProductCatalogue("coinbase", lookup=product, examples=DERIVATIVE_EXAMPLES)
"""What the ``register_products`` hook contributes."""
