"""A simulator started with ``persist`` on a state dir where another one ran resumes its
account: orders (with their wire configuration), fills, balances, and the market's last
price, seen through the official SDK over TLS."""

from __future__ import annotations

from decimal import Decimal

from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.server import SimulatorThread

STILL = {"tick_s": 3600.0, "history_minutes": 30, "heartbeat_s": 0.1, "ticker_batch_s": 0.5}


def sdk(sim: SimulatorThread, monkeypatch) -> RESTClient:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    return RESTClient(key_file=sim.info.key_file, base_url=sim.info.rest_base_url)


def account(client: RESTClient) -> tuple:
    orders = client.list_orders(limit=100).orders
    fills = client.get_fills(limit=100).fills
    balances = {a.currency: a.available_balance["value"] for a in client.get_accounts().accounts}
    return (
        sorted((o.order_id, o.status, o.order_configuration.to_dict()) for o in orders),
        sorted(f.trade_id for f in fills),
        balances,
    )


def test_a_restarted_simulator_resumes_the_account_and_the_market(tmp_path, monkeypatch):
    state = tmp_path / "sim"
    first = SimulatorThread(state, seed=4, products=["BTC-USD"], persist=True, **STILL)
    first.start()
    try:
        client = sdk(first, monkeypatch)
        bought = client.market_order_buy("buy-1", "BTC-USD", quote_size="1000")
        assert bought.success
        price = Decimal(client.get_product("BTC-USD").price)
        resting = client.limit_order_gtc_buy(
            "rest-1",
            "BTC-USD",
            base_size="0.01",
            limit_price=str((price * Decimal("0.8")).quantize(Decimal("0.01"))),
        )
        assert resting.success
        moved = (price * Decimal("1.25")).quantize(Decimal("0.01"))
        first.call(
            lambda: first.state.markets["BTC-USD"].print_trade(
                first.state.clock.now_ns(), moved, Decimal(1), "SELL"
            )
        )
        before = account(client)
    finally:
        first.stop()
    assert (state / "venue.json").is_file()

    again = SimulatorThread(state, seed=4, products=["BTC-USD"], persist=True, **STILL)
    again.start()
    try:
        client = sdk(again, monkeypatch)
        assert account(client) == before
        assert len(before[1]) >= 1
        assert client.get_order(resting.success_response["order_id"]).order.status == "OPEN"
        # the market goes on from its last price, not from the seed's start
        now = Decimal(client.get_product("BTC-USD").price)
        assert abs(now - moved) / moved < Decimal("0.01")
        assert again.state.internal_errors == 0
    finally:
        again.stop()
