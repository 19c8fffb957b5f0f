"""The built-in sim plugin: specs, params validation, factories through the registry."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.components import BuildContext, Kind
from gpt_trader.errors import UserError
from gpt_trader.plugins import make_plugin_manager
from gpt_trader.registry import Registry
from gpt_trader.sim import plugin as sim_plugin
from gpt_trader.sim.broker import SimBroker
from gpt_trader.sim.csvfeed import CsvCandleFeed
from gpt_trader.sim.products import default_products
from gpt_trader.sim.synthetic import DEFAULT_START_TS, SyntheticFeed

SAMPLE = Path(__file__).resolve().parents[3] / "tests" / "data" / "btcusd_1m_sample.csv"


@pytest.fixture
def registry() -> Registry:
    pm = make_plugin_manager(load_entrypoints=False)
    pm.register_plugin(sim_plugin, "sim")
    return Registry(pm)


def context(tmp_path: Path, seed: int = 9, **options: object) -> BuildContext:
    universe = ("BTC-USD", "ETH-USD")
    return BuildContext(
        profile="dev",
        mode="paper",
        universe=universe,
        products=default_products(universe),
        state_dir=tmp_path,
        seed=seed,
        options=dict(options),
    )


def test_the_plugin_registers_one_broker_and_two_feeds(registry: Registry) -> None:
    assert registry.names(Kind.BROKER) == ["sim"]
    assert registry.names(Kind.FEED) == ["csv", "synthetic"]


async def test_sim_broker_defaults_and_persistence(registry: Registry, tmp_path: Path) -> None:
    broker = registry.build(Kind.BROKER, "sim", {}, context(tmp_path))
    assert isinstance(broker, SimBroker)
    assert broker.state_file == tmp_path / "sim_exchange.json"
    ex = broker.exchange
    assert ex.starting_balances == {"USD": Decimal(100_000)}
    assert (ex.maker_fee, ex.taker_fee) == (Decimal("0.004"), Decimal("0.006"))
    assert ex.market_fill == "immediate"
    await broker.stop()
    assert (tmp_path / "sim_exchange.json").is_file()


def test_a_replay_run_does_not_persist(registry: Registry, tmp_path: Path) -> None:
    broker = registry.build(Kind.BROKER, "sim", {}, context(tmp_path, replay=True))
    assert broker.state_file is None


def test_sim_broker_params_are_applied(registry: Registry, tmp_path: Path) -> None:
    params = {
        "starting_cash": "2500.50",
        "maker_fee_bps": 10,
        "taker_fee_bps": "25",
        "market_fill": "next_open",
        "slippage_bps": 5,
        "volume_participation": "0.2",
        "persist": False,
    }
    broker = registry.build(Kind.BROKER, "sim", params, context(tmp_path))
    ex = broker.exchange
    assert broker.state_file is None
    assert ex.starting_balances == {"USD": Decimal("2500.50")}
    assert (ex.maker_fee, ex.taker_fee) == (Decimal("0.001"), Decimal("0.0025"))
    engine = ex.engine("BTC-USD")
    assert engine.market_fill == "next_open"
    assert engine.slippage_bps == Decimal(5)
    assert engine.volume_participation == Decimal("0.2")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"starting_cash": -1}, "starting_cash"),
        ({"maker_fee_bps": -5}, "maker_fee_bps"),
        ({"taker_fee_bps": -5}, "taker_fee_bps"),
        ({"slippage_bps": -1}, "slippage_bps"),
        ({"volume_participation": 0}, "volume_participation"),
        ({"volume_participation": 2}, "volume_participation"),
        ({"market_fill": "later"}, "market_fill"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_sim_broker_params_are_one_line_errors(
    registry: Registry, tmp_path: Path, params: dict[str, object], field: str
) -> None:
    with pytest.raises(UserError) as err:
        registry.build(Kind.BROKER, "sim", params, context(tmp_path))
    assert field in str(err.value)
    assert "\n" not in str(err.value)


def test_synthetic_feed_uses_the_run_seed_unless_given(registry: Registry, tmp_path: Path) -> None:
    feed = registry.build(Kind.FEED, "synthetic", {}, context(tmp_path, seed=9))
    assert isinstance(feed, SyntheticFeed)
    assert (feed.seed, feed.interval_s, feed.pace_s, feed.start_ts) == (
        9,
        60,
        1.0,
        DEFAULT_START_TS,
    )
    feed = registry.build(
        Kind.FEED,
        "synthetic",
        {"seed": 3, "interval_s": 300, "pace_s": 0, "start": "2025-02-01T00:00:00Z"},
        context(tmp_path),
    )
    assert feed.seed == 3
    assert feed.start_ts == 1_738_368_000 * 10**9
    [first] = feed.events(["ETH-USD"], limit=1)
    assert first.ts == feed.start_ts
    assert first.interval_s == 300


@pytest.mark.parametrize(
    "params",
    [{"interval_s": 0}, {"interval_s": -60}, {"pace_s": -1}, {"start": "next tuesday"}],
)
def test_bad_synthetic_params_are_user_errors(
    registry: Registry, tmp_path: Path, params: dict[str, object]
) -> None:
    with pytest.raises(UserError):
        registry.build(Kind.FEED, "synthetic", params, context(tmp_path))


def test_csv_feed_symbol_defaults_to_the_first_of_the_universe(
    registry: Registry, tmp_path: Path
) -> None:
    feed = registry.build(Kind.FEED, "csv", {"path": str(SAMPLE)}, context(tmp_path))
    assert isinstance(feed, CsvCandleFeed)
    assert feed.symbol == "BTC-USD"
    feed = registry.build(
        Kind.FEED, "csv", {"path": str(SAMPLE), "symbol": "ETH-USD"}, context(tmp_path)
    )
    assert [s.symbol for s in feed.bar_series(["ETH-USD"])] == ["ETH-USD"]
    with pytest.raises(UserError, match="not found"):
        registry.build(Kind.FEED, "csv", {"path": str(tmp_path / "no.csv")}, context(tmp_path))
    with pytest.raises(UserError, match="interval_s"):
        registry.build(Kind.FEED, "csv", {"path": str(SAMPLE), "interval_s": -1}, context(tmp_path))
