"""Replaying a recorded session: its market events through the replay driver, compared with
what the session recorded, decision by decision and trade by trade.

A session (``gpt-trader run`` with ``run.record_market``) logs every market event it saw
(type ``market``; ``payload["event"]`` is the Candle/Ticker/Trade/BookUpdate as JSON), and
every decision, order intent, order update and fill. The replay rebuilds the domain objects
(Decimals from their exact text), assembles the run's profile with the replay driver's
clock and the sim broker (persistence off, no store, no profile sinks), feeds the events
through :func:`gpt_trader.runtime.replay.run_events`, and lines the two records up:

- decisions by their order, each tagged with how many market events preceded it (its
  position in the stream), its time, symbol, action, confidence, votes, outcome and detail;
- order intents by their sequence number (client order ids differ by the run id prefix);
- fills in order: price, size, fee, side, time;
- the final status of each order.

What can legitimately differ, and is reported as such: a session resumed from an earlier
one (it started with that run's positions and sim exchange state; a replay starts flat), a
paper/live session (its kernel clock is the wall clock, so decision times differ even when
the decisions do not), and runtime guards (the live driver runs them on a wall-clock timer,
the replay driver at event-time intervals).

Orders and fills are compared as recorded, to the last digit; a difference shows its
prices, sizes and fees as every report does (the product's increments, the quote
currency's, half-even). Two figures that differ by less than the increment print alike:
such a difference says ``below_increment`` (the store has the exact values).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpt_trader.config import BotConfig, ComponentRef, load_config
from gpt_trader.domain import BookUpdate, Candle, Ticker, Trade
from gpt_trader.domain.events import to_jsonable
from gpt_trader.domain.market import MarketEvent
from gpt_trader.errors import UserError
from gpt_trader.plugins import PluginManager, make_plugin_manager

from gpt_trader_research.components import Recorder
from gpt_trader_research.results import Units

RECORDER = "research.recorder"


# ---- market events from the log ---------------------------------------------------------


def market_event(data: dict[str, Any]) -> MarketEvent:
    """A domain market event from its ``to_jsonable`` form (Decimals from exact text)."""
    kind = data.get("kind")
    d = Decimal
    if kind == "Candle":
        return Candle(
            data["symbol"],
            int(data["ts"]),
            d(data["open"]),
            d(data["high"]),
            d(data["low"]),
            d(data["close"]),
            d(data["volume"]),
            int(data.get("interval_s", 60)),
        )
    if kind == "Ticker":
        return Ticker(
            data["symbol"],
            int(data["ts"]),
            d(data["price"]),
            d(data["bid"]),
            d(data["ask"]),
            d(data.get("bid_size", "0")),
            d(data.get("ask_size", "0")),
        )
    if kind == "Trade":
        return Trade(
            data["symbol"],
            int(data["ts"]),
            str(data["trade_id"]),
            d(data["price"]),
            d(data["size"]),
            str(data["side"]),
        )
    if kind == "BookUpdate":
        return BookUpdate(
            data["symbol"],
            int(data["ts"]),
            tuple((d(p), d(s)) for p, s in data["bids"]),
            tuple((d(p), d(s)) for p, s in data["asks"]),
            bool(data.get("snapshot", False)),
        )
    raise UserError(f"recorded market event of unknown kind {kind!r}")


class RecordedFeed:
    """The recorded market events, as a replayable feed (the replay driver takes them)."""

    def __init__(self, events: list[MarketEvent]) -> None:
        self._events = events

    def events(self, symbols: Any) -> Any:
        return iter(self._events)


# ---- the recorded session ------------------------------------------------------------------


@dataclass
class Session:
    run_id: str
    profile: str
    mode: str
    resumed_from: str
    market: list[MarketEvent]
    decisions: list[dict[str, Any]]
    intents: list[dict[str, Any]]
    fills: list[dict[str, Any]]
    final_status: dict[int, str]
    record_market: bool = True


def _seq(client_order_id: str, run_id: str) -> int:
    prefix = f"{run_id}-"
    tail = client_order_id[len(prefix) :] if client_order_id.startswith(prefix) else client_order_id
    try:
        return int(tail.rsplit("-", 1)[-1])
    except ValueError:
        return -1


def _strip(text: str, run_id: str) -> str:
    return text.replace(f"{run_id}-", "<run>-")


def load_session(state_dir: Path, run_id: str | None) -> Session:
    from gpt_trader.store import Store

    db = Path(state_dir) / "gpt_trader.db"
    if not db.is_file():
        raise UserError(f"no store in {state_dir} (expected {db}); record a session there first")
    store = Store(db, create=False)
    try:
        run = store.run(run_id) if run_id else store.last_run()
        if run is None:
            known = ", ".join(r.run_id for r in store.runs()[-5:]) or "none"
            what = f"no run {run_id!r}" if run_id else "no runs"
            raise UserError(f"{what} in {db} (latest: {known})")
        rows = store.events(
            run_id=run.run_id, types=["market", "decision", "order.intent", "order.updated", "fill"]
        )
    finally:
        store.close()
    market: list[MarketEvent] = []
    decisions: list[dict[str, Any]] = []
    intents: list[dict[str, Any]] = []
    fills: list[dict[str, Any]] = []
    final: dict[int, str] = {}
    for row in rows:
        p = row.payload
        if row.type == "market":
            market.append(market_event(p["event"]))
        elif row.type == "decision":
            decisions.append(_decision_row(p, len(market), run.run_id))
        elif row.type == "order.intent":
            intents.append(_intent_row(p["request"], run.run_id))
        elif row.type == "order.updated":
            o = p["order"]
            final[_seq(o["client_order_id"], run.run_id)] = o["status"]
        elif row.type == "fill":
            fills.append(_fill_row(p["fill"], run.run_id))
    if not market:
        raise UserError(
            f"run {run.run_id} recorded no market events (was run.record_market off?); "
            "there is nothing to replay"
        )
    return Session(
        run.run_id,
        run.profile,
        run.mode,
        run.resumed_from,
        market,
        decisions,
        intents,
        fills,
        final,
    )


def _decision_row(p: dict[str, Any], at: int, run_id: str) -> dict[str, Any]:
    d = p["decision"]
    return {
        "after_market_events": at,
        "ts": int(d["ts"]),
        "symbol": d["symbol"],
        "action": d["action"],
        "confidence": d["confidence"],
        "votes": [(v["name"], v["action"]) for v in d.get("votes", [])],
        "outcome": p["outcome"],
        "detail": _strip(str(p.get("detail", "")), run_id),
    }


def _intent_row(r: dict[str, Any], run_id: str) -> dict[str, Any]:
    return {
        "seq": _seq(r["client_order_id"], run_id),
        "symbol": r["symbol"],
        "side": r["side"],
        "size": r["size"],
        "order_type": r["order_type"],
        "reduce_only": r["reduce_only"],
        "limit_price": r.get("limit_price"),
    }


def _fill_row(f: dict[str, Any], run_id: str) -> dict[str, Any]:
    return {
        "seq": _seq(f["client_order_id"], run_id),
        "symbol": f["symbol"],
        "side": f["side"],
        "price": f["price"],
        "size": f["size"],
        "fee": f["fee"],
        "liquidity": f["liquidity"],
        "ts": int(f["ts"]),
    }


# ---- replaying -----------------------------------------------------------------------------


def replay_config(config: BotConfig) -> BotConfig:
    """The run's profile for a replay: its sinks replaced by the recorder, nothing recorded."""
    run = config.run.model_copy(update={"record_market": False})
    return config.model_copy(update={"sinks": [ComponentRef(use=RECORDER)], "run": run})


