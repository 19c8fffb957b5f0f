"""Parse and validate a create/preview order body (coinbase-api.md §3.5) into domain terms.

Structural problems a gateway would catch (body not an object, unknown product, missing
client_order_id) raise ApiError (HTTP 400). Business problems (bad side, unsupported
configuration, size out of range, bad precision, end time in the past) raise OrderRejected,
which the handlers turn into HTTP 200 ``success:false`` (create) or ``errs`` (preview).

Derivatives: ``leverage`` and ``margin_type`` are top-level fields (as the SDK sends them);
a bad leverage is ``INVALID_LEVERAGE``, a margin type other than CROSS/ISOLATED
``INVALID_MARGIN_TYPE``. Reduce-only exists only inside the order configuration
(``{"market_market_ioc": {"base_size": "1", "reduce_only": true}}``); a top-level
``reduce_only`` / ``reduceOnly`` key is a 400 INVALID_ARGUMENT, as the venue answers. It is
refused on spot products (``PREVIEW_REDUCE_ONLY_NOT_ALLOWED_ON_SPOT_PRODUCTS``) and on CFM
(CDE) futures (``PREVIEW_REDUCE_ONLY_NOT_ALLOWED_ON_VENUE``, reported by third-party
clients); INTX perpetuals accept it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpt_trader.domain import OrderType, Product, Side, TimeInForce
from gpt_trader.domain.products import ProductType, quantize_down

from gpt_trader_coinbase_sim.errors import invalid_argument
from gpt_trader_coinbase_sim.ordermeta import OrderMeta
from gpt_trader_coinbase_sim.wire import dec, parse_decimal, parse_rfc3339

QUOTE_MAX = Decimal("150000000")
TOP_LEVEL_REDUCE_ONLY = ("reduce_only", "reduceOnly")
MARGIN_TYPES = ("CROSS", "ISOLATED")


@dataclass(frozen=True)
class Rejection:
    """The three reason keys of ``error_response`` (adapters must read all three)."""

    new_order_failure_reason: str = "UNKNOWN_FAILURE_REASON"
    preview_failure_reason: str = "UNKNOWN_PREVIEW_FAILURE_REASON"
    message: str = ""

    @property
    def error(self) -> str:
        # The deprecated ``error`` key: the live venue fills it with whichever reason is
        # specific (INSUFFICIENT_FUND on a funds failure, UNKNOWN_FAILURE_REASON on post-only).
        if self.new_order_failure_reason != "UNKNOWN_FAILURE_REASON":
            return "UNKNOWN_FAILURE_REASON"
        return self.preview_failure_reason.removeprefix("PREVIEW_")

    def error_response(self) -> dict[str, str]:
        return {
            "error": self.error,
            "message": self.message,
            "error_details": self.message,
            "preview_failure_reason": self.preview_failure_reason,
            "new_order_failure_reason": self.new_order_failure_reason,
        }


class OrderRejected(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message or rejection.preview_failure_reason)
        self.rejection = rejection


def reject(
    new: str = "UNKNOWN_FAILURE_REASON", preview: str = "", message: str = ""
) -> OrderRejected:
    return OrderRejected(
        Rejection(new, preview or "UNKNOWN_PREVIEW_FAILURE_REASON", message or new.lower())
    )


BAD_CONFIG = ("UNSUPPORTED_ORDER_CONFIGURATION", "PREVIEW_INVALID_ORDER_CONFIG")


@dataclass(frozen=True)
class ConfigKind:
    order_type: OrderType
    tif: TimeInForce
    required: tuple[str, ...]


KINDS: dict[str, ConfigKind] = {
    "market_market_ioc": ConfigKind(OrderType.MARKET, TimeInForce.IOC, ()),
    "sor_limit_ioc": ConfigKind(OrderType.LIMIT, TimeInForce.IOC, ("base_size", "limit_price")),
    "limit_limit_gtc": ConfigKind(OrderType.LIMIT, TimeInForce.GTC, ("base_size", "limit_price")),
    "limit_limit_gtd": ConfigKind(
        OrderType.LIMIT, TimeInForce.GTD, ("base_size", "limit_price", "end_time")
    ),
    "limit_limit_fok": ConfigKind(OrderType.LIMIT, TimeInForce.FOK, ("base_size", "limit_price")),
    "stop_limit_stop_limit_gtc": ConfigKind(
        OrderType.STOP_LIMIT,
        TimeInForce.GTC,
        ("base_size", "limit_price", "stop_price", "stop_direction"),
    ),
    "stop_limit_stop_limit_gtd": ConfigKind(
        OrderType.STOP_LIMIT,
        TimeInForce.GTD,
        ("base_size", "limit_price", "stop_price", "end_time", "stop_direction"),
    ),
    "trigger_bracket_gtc": ConfigKind(
        OrderType.BRACKET, TimeInForce.GTC, ("base_size", "limit_price", "stop_trigger_price")
    ),
    "trigger_bracket_gtd": ConfigKind(
        OrderType.BRACKET,
        TimeInForce.GTD,
        ("base_size", "limit_price", "stop_trigger_price", "end_time"),
    ),
}
STOP_DIRECTIONS = ("STOP_DIRECTION_STOP_UP", "STOP_DIRECTION_STOP_DOWN")


@dataclass(frozen=True)
class ParsedOrder:
    """A validated order body. ``size`` is None for a quote-sized market order."""

    client_order_id: str
    product: Product
    side: Side
    kind: str
    order_type: OrderType
    tif: TimeInForce
    size: Decimal | None
    quote_size: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    stop_direction: str
    post_only: bool
    end_ts: int | None
    leverage: str
    margin_type: str
    echo: dict[str, Any]
    reduce_only: bool = False

    def meta(self, order_id: str) -> OrderMeta:
        return OrderMeta(
            order_id=order_id,
            config_key=self.kind,
            config=dict(self.echo),
            size_in_quote=self.quote_size is not None,
            quote_size=self.quote_size,
            stop_direction=self.stop_direction,
            leverage=self.leverage,
            margin_type=self.margin_type or "UNKNOWN_MARGIN_TYPE",
        )


def product_of(body: dict[str, Any], products: dict[str, Product]) -> Product:
    pid = body.get("product_id")
    if not isinstance(pid, str) or pid not in products:
        raise invalid_argument("ProductID is invalid")
    return products[pid]


def echo_config(raw: Any) -> dict[str, Any]:
    """The order_configuration as the reply echoes it (only when it is a dict of dicts)."""
    if isinstance(raw, dict) and all(isinstance(v, dict) for v in raw.values()):
        return raw
    return {}


def check_top_level(body: dict[str, Any]) -> None:
    """The gateway's 400 for a top-level reduce-only flag (it lives in the configuration)."""
    for key in TOP_LEVEL_REDUCE_ONLY:
        if key in body:
            raise invalid_argument(
                f"invalid request: unknown field {key!r}; reduce_only belongs in the "
                "order_configuration"
            )


