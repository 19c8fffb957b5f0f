"""The alert rules: each one's name, severity, one-line summary and what to do about it.

Data only, so the settings can check rule names without loading the alerts sink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Severity
    summary: str
    hint: str


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule(
            "connection_lost",
            "critical",
            "a venue connection (market data or user channel) dropped",
            "The feed reconnects by itself; check the network and status.coinbase.com. If it "
            "stays down, restart the bot (it reconciles orders); open orders stay at the venue.",
        ),
        Rule(
            "rate_limit_high",
            "warning",
            "few requests left in the venue's rate-limit window",
            "Slow down: raise polling intervals, trade fewer symbols, or stop other bots "
            "sharing this API key.",
        ),
        Rule(
            "bot_stopped",
            "warning",
            "the run ended",
            "Read the log and `gpt-trader status --state-dir DIR`; restart with `gpt-trader run` "
            "(it resumes and reconciles with the venue).",
        ),
        Rule(
            "circuit_breaker_open",
            "critical",
            "a runtime guard tripped and tightened the trading state",
            "Find the guard's message in `gpt-trader status`; fix the cause, then "
            "`gpt-trader resume --reason ...`. Only an operator loosens the state.",
        ),
        Rule(
            "execution_critical",
            "critical",
            "most recent order submissions failed",
            "Broker calls are failing: check the venue's status, key permissions and rate "
            "limits; `gpt-trader pause` until it recovers.",
        ),
        Rule(
            "execution_degraded",
            "warning",
            "order submissions are failing more than usual",
            "Watch the reject reasons in the log; check connectivity and the venue's status.",
        ),
        Rule(
            "execution_p95_spike",
            "warning",
            "request latency is high",
            "The venue or the network is slow: market orders may slip. Consider pausing "
            "entries until latency recovers.",
        ),
        Rule(
            "execution_retry_high",
            "warning",
            "many requests need retries",
            "Timeouts or 5xx answers: check connectivity and status.coinbase.com.",
        ),
        Rule(
            "venue_liquidation",
            "critical",
            "the venue liquidated a derivative position",
            "The margin ran out before the bot cut the position: check `gpt-trader positions` "
            "and the pool's balance; consider `liquidation_buffer` with a wider "
            "`reduce_within`, or less leverage.",
        ),
        Rule(
            "cancel_unconfirmed",
            "critical",
            "the venue neither confirmed a cancel nor reported the order over",
            "The order may still fill. Check it at the venue (`gpt-trader orders list`) and "
            "in `gpt-trader status`; cancel it there by hand if needed. No new entry goes on "
            "its product until the venue reports it over (the reconcile keeps asking).",
        ),
        Rule(
            "reduce_only_active",
            "warning",
            "the bot is in REDUCE_ONLY: only exits are allowed",
            "Investigate the guard trip that caused it; `gpt-trader resume --reason ...` when "
            "it is safe to trade again.",
        ),
        Rule(
            "daily_loss_warning",
            "warning",
            "today's loss is approaching the limit",
            "Review open positions; at the limit the daily-loss breaker switches to reduce-only.",
        ),
        Rule(
            "large_unrealized_loss",
            "warning",
            "a position carries a large unrealised loss",
            "Review the position; close it manually (`gpt-trader reduce-only` blocks new "
            "entries meanwhile) or tighten the strategy's exits.",
        ),
        Rule(
            "stale_open_orders",
            "warning",
            "orders have been working longer than expected",
            "Check the prices are reachable and the venue sees them; `gpt-trader cancel-all` "
            "clears them.",
        ),
        Rule(
            "failed_orders",
            "warning",
            "orders were rejected by the venue or their outcome is unknown",
            "Read the reject reasons (funds, size increments, permissions) in the log or the "
            "store; unknown orders are looked up by client id automatically.",
        ),
        Rule(
            "expired_orders",
            "info",
            "orders expired without filling",
            "Check limit prices and time in force (GTD end times, IOC on thin books).",
        ),
        Rule(
            "inventory_shrunk",
            "warning",
            "the account holds less of a coin than the bot's inventory: the bot's shrank",
            "Coins the bot bought were sold or withdrawn outside it; it now trades only what "
            "is left (recorded, so a restart agrees). Check the venue's history; if the coins "
            "should be the bot's again, deposit them and adopt them with `[run] "
            "adopt_holdings` and their cost.",
        ),
        Rule(
            "inventory_adopted",
            "info",
            "holdings the profile hands the bot were adopted into its inventory",
            "The bot may now sell them, at the cost given in `[run] adopt_holdings`; remove "
            "the entry from the profile once it is recorded (it is never adopted twice).",
        ),
    )
}
