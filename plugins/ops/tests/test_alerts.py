"""Alert rules: each fires once, its cooldown holds the repeat back, and it fires again
once the cooldown has passed; the sink in a real run; the rules' settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from gpt_trader.app import assemble, finish, start
from gpt_trader.domain import (
    LIQUIDATION_TAG,
    OrderStatus,
    Position,
    RejectReason,
    Severity,
    TradingState,
)
from gpt_trader.domain.events import CancelUnconfirmed
from gpt_trader_ops.alerts import RULES, Alert, AlertEngine, AlertsParams
from ops_support import (
    NS,
    T0,
    Clock,
    FakeState,
    adjusted,
    connection,
    dev_config,
    failed,
    intent,
    order,
    plugin_manager,
    rest_call,
    state_change,
    stopped,
    trip,
    until,
    updated,
)
from pydantic import ValidationError


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


_seq = iter(range(1_000_000))


def submissions(engine: AlertEngine, ok: int, bad: int) -> None:
    for i in range(ok + bad):
        cid = f"s{next(_seq)}"
        engine.on_event(intent(cid))
        status = OrderStatus.OPEN if i < ok else OrderStatus.UNKNOWN
        engine.on_event(updated(cid, status))


def daily_loss(engine: AlertEngine, state: FakeState) -> None:
    state.equity = Decimal(10_000)
    engine.check_state(state)
    state.equity = Decimal(9_700)
    engine.check_state(state)


def unrealized(engine: AlertEngine, state: FakeState) -> None:
    pos = Position("ETH-USD", size=Decimal(1), avg_entry_price=Decimal(1000))
    pos.mark_price = Decimal(700)
    state.positions = {"ETH-USD": pos}
    engine.check_state(state)


def stale_orders(engine: AlertEngine, state: FakeState) -> None:
    state.open_orders = [order("old", created_ts=T0 - 600 * NS), order("new", created_ts=T0)]
    engine.check_state(state)


def failed_orders(engine: AlertEngine, state: FakeState) -> None:
    for _ in range(3):
        cid = f"f{next(_seq)}"
        engine.on_event(intent(cid))
        engine.on_event(updated(cid, OrderStatus.UNKNOWN, reject_reason="timeout"))


Trigger = Callable[[AlertEngine, FakeState], object]

TRIGGERS: dict[str, Trigger] = {
    "connection_lost": lambda e, s: e.on_event(connection("coinbase.ws", "disconnected", "1006")),
    "rate_limit_high": lambda e, s: e.on_event(
        rest_call("GET", "/api/v3/brokerage/accounts", 200, 0.1, 3, 30)
    ),
    "bot_stopped": lambda e, s: e.on_event(stopped("error")),
    "circuit_breaker_open": lambda e, s: e.on_event(trip()),
    "execution_critical": lambda e, s: submissions(e, ok=3, bad=7),
    "execution_degraded": lambda e, s: submissions(e, ok=18, bad=2),
    "execution_p95_spike": lambda e, s: e.on_event(
        rest_call("POST", "/api/v3/brokerage/orders", 200, 3.5)
    ),
    "execution_retry_high": lambda e, s: [
        e.on_event(rest_call("GET", "/api/v3/brokerage/orders", 200, 0.1, retries=1))
        for _ in range(5)
    ],
    "reduce_only_active": lambda e, s: e.on_event(state_change(TradingState.REDUCE_ONLY)),
    "daily_loss_warning": daily_loss,
    "large_unrealized_loss": unrealized,
    "stale_open_orders": stale_orders,
    "failed_orders": failed_orders,
    "expired_orders": lambda e, s: e.on_event(updated("x1", OrderStatus.EXPIRED)),
    "venue_liquidation": lambda e, s: e.on_event(
        updated("liq-1", OrderStatus.FILLED, symbol="BTC-PERP-INTX", tag=LIQUIDATION_TAG)
    ),
    "cancel_unconfirmed": lambda e, s: e.on_event(
        CancelUnconfirmed(T0, "x1", "BTC-USD", 4, T0 - 60 * NS)
    ),
    "inventory_shrunk": lambda e, s: e.on_event(adjusted("shrunk", "-0.2", "0.3", "0.3")),
    "inventory_adopted": lambda e, s: e.on_event(adjusted("adopted", "0.5", "0.5", "1")),
}


def test_every_rule_has_a_trigger_and_a_hint() -> None:
    assert set(TRIGGERS) == set(RULES)
    assert len(RULES) >= 14
    for rule in RULES.values():
        assert rule.hint
        assert rule.summary


@pytest.mark.parametrize("rule", sorted(TRIGGERS))
def test_rule_fires_once_and_its_cooldown_holds_the_repeat_back(rule: str) -> None:
    clock, recorder, state = Clock(), Recorder(), FakeState()
    engine = AlertEngine(AlertsParams(cooldown_s=60), notifiers=[recorder], clock=clock)

    def count() -> int:
        return sum(1 for a in engine.fired if a.rule == rule)

    TRIGGERS[rule](engine, state)
    assert count() == 1
    clock.advance(30)
    TRIGGERS[rule](engine, state)
    assert count() == 1, "a repeat inside the cooldown must be held back"
    assert engine.suppressed[rule] >= 1
    clock.advance(31)
    TRIGGERS[rule](engine, state)
    assert count() == 2, "after the cooldown the rule fires again"
    engine.close()
    sent = [a for a in recorder.alerts if a.rule == rule]
    assert len(sent) == 2
    assert sent[0].hint == RULES[rule].hint
    assert sent[0].message


def test_cooldowns_are_per_key_and_per_rule_settings() -> None:
    clock = Clock()
    params = AlertsParams(cooldown_s=600, rules={"connection_lost": {"cooldown_s": 5}})
    engine = AlertEngine(params, notifiers=[], clock=clock)
    engine.on_event(connection("coinbase.ws", "disconnected"))
    engine.on_event(connection("coinbase.user_ws", "disconnected"))
    engine.on_event(connection("coinbase.ws", "disconnected"))
    assert [a.key for a in engine.fired] == ["coinbase.ws", "coinbase.user_ws"]
    clock.advance(6)
    engine.on_event(failed("feed:coinbase.market", "disconnected: reset by peer"))
    engine.on_event(connection("coinbase.ws", "disconnected"))
    assert [a.key for a in engine.fired][2:] == ["feed:coinbase.market", "coinbase.ws"]
    engine.close()


def test_a_disabled_rule_never_fires() -> None:
    engine = AlertEngine(
        AlertsParams(rules={"expired_orders": {"enabled": False}}), notifiers=[], clock=Clock()
    )
    engine.on_event(updated("x", OrderStatus.EXPIRED))
    assert engine.fired == []


def test_severity_follows_the_situation() -> None:
    engine = AlertEngine(notifiers=[], clock=Clock())
    (normal,) = engine.on_event(stopped("signal"))
    assert normal.severity == "warning"
    engine2 = AlertEngine(notifiers=[], clock=Clock())
    (crash,) = engine2.on_event(stopped("crashed"))
    assert crash.severity == "critical"
    engine3 = AlertEngine(notifiers=[], clock=Clock())
    assert engine3.on_event(trip(severity=Severity.WARN)) == []
    (warn,) = engine3.on_event(trip("daily_loss", Severity.WARN))
    assert warn.rule == "daily_loss_warning"
    assert engine3.on_event(state_change(TradingState.HALTED, operator=True)) == []
    (halt,) = engine3.on_event(state_change(TradingState.HALTED))
    assert halt.rule == "circuit_breaker_open"


def test_guard_rejections_are_not_execution_failures() -> None:
    from ops_support import rejected

    engine = AlertEngine(notifiers=[], clock=Clock())
    for i in range(20):
        engine.on_event(rejected(f"g{i}", source="guard:max_position"))
    assert engine.fired == []
    assert engine.stats.success_rate is None


def test_failed_orders_name_the_typed_reason_never_the_venue_text() -> None:
    from ops_support import rejected

    engine = AlertEngine(AlertsParams(cooldown_s=0), notifiers=[], clock=Clock())
    for i in range(3):
        engine.on_event(intent(f"r{i}"))
        engine.on_event(rejected(f"r{i}", reason=RejectReason.INSUFFICIENT_FUNDS))
    (funds,) = engine.fired
    assert funds.message.endswith("; last: INSUFFICIENT_FUNDS")
    assert funds.details["reason"] == "INSUFFICIENT_FUNDS"
    engine.on_event(intent("r3"))
    engine.on_event(rejected("r3", reason="Insufficient balance in source account"))
    assert engine.fired[-1].details["reason"] == "UNKNOWN"
    assert "balance" not in engine.fired[-1].message


def test_unknown_rules_and_notifiers_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown alert rule"):
        AlertsParams(rules={"conection_lost": {}})
    with pytest.raises(ValidationError):
        AlertsParams(notifiers=[{"kind": "pager"}])
    with pytest.raises(ValidationError, match="url or url_env"):
        AlertsParams(notifiers=[{"kind": "webhook"}])


async def test_the_alerts_sink_in_a_run_checks_state_on_a_timer_and_writes_a_file(
    tmp_path: Path,
) -> None:
    sinks = [
        {
            "use": "alerts",
            "check_interval_s": 0.02,
            "rules": {"reduce_only_active": {"cooldown_s": 0}},
        }
    ]
    runtime = await assemble(dev_config(sinks=sinks), plugin_manager(), tmp_path)
    await start(runtime)
    (sink,) = runtime.extra["gpt_trader_ops"].alerts
    runtime.kernel.operator_set_state(TradingState.REDUCE_ONLY, "test")

    def fired() -> int:
        return sum(1 for a in sink.engine.fired if a.rule == "reduce_only_active")

    from_event = fired()
    await until(lambda: fired() > from_event)  # the periodic state check fires it again
    from_timer = fired()
    await finish(runtime, "signal")
    assert from_event == 1
    assert from_timer > from_event, "the periodic state check did not run"
    lines = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    rules = {x["rule"] for x in lines}
    assert {"reduce_only_active", "bot_stopped"} <= rules
    assert all(x["run_id"] == runtime.run_id for x in lines)
    assert all(x["hint"] for x in lines)


async def test_a_shrunk_inventory_alerts_once_and_an_adoption_is_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Run 1 adopts 0.5 of the account's 1 BTC; between runs the user takes coins out of the
    (persisted) sim account, leaving 0.3; run 2 shrinks the bot's inventory to it."""
    config = dev_config(
        sinks=[{"use": "alerts"}],
        broker={"starting_balances": {"BTC": "1"}},
        run={"adopt_holdings": {"BTC-USD": {"size": "0.5", "cost": "60000"}}},
    )
    caplog.set_level("INFO", logger="gpt_trader.alerts")
    first = await assemble(config, plugin_manager(), tmp_path)
    await start(first)
    await finish(first, "signal")
    venue = tmp_path / "sim_exchange.json"
    state = json.loads(venue.read_text())
    state["ledger"]["total"]["BTC"] = "0.3"  # sold or withdrawn outside the bot
    venue.write_text(json.dumps(state))
    second = await assemble(config, plugin_manager(), tmp_path)
    await start(second)
    assert second.kernel.positions["BTC-USD"].size == Decimal("0.3")
    await finish(second, "signal")

    lines = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    inventory = [x for x in lines if x["rule"].startswith("inventory_")]
    assert [(x["rule"], x["severity"], x["run_id"]) for x in inventory] == [
        ("inventory_adopted", "info", first.run_id),
        ("inventory_shrunk", "warning", second.run_id),
    ]
    adopted, shrunk = (x["message"] for x in inventory)
    assert adopted == (
        "BTC-USD: 0.50000000 BTC adopted at 60000.00 into the bot's inventory "
        "(the account holds 1.00000000, the bot's inventory is now 0.50000000)"
    )
    assert shrunk == (
        "BTC-USD: the bot's inventory shrank by 0.20000000 BTC: the account holds "
        "0.30000000, the bot's inventory was 0.50000000 (now 0.30000000)"
    )
    assert inventory[1]["hint"] == RULES["inventory_shrunk"].hint
    sent = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == "gpt_trader.alerts" and "alert inventory_" in r.getMessage()
    ]
    assert [(level, adopted in text or shrunk in text) for level, text in sent] == [
        ("INFO", True),
        ("WARNING", True),
    ]