def parse_order(
    body: Any, products: dict[str, Product], *, now_ns: int, need_client_id: bool = True
) -> ParsedOrder:
    if not isinstance(body, dict):
        raise invalid_argument("request body must be a JSON object")
    coid = body.get("client_order_id", "")
    if need_client_id and (not isinstance(coid, str) or not coid.strip()):
        raise invalid_argument("client_order_id is required")
    check_top_level(body)
    product = product_of(body, products)
    side_raw = body.get("side")
    if side_raw not in ("BUY", "SELL"):
        raise reject("INVALID_SIDE", "PREVIEW_INVALID_SIDE", f"invalid side {side_raw!r}")
    side = Side(side_raw)
    config = body.get("order_configuration")
    if not isinstance(config, dict) or len(config) != 1:
        raise reject(*BAD_CONFIG, "order_configuration must have exactly one key")
    ((kind, params),) = config.items()
    spec = KINDS.get(kind)
    if spec is None or not isinstance(params, dict):
        raise reject(*BAD_CONFIG, f"unsupported order_configuration {kind!r}")
    for name in spec.required:
        if params.get(name) in (None, ""):
            raise reject(*BAD_CONFIG, f"{kind}.{name} is required")

    size = quote = limit = stop = None
    try:
        if kind == "market_market_ioc":
            has_b, has_q = params.get("base_size") is not None, params.get("quote_size") is not None
            if has_b == has_q:
                raise reject(
                    *BAD_CONFIG, "market_market_ioc needs exactly one of base_size, quote_size"
                )
            if has_q:
                quote = parse_decimal(params["quote_size"])
            else:
                size = parse_decimal(params["base_size"])
        else:
            size = parse_decimal(params["base_size"])
            limit = parse_decimal(params["limit_price"])
        if "stop_price" in spec.required:
            stop = parse_decimal(params["stop_price"])
        if "stop_trigger_price" in spec.required:
            stop = parse_decimal(params["stop_trigger_price"])
    except ValueError as e:
        raise reject("INVALID_REQUEST", "PREVIEW_INVALID_ORDER_CONFIG", str(e)) from e

    if size is not None:
        _check_size(product, size)
    if quote is not None:
        _check_quote(product, quote)
    for px in (limit, stop):
        if px is not None:
            _check_price(product, px, stop=px is stop)

    direction = ""
    if "stop_direction" in spec.required:
        direction = str(params["stop_direction"])
        if direction not in STOP_DIRECTIONS:
            raise reject(*BAD_CONFIG, f"invalid stop_direction {direction!r}")
    end_ts = None
    if spec.tif is TimeInForce.GTD:
        try:
            end_ts = parse_rfc3339(str(params["end_time"]))
        except ValueError as e:
            raise reject("INVALID_REQUEST", "PREVIEW_INVALID_END_TIME", str(e)) from e
        if end_ts <= now_ns:
            raise reject(
                "INVALID_REQUEST", "PREVIEW_END_TIME_IS_IN_THE_PAST", "end_time is in the past"
            )
    post_only = params.get("post_only", False)
    if not isinstance(post_only, bool):
        post_only = str(post_only).lower() == "true"

    leverage = str(body.get("leverage") or "")
    if leverage:
        try:
            lev = parse_decimal(leverage)
        except ValueError as e:
            raise reject("INVALID_LEVERAGE", "PREVIEW_INVALID_LEVERAGE", str(e)) from e
        if lev <= 0:
            raise reject("INVALID_LEVERAGE", "PREVIEW_INVALID_LEVERAGE", "leverage must be > 0")
    margin_type = str(body.get("margin_type") or "")
    if margin_type and margin_type not in MARGIN_TYPES:
        raise reject(
            "INVALID_MARGIN_TYPE",
            "PREVIEW_INVALID_MARGIN_TYPE",
            f"invalid margin_type {margin_type!r}",
        )
    reduce_only = _flag(params.get("reduce_only", False))
    if reduce_only and product.product_type is ProductType.SPOT:
        raise reject(
            preview="PREVIEW_REDUCE_ONLY_NOT_ALLOWED_ON_SPOT_PRODUCTS",
            message="reduce_only is not allowed on spot products",
        )
    if reduce_only and product.product_type is ProductType.FUTURE:
        raise reject(
            preview="PREVIEW_REDUCE_ONLY_NOT_ALLOWED_ON_VENUE",
            message="reduce_only is not allowed on this venue",
        )
    return ParsedOrder(
        client_order_id=str(coid),
        product=product,
        side=side,
        kind=kind,
        order_type=spec.order_type,
        tif=spec.tif,
        size=size,
        quote_size=quote,
        limit_price=limit,
        stop_price=stop,
        stop_direction=direction,
        post_only=post_only,
        end_ts=end_ts,
        leverage=leverage,
        margin_type=margin_type,
        echo=dict(params),
        reduce_only=reduce_only,
    )


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _check_size(p: Product, size: Decimal) -> None:
    if size <= 0 or quantize_down(size, p.base_increment) != size:
        raise reject(
            "INVALID_SIZE_PRECISION",
            "PREVIEW_INVALID_SIZE_PRECISION",
            f"base_size {dec(size)} is not a positive multiple of {dec(p.base_increment)}",
        )
    if size < p.base_min_size:
        raise reject(
            preview="PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
            message=f"base_size {dec(size)} is below the minimum {dec(p.base_min_size)}",
        )
    if size > p.base_max_size:
        raise reject(
            preview="PREVIEW_INVALID_BASE_SIZE_TOO_LARGE",
            message=f"base_size {dec(size)} is above the maximum {dec(p.base_max_size)}",
        )


