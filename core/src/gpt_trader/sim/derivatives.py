"""Derivative products of the simulator: Coinbase CFM futures and INTX perpetuals.

Three families, recognised by their Coinbase product ids:

* CFM monthly futures ``{CODE}-{DD}{MON}{YY}-CDE`` (``BIT-28NOV26-CDE`` = nano Bitcoin,
  0.01 BTC a contract; ``ET-...`` = nano Ether, 0.1 ETH). Product type FUTURE,
  ``contract_expiry_type`` EXPIRING, expiry at 15:00 UTC on the date in the id, sizes in
  whole contracts, margin from per-product intraday and overnight rates (long/short).
* CFM "perp-style" futures ``BIP-20DEC30-CDE`` / ``ETP-20DEC30-CDE``: EXPIRING with a far
  expiry (16:00 UTC) and an hourly funding rate, as Coinbase lists them.
* INTX perpetuals ``BTC-PERP-INTX``, ``ETH-PERP-INTX``, ``SOL-PERP-INTX``: product type
  PERPETUAL, quote USDC, sizes in the base asset (contract size 1), funding every hour,
  margin = notional / leverage with a per-product maximum leverage.

The domain :class:`~gpt_trader.domain.Product` carries only ``product_type`` and
``contract_size``; everything else a margin model needs (expiry, rates, funding, leverage
cap, margin types) is in :class:`DerivativeSpec`, looked up by symbol with
:func:`derivative_spec`.

Margin windows (CFM): :mod:`gpt_trader.domain.margin_windows`. Intraday rates apply only
to an account that opted in (``INTRADAY_MARGIN_SETTING_INTRADAY``).

All numbers are round, documented figures close to Coinbase's (the BIP rates are those of
the shared sample), not live values.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from gpt_trader.domain import DerivativeTerms, MarginType, Product, ProductType
from gpt_trader.errors import UserError

D = Decimal
NS = 1_000_000_000
HOUR_S = 3600
DAY_S = 86_400
HALF = Decimal("0.5")
FCM = "FCM"
INTX = "INTX"


class IntradaySetting(StrEnum):
    STANDARD = "INTRADAY_MARGIN_SETTING_STANDARD"
    INTRADAY = "INTRADAY_MARGIN_SETTING_INTRADAY"


@dataclass(frozen=True, slots=True)
class MarginRates:
    """Initial margin rates (fractions of notional) for a long and a short position."""

    long: Decimal
    short: Decimal

    def for_sign(self, sign: int) -> Decimal:
        return self.long if sign > 0 else self.short


@dataclass(frozen=True, slots=True)
class DerivativeSpec:
    """What the margin model knows about one derivative product.

    ``account``: the collateral pool it trades against, ``"FCM"`` (USD) or ``"INTX"`` (USDC).
    ``expiry_ts``: expiry and cash settlement time (int ns UTC); None for INTX perpetuals.
    ``intraday`` / ``overnight``: initial margin rates; maintenance margin is
    ``maintenance_fraction`` of the initial rate of the same window.
    ``max_leverage``: the cap on an order's ``leverage``; ``default_leverage`` is used when
    an order gives none (None = the product rate decides, as on CFM; INTX defaults to 1.0,
    as the API documents).
    ``funding_interval_s`` / ``funding_rate``: hourly funding for perpetual-style products
    (None = no funding); the rate is per interval, positive means longs pay shorts.
    """

    symbol: str
    account: str
    venue: str
    contract_code: str
    root: str
    expiry_ts: int | None
    expiry_type: str
    intraday: MarginRates
    overnight: MarginRates
    max_leverage: Decimal
    default_leverage: Decimal | None
    funding_interval_s: int | None
    funding_rate: Decimal
    margin_types: tuple[MarginType, ...]
    display_name: str
    group_description: str
    maintenance_fraction: Decimal = HALF

    @property
    def has_funding(self) -> bool:
        return self.funding_interval_s is not None

    @property
    def has_windows(self) -> bool:
        """CFM products have intraday/overnight margin windows; INTX ones do not."""
        return self.account == FCM

    def terms(self) -> DerivativeTerms:
        """The part of the spec a kernel-side Product carries (guards decide on it)."""
        return DerivativeTerms(
            intraday_long=self.intraday.long,
            intraday_short=self.intraday.short,
            overnight_long=self.overnight.long,
            overnight_short=self.overnight.short,
            max_leverage=self.max_leverage,
            expiry_ts=self.expiry_ts,
            funding_interval_s=self.funding_interval_s,
            maintenance_fraction=self.maintenance_fraction,
            has_windows=self.has_windows,
            margin_types=self.margin_types,
        )


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


def _cfm_spec(symbol: str) -> tuple[DerivativeSpec, Product] | None:
    m = _CFM_ID.match(symbol)
    if m is None or m["code"] not in _CFM or m["mon"] not in _MONTHS:
        return None
    root, size, tick, perp, intra, over, desc = _CFM[m["code"]]
    try:
        expiry = _ts(2000 + int(m["yy"]), _MONTHS[m["mon"]], int(m["dd"]), 16 if perp else 15)
    except ValueError:
        return None  # 31FEB and friends
    intraday = MarginRates(D(intra[0]), D(intra[1]))
    spec = DerivativeSpec(
        symbol=symbol,
        account=FCM,
        venue="cde",
        contract_code=m["code"],
        root=root,
        expiry_ts=expiry,
        expiry_type="EXPIRING",
        intraday=intraday,
        overnight=MarginRates(D(over[0]), D(over[1])),
        # 1 / the lowest intraday rate, rounded down: the most a CFM account can get
        max_leverage=(1 / min(intraday.long, intraday.short)).to_integral_value(
            rounding=ROUND_FLOOR
        ),
        default_leverage=None,
        funding_interval_s=HOUR_S if perp else None,
        funding_rate=_CFM_FUNDING_RATE if perp else D(0),
        margin_types=(MarginType.CROSS,),
        display_name=f"{root} PERP" if perp else f"{root} {m['dd']} {m['mon']} {m['yy']}",
        group_description=f"{desc} Futures",
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
        derivative=spec.terms(),
    )
    return spec, product


def _intx_spec(symbol: str) -> tuple[DerivativeSpec, Product] | None:
    m = _INTX_ID.match(symbol)
    if m is None or m["root"] not in _INTX:
        return None
    root = m["root"]
    base_inc, tick, max_lev, funding = _INTX[root]
    rate = 1 / D(max_lev)
    spec = DerivativeSpec(
        symbol=symbol,
        account=INTX,
        venue="intx",
        contract_code=f"{root}-PERP",
        root=root,
        expiry_ts=None,
        expiry_type="PERPETUAL",
        intraday=MarginRates(rate, rate),
        overnight=MarginRates(rate, rate),
        max_leverage=D(max_lev),
        default_leverage=D(1),
        funding_interval_s=HOUR_S,
        funding_rate=D(funding),
        margin_types=(MarginType.CROSS, MarginType.ISOLATED),
        display_name=f"{root} PERP",
        group_description=f"{root} Perpetual",
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
        derivative=spec.terms(),
    )
    return spec, product


def _lookup(symbol: str) -> tuple[DerivativeSpec, Product] | None:
    return _cfm_spec(symbol) or _intx_spec(symbol)


def is_derivative_symbol(symbol: str) -> bool:
    return _lookup(symbol) is not None


def derivative_spec(symbol: str) -> DerivativeSpec:
    """The spec of a catalogue symbol; :class:`UserError` when the symbol is not one."""
    found = _lookup(symbol)
    if found is None:
        raise UserError(
            f"unknown sim derivative {symbol!r}; known forms: "
            + ", ".join(DERIVATIVE_EXAMPLES)
            + f" (CFM codes {', '.join(_CFM)}; INTX roots {', '.join(_INTX)})"
        )
    return found[0]


def derivatives_products(symbols: Iterable[str]) -> dict[str, Product]:
    """Products for derivative ``symbols``, keyed by symbol, in the given order."""
    out: dict[str, Product] = {}
    for symbol in symbols:
        derivative_spec(symbol)  # the one-line error for an unknown symbol
        found = _lookup(symbol)
        assert found is not None
        out[symbol] = found[1]
    return out


def generic_spec(product: Product) -> DerivativeSpec:
    """A spec for a FUTURE/PERPETUAL product the catalogue does not know (a venue-described
    one): no expiry, CFM-like rates for a FUTURE, INTX-like terms for a PERPETUAL."""
    perp = product.product_type is ProductType.PERPETUAL
    if perp:
        rate = D("0.05")
        rates = MarginRates(rate, rate)
        return DerivativeSpec(
            symbol=product.symbol,
            account=INTX,
            venue="intx",
            contract_code=product.symbol,
            root=product.base,
            expiry_ts=None,
            expiry_type="PERPETUAL",
            intraday=rates,
            overnight=rates,
            max_leverage=D(20),
            default_leverage=D(1),
            funding_interval_s=HOUR_S,
            funding_rate=D("0.00001"),
            margin_types=(MarginType.CROSS, MarginType.ISOLATED),
            display_name=product.symbol,
            group_description=product.symbol,
        )
    return DerivativeSpec(
        symbol=product.symbol,
        account=FCM,
        venue="cde",
        contract_code=product.base,
        root=product.base,
        expiry_ts=None,
        expiry_type="EXPIRING",
        intraday=MarginRates(D("0.10"), D("0.10")),
        overnight=MarginRates(D("0.25"), D("0.30")),
        max_leverage=D(10),
        default_leverage=None,
        funding_interval_s=None,
        funding_rate=D(0),
        margin_types=(MarginType.CROSS,),
        display_name=product.symbol,
        group_description=product.symbol,
    )


def spec_for(product: Product) -> DerivativeSpec:
    """The catalogue spec of ``product`` when its symbol is known, else :func:`generic_spec`."""
    found = _lookup(product.symbol)
    return found[0] if found is not None else generic_spec(product)


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


def next_boundary(ts: int, interval_s: int) -> int:
    """The first multiple of ``interval_s`` (since the epoch) strictly after ``ts``."""
    step = interval_s * NS
    return (ts // step + 1) * step
