"""Pure pieces: wire conversion, order configurations, keys, rate limiting, sequencing."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from decimal import Decimal

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from gpt_trader.domain import (
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from gpt_trader.errors import UserError
from gpt_trader_coinbase import convert
from gpt_trader_coinbase.auth import load_credentials, load_key_file, make_credentials
from gpt_trader_coinbase.pause import PauseGate
from gpt_trader_coinbase.ratelimit import RateLimiter
from gpt_trader_coinbase.spot.tracker import Tracked
from gpt_trader_coinbase.stream import SequenceTracker

D = Decimal


def req(**kw):
    base = {"client_order_id": "c1", "symbol": "BTC-USD", "side": Side.BUY, "size": D("0.001")}
    return OrderRequest(**{**base, **kw})


# -- order configurations ----------------------------------------------------------------


def test_order_configuration_for_every_supported_kind():
    oc = convert.order_configuration
    assert oc(req()) == {"market_market_ioc": {"base_size": "0.001"}}
    assert oc(req(side=Side.SELL)) == {"market_market_ioc": {"base_size": "0.001"}}
    lim = {"order_type": OrderType.LIMIT, "limit_price": D("100.50")}
    assert oc(req(**lim, time_in_force=TimeInForce.GTC, post_only=True)) == {
        "limit_limit_gtc": {"base_size": "0.001", "limit_price": "100.50", "post_only": True}
    }
    gtd = oc(req(**lim, time_in_force=TimeInForce.GTD, end_ts=1_800_000_000 * 10**9))
    assert gtd["limit_limit_gtd"]["end_time"] == "2027-01-15T08:00:00.000000Z"
    assert oc(req(**lim, time_in_force=TimeInForce.IOC)) == {
        "sor_limit_ioc": {"base_size": "0.001", "limit_price": "100.50"}
    }
    assert "limit_limit_fok" in oc(req(**lim, time_in_force=TimeInForce.FOK))
    stop = oc(
        req(
            order_type=OrderType.STOP_LIMIT,
            limit_price=D("99"),
            stop_price=D("100"),
            side=Side.SELL,
            time_in_force=TimeInForce.GTC,
        )
    )
    assert stop["stop_limit_stop_limit_gtc"]["stop_direction"] == "STOP_DIRECTION_STOP_DOWN"
    bracket = oc(
        req(
            order_type=OrderType.BRACKET,
            limit_price=D("110"),
            stop_price=D("90"),
            time_in_force=TimeInForce.GTC,
        )
    )
    assert bracket == {
        "trigger_bracket_gtc": {
            "base_size": "0.001",
            "limit_price": "110",
            "stop_trigger_price": "90",
        }
    }
    for bad in (
        req(time_in_force=TimeInForce.GTC),  # market must be IOC
        req(**lim, time_in_force=TimeInForce.IOC, post_only=True),
        req(**lim, time_in_force=TimeInForce.GTD),  # no end_ts
        req(order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC),  # no price
    ):
        with pytest.raises(convert.Unsupported):
            oc(bad)


def test_wire_values_and_times():
    assert convert.dec("0.00000001") == D("0.00000001")
    assert convert.dec("") == 0
    with pytest.raises(convert.WireError):
        convert.dec(0.1)
    with pytest.raises(convert.WireError):
        convert.dec("abc")
    ts = convert.parse_time("2024-05-02T14:03:11.482614123Z")
    assert ts % 10**9 == 482614123
    assert convert.parse_time("2024-05-02T16:03:11+02:00") == convert.parse_time(
        "2024-05-02T14:03:11Z"
    )
    assert convert.parse_time("0001-01-01T00:00:00Z") == 0
    assert convert.parse_time("1714658700") == 1714658700 * 10**9
    assert convert.parse_time(convert.format_time(ts)) == ts - ts % 1000
    assert convert.text(D("1E-8")) == "0.00000001"


def test_product_order_fill_account_from_json():
    p = convert.product_from_json(
        {
            "product_id": "BTC-USD",
            "base_currency_id": "BTC",
            "quote_currency_id": "USD",
            "base_increment": "0.00000001",
            "quote_increment": "0.01",
            "price_increment": "0.01",
            "base_min_size": "0.00000001",
            "base_max_size": "3400",
            "quote_min_size": "1",
            "product_type": "SPOT",
        }
    )
    assert p is not None
    assert p.price_increment == D("0.01")
    assert p.base_max_size == D("3400")
    assert convert.product_from_json({"product_id": "BIT-X-CDE", "product_type": "FUTURE"}) is None
    usdc = convert.alias_product(p, "BTC-USDC")
    assert (usdc.base, usdc.quote, usdc.base_increment) == ("BTC", "USDC", p.base_increment)

    rest = convert.order_from_rest(
        {
            "order_id": "o1",
            "client_order_id": "c1",
            "product_id": "BTC-USD",
            "side": "SELL",
            "status": "OPEN",
            "time_in_force": "GOOD_UNTIL_CANCELLED",
            "filled_size": "0.5",
            "average_filled_price": "101.5",
            "total_fees": "0.3",
            "created_time": "2024-05-02T14:03:11Z",
            "order_configuration": {
                "limit_limit_gtc": {"base_size": "2", "limit_price": "101", "post_only": False}
            },
        }
    )
    assert rest.status is OrderStatus.PARTIALLY_FILLED
    assert rest.size == 2
    assert rest.limit_price == 101
    assert rest.order_type is OrderType.LIMIT
    assert rest.time_in_force is TimeInForce.GTC
    failed = convert.order_from_rest(
        {"order_id": "o", "status": "FAILED", "side": "BUY", "reject_message": "nope"}
    )
    assert failed.status is OrderStatus.REJECTED
    assert failed.reject_reason is RejectReason.UNKNOWN  # the venue's words go to the log

    ws = convert.order_from_ws(
        {
            "order_id": "o1",
            "client_order_id": "c1",
            "product_id": "BTC-USD",
            "order_side": "BUY",
            "status": "CANCEL_QUEUED",
            "cumulative_quantity": "1",
            "leaves_quantity": "2",
            "avg_price": "100",
            "order_type": "Limit",
            "limit_price": "100",
            "stop_price": "0",
            "post_only": "true",
            "time_in_force": "GOOD_UNTIL_CANCELLED",
            "end_time": "0001-01-01T00:00:00Z",
        },
        5,
    )
    assert ws.size == 3
    assert ws.status is OrderStatus.PARTIALLY_FILLED
    assert ws.post_only
    assert ws.stop_price is None
    assert ws.end_ts is None
    assert ws.updated_ts == 5

    fill = convert.fill_from_rest(
        {
            "trade_id": "t1",
            "order_id": "o1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "price": "100",
            "size": "50",
            "size_in_quote": True,
            "commission": "0.1",
            "liquidity_indicator": "MAKER",
            "trade_time": "2024-05-02T14:03:11Z",
        },
        "c1",
    )
    assert fill.size == D("0.5")
    assert fill.liquidity is Liquidity.MAKER
    assert fill.client_order_id == "c1"
    bal = convert.balance_from_account(
        {"currency": "USD", "available_balance": {"value": "10"}, "hold": {"value": "2.5"}}
    )
    assert (bal.total, bal.available, bal.hold) == (D("12.5"), D("10"), D("2.5"))
    reason = convert.rejection_reason(
        {
            "success": False,
            "error_response": {
                "error": "UNKNOWN_FAILURE_REASON",
                "new_order_failure_reason": "INVALID_LIMIT_PRICE_POST_ONLY",
                "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
                "message": "",
            },
        }
    )
    assert reason == (RejectReason.POST_ONLY_WOULD_CROSS, "INVALID_LIMIT_PRICE_POST_ONLY")


def test_tracker_holds_terminal_status_until_fills_are_delivered():
    venue = convert.order_from_ws(
        {
            "order_id": "o1",
            "client_order_id": "c1",
            "product_id": "BTC-USD",
            "order_side": "BUY",
            "status": "FILLED",
            "cumulative_quantity": "2",
            "leaves_quantity": "0",
            "order_type": "Market",
        },
        1,
    )
    tr = Tracked("o1", "c1", "BTC-USD", venue)
    assert tr.view().status is OrderStatus.OPEN
    assert tr.view().filled_size == 0
    tr.delivered = D(1)
    assert tr.view().status is OrderStatus.PARTIALLY_FILLED
    tr.delivered = D(2)
    assert tr.view().status is OrderStatus.FILLED
    assert tr.settled
    older = venue.copy()
    older.status, older.filled_size = OrderStatus.OPEN, D(1)
    assert not tr.update(older)  # a late, older view never wins


# -- keys ---------------------------------------------------------------------------------


def _ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def test_keys_from_env_and_file_and_jwt_claims(tmp_path):
    pem = _ec_pem()
    name = "organizations/o/apiKeys/k"
    creds = load_credentials(
        env={"COINBASE_API_KEY": name, "COINBASE_API_SECRET": pem.replace("\n", "\\n")}
    )
    assert creds is not None
    assert creds.algorithm == "ES256"
    assert "PRIVATE" not in repr(creds)
    assert pem.splitlines()[1] not in repr(creds)
    token = creds.rest_jwt("GET", "127.0.0.1:8443", "/api/v3/brokerage/accounts")
    pub = serialization.load_pem_private_key(pem.encode(), None).public_key()
    claims = jwt.decode(token, pub, algorithms=["ES256"])
    assert claims["uri"] == "GET 127.0.0.1:8443/api/v3/brokerage/accounts"
    assert claims["sub"] == name
    assert claims["iss"] == "cdp"
    assert jwt.get_unverified_header(token)["kid"] == name
    assert "uri" not in jwt.decode(creds.ws_jwt(), pub, algorithms=["ES256"])

    seed = ed25519.Ed25519PrivateKey.generate()
    raw = seed.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw64 = raw + seed.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"name": name, "privateKey": base64.b64encode(raw64).decode()}))
    os.chmod(path, 0o600)
    ed = load_key_file(path)
    assert ed.algorithm == "EdDSA"
    jwt.decode(ed.ws_jwt(), seed.public_key(), algorithms=["EdDSA"])
    assert load_credentials(env={}) is None


def test_bad_keys_are_one_line_user_errors_without_the_secret(tmp_path):
    pem = _ec_pem()
    body = pem.splitlines()[1]
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"name": "k", "privateKey": pem}))
    os.chmod(path, 0o644)
    with pytest.raises(UserError, match="chmod 600") as exc:
        load_key_file(path)
    assert body not in str(exc.value)
    os.chmod(path, 0o600)
    assert load_key_file(path).name == "k"
    broken = pem.replace(body, body[:-4] + "AAAA")
    for secret in (
        broken,
        pem[:60],
        "-----BEGIN EC PRIVATE KEY-----\nnot a key\n-----END EC PRIVATE KEY-----",
        "xyz",
    ):
        with pytest.raises(UserError) as exc:
            make_credentials("k", secret, "$COINBASE_API_SECRET")
        text = str(exc.value)
        assert "\n" not in text
        assert body not in text
        assert secret not in text
    with pytest.raises(UserError, match="COINBASE_API_SECRET is not set"):
        load_credentials(env={"COINBASE_API_KEY": "k"})
    other = (
        ec.generate_private_key(ec.SECP384R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(UserError, match="not a usable key"):
        make_credentials("k", other, "test")
    (tmp_path / "junk.json").write_text(pem)
    os.chmod(tmp_path / "junk.json", 0o600)
    with pytest.raises(UserError) as exc:
        load_key_file(tmp_path / "junk.json")
    assert body not in str(exc.value)


# -- rate limiting ------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def test_token_bucket_and_venue_headers():
    ft = FakeTime()
    rl = RateLimiter(10, 2, clock=ft.clock, wall=ft.wall, sleep=ft.sleep)

    async def take(n: int) -> None:
        for _ in range(n):
            await rl.acquire()

    asyncio.run(take(2))
    assert ft.sleeps == []
    asyncio.run(take(1))
    assert ft.sleeps == [pytest.approx(0.1)]
    # x-ratelimit-remaining: 0 with a reset 3 s ahead holds every caller until then.
    pause = rl.observe({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(ft.wall()) + 3)})
    assert pause == pytest.approx(3, abs=1)
    asyncio.run(take(1))
    assert sum(ft.sleeps) >= 2
    # A 429 without headers still pauses.
    before = ft.t
    rl.observe({}, limited=True)
    asyncio.run(take(1))
    assert ft.t > before
    # Remaining below the bucket caps it.
    rl.observe({"x-ratelimit-remaining": "0.5"})
    n = len(ft.sleeps)
    asyncio.run(take(1))
    assert len(ft.sleeps) > n


# -- sequencing and pausing ------------------------------------------------------------------


def test_sequence_tracker_orders_drops_and_reports_gaps():
    t = [0.0]
    st = SequenceTracker(window=3, window_s=0.1, clock=lambda: t[0])
    assert st.push(0, "a") == (["a"], False)
    assert st.push(0, "a") == ([], False)  # duplicate
    assert st.push(2, "c") == ([], False)  # held: 1 may come
    assert st.push(1, "b") == (["b", "c"], False)  # reordered, fixed
    assert st.push(5, "f") == ([], False)
    t[0] = 0.2
    assert st.expire() == (["f"], True)  # 3 and 4 never came: a gap
    assert st.push(4, "late") == ([], False)  # older than what was delivered
    for seq in (7, 8, 9):
        st.push(seq, seq)
    assert st.push(10, 10) == ([7, 8, 9, 10], True)  # window full: gap
    assert (st.duplicates, st.gaps) == (2, 2)


def test_pause_gate_shares_one_pause_and_never_lifts_an_operator_pause():
    class K:
        entries_paused = ""

        def pause_entries(self, reason):
            self.entries_paused = reason

        def resume_entries(self):
            self.entries_paused = ""

    k = K()
    gate = PauseGate.for_listener(k)
    assert PauseGate.for_listener(k) is gate
    gate.pause("user", "resync")
    gate.pause("feed", "gap")
    gate.resume("user")
    assert k.entries_paused == "coinbase: resync"
    gate.resume("feed")
    assert k.entries_paused == ""
    k.pause_entries("operator pause")
    gate.pause("feed", "gap")
    gate.resume("feed")
    assert k.entries_paused == "operator pause"
    k.resume_entries()
    gate.pause("feed", "gap")
    k.entries_paused = "operator pause"  # the operator paused meanwhile
    gate.resume("feed")
    assert k.entries_paused == "operator pause"


@pytest.mark.parametrize(
    "account",
    [
        {"currency": "BTC", "hold": {"value": "0"}},
        {"currency": "BTC", "available_balance": {"value": "0.5"}},
        {"currency": "BTC", "available_balance": {}, "hold": {"value": "0"}},
        {"currency": "BTC", "available_balance": None, "hold": {"value": "0"}},
        {"currency": "BTC", "available_balance": {"value": ""}, "hold": {"value": "0"}},
        {"currency": "BTC", "available_balance": [], "hold": {"value": "0"}},
    ],
)
def test_an_account_missing_a_balance_part_is_refused_not_zero(account):
    with pytest.raises(convert.WireError):
        convert.balance_from_account(account)