def _check_quote(p: Product, quote: Decimal) -> None:
    if quote <= 0 or quantize_down(quote, p.quote_increment) != quote:
        raise reject(
            "INVALID_SIZE_PRECISION",
            "PREVIEW_INVALID_QUOTE_SIZE_PRECISION",
            f"quote_size {dec(quote)} is not a positive multiple of {dec(p.quote_increment)}",
        )
    if quote < p.quote_min_size:
        raise reject(
            preview="PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
            message=f"quote_size {dec(quote)} is below the minimum {dec(p.quote_min_size)}",
        )
    if quote > QUOTE_MAX:
        raise reject(
            preview="PREVIEW_INVALID_QUOTE_SIZE_TOO_LARGE",
            message=f"quote_size {dec(quote)} is above the maximum {dec(QUOTE_MAX)}",
        )


def _check_price(p: Product, price: Decimal, *, stop: bool) -> None:
    if price <= 0:
        if stop:
            raise reject(
                "INVALID_REQUEST", "PREVIEW_INVALID_STOP_PRICE", "stop price must be positive"
            )
        raise reject(
            "INVALID_LIMIT_PRICE", "PREVIEW_INVALID_LIMIT_PRICE", "limit price must be positive"
        )
    if quantize_down(price, p.price_increment) != price:
        raise reject(
            "INVALID_PRICE_PRECISION",
            "PREVIEW_INVALID_PRICE_PRECISION",
            f"price {dec(price)} is not a multiple of {dec(p.price_increment)}",
        )