async def _replay(
    config: BotConfig, pm: PluginManager, session: Session
) -> tuple[Recorder, dict[str, Any], dict[str, Units]]:
    from gpt_trader.app import assemble, finish, start
    from gpt_trader.runtime.replay import run_events

    with tempfile.TemporaryDirectory(prefix="gpt-trader-replay-") as tmp:
        runtime = await assemble(
            config,
            pm,
            Path(tmp),
            replay=True,
            durable=False,
            feed_override=RecordedFeed(session.market),
        )
        kernel = runtime.kernel
        recorder = next(s for s in kernel.parts.sinks if isinstance(s, Recorder))
        recorder.kernel = kernel
        await start(runtime, hooks=False)
        reason = "error"
        try:
            await run_events(
                kernel,
                runtime.clock,
                iter(session.market),
                guard_interval_s=config.run.guard_interval_s,
            )
            reason = "replayed"
        finally:
            summary = await finish(runtime, reason, hooks=False)
    units = {symbol: Units.of(p) for symbol, p in kernel.products.items()}
    return recorder, {**summary, "run_id": runtime.run_id}, units


# How an order's or a fill's figure is printed: the Units method for its field.
FIGURES = {"price": "price", "limit_price": "price", "size": "size", "fee": "cash"}


def _figure(units: Units | None, name: str, value: Any) -> Any:
    how = FIGURES.get(name)
    if units is None or how is None or not isinstance(value, str):
        return value
    return getattr(units, how)(Decimal(value))


def _shown(units: Units | None, name: str, value: Any) -> Any:
    """A difference's side as printed: a figure, or a whole row (its figures rounded)."""
    if isinstance(value, dict):
        return {k: _figure(units, k, v) for k, v in value.items()}
    return _figure(units, name, value)


@dataclass
class Difference:
    kind: str  # decision | order | fill | status
    index: int
    field: str
    recorded: Any
    replayed: Any
    symbols: tuple[str, str] = ("", "")  # of the recorded and the replayed order or fill

    def to_json(self, units: dict[str, Units] | None = None) -> dict[str, Any]:
        units = units or {}
        recorded = _shown(units.get(self.symbols[0]), self.field, self.recorded)
        replayed = _shown(units.get(self.symbols[1]), self.field, self.replayed)
        return {
            "kind": self.kind,
            "index": self.index,
            "field": self.field,
            "recorded": recorded,
            "replayed": replayed,
            "below_increment": recorded == replayed,
        }


@dataclass
class ReplayReport:
    session: Session
    replay_run_id: str
    counts: dict[str, dict[str, int]]
    differences: list[Difference]
    notes: list[str] = field(default_factory=list)
    units: dict[str, Units] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {}
        for d in self.differences:
            by_kind[d.kind] = by_kind.get(d.kind, 0) + 1
        return {
            "run_id": self.session.run_id,
            "profile": self.session.profile,
            "mode": self.session.mode,
            "replay_run_id": self.replay_run_id,
            "market_events": len(self.session.market),
            "counts": self.counts,
            "identical": self.identical,
            "differences_by_kind": by_kind,
            "differences": [d.to_json(self.units) for d in self.differences],
            "notes": self.notes,
        }


def _compare(
    kind: str, recorded: list[dict[str, Any]], replayed: list[dict[str, Any]], fields: list[str]
) -> list[Difference]:
    out: list[Difference] = []
    for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
        for name in fields:
            if a.get(name) != b.get(name):
                symbols = (str(a.get("symbol", "")), str(b.get("symbol", "")))
                out.append(Difference(kind, i, name, a.get(name), b.get(name), symbols))
    if len(recorded) != len(replayed):
        longer, side = (
            (recorded, "recorded") if len(recorded) > len(replayed) else (replayed, "replayed")
        )
        for i in range(min(len(recorded), len(replayed)), len(longer)):
            item = longer[i]
            symbol = str(item.get("symbol", ""))
            out.append(
                Difference(
                    kind,
                    i,
                    "missing",
                    item if side == "recorded" else None,
                    item if side == "replayed" else None,
                    (symbol, symbol),
                )
            )
    return out


def compare(session: Session, recorder: Recorder, replay_run_id: str) -> ReplayReport:
    replayed_decisions = [
        _decision_row(to_jsonable(ev), at, replay_run_id) for at, ev in recorder.decisions
    ]
    replayed_intents = [
        _intent_row(to_jsonable(ev.request), replay_run_id) for ev in recorder.intents
    ]
    replayed_fills = [_fill_row(to_jsonable(ev.fill), replay_run_id) for ev in recorder.fills]
    replayed_final: dict[int, str] = {}
    for ev in recorder.updates:
        replayed_final[_seq(ev.order.client_order_id, replay_run_id)] = ev.order.status.value
    diffs = _compare(
        "decision",
        session.decisions,
        replayed_decisions,
        [
            "after_market_events",
            "ts",
            "symbol",
            "action",
            "confidence",
            "votes",
            "outcome",
            "detail",
        ],
    )
    diffs += _compare(
        "order",
        session.intents,
        replayed_intents,
        ["seq", "symbol", "side", "size", "order_type", "reduce_only", "limit_price"],
    )
    diffs += _compare(
        "fill",
        session.fills,
        replayed_fills,
        ["seq", "symbol", "side", "price", "size", "fee", "ts"],
    )
    for seq in sorted(set(session.final_status) | set(replayed_final)):
        a, b = session.final_status.get(seq), replayed_final.get(seq)
        if a != b:
            diffs.append(Difference("status", seq, "final_status", a, b))
    notes: list[str] = []
    if session.resumed_from:
        notes.append(
            f"run {session.run_id} resumed from {session.resumed_from}: it started with that "
            "run's positions and sim exchange state, a replay starts flat"
        )
    if session.mode in ("paper", "live"):
        notes.append(
            f"a {session.mode} session's kernel clock is the wall clock: decision times "
            "differ from the replay's event times even where decisions agree"
        )
    counts = {
        "decisions": {"recorded": len(session.decisions), "replayed": len(replayed_decisions)},
        "orders": {"recorded": len(session.intents), "replayed": len(replayed_intents)},
        "fills": {"recorded": len(session.fills), "replayed": len(replayed_fills)},
    }
    return ReplayReport(session, replay_run_id, counts, diffs, notes)


def replay_run(
    state_dir: Path,
    run_id: str | None,
    *,
    profile: str | None = None,
    pm: PluginManager | None = None,
) -> ReplayReport:
    """Replay ``run_id`` (default: the last run) of the store in ``state_dir``."""
    session = load_session(state_dir, run_id)
    name = profile or session.profile
    try:
        config = load_config(name)
    except UserError as exc:
        raise UserError(
            f"cannot load profile {name!r} of run {session.run_id} ({exc}); pass --profile"
        ) from None
    if config.broker.use != "sim":
        config = config.model_copy(update={"broker": ComponentRef(use="sim")})
    pm = pm or make_plugin_manager()
    recorder, summary, units = asyncio.run(_replay(replay_config(config), pm, session))
    report = compare(session, recorder, summary["run_id"])
    report.units = units
    if config.broker.use == "sim" and session.mode in ("paper", "live"):
        report.notes.append("the replay fills on the sim broker, not on the venue the session used")
    return report


def show_replay(report: ReplayReport, console: Any, limit: int) -> None:
    from rich.table import Table

    s = report.session
    verdict = (
        "[green]identical[/]"
        if report.identical
        else f"[red]{len(report.differences)} difference(s)[/]"
    )
    console.print(
        f"replay of {s.run_id} (profile {s.profile}, {s.mode}): {len(s.market):,} market events; "
        + verdict
    )
    table = Table("", "Recorded", "Replayed")
    for key, c in report.counts.items():
        table.add_row(key, str(c["recorded"]), str(c["replayed"]))
    console.print(table)
    if report.differences and limit:
        diff = Table("Kind", "#", "Field", "Recorded", "Replayed", title="differences")
        for d in report.differences[:limit]:
            shown = d.to_json(report.units)
            replayed = str(shown["replayed"])
            if shown["below_increment"]:
                replayed += " (differs below the increment)"
            diff.add_row(d.kind, str(d.index), d.field, str(shown["recorded"]), replayed)
        console.print(diff)
        if len(report.differences) > limit:
            console.print(f"... and {len(report.differences) - limit} more (see --json)")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
