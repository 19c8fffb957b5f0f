"""Seeded, reproducible fault injection for the protocol simulator.

Spec grammar (one string, also accepted as a JSON object of the same keys by the admin API)::

    spec   := item ("," item)*
    item   := key "=" value
    prob   := float in [0, 1] | percentage ("10%")
    dur    := number unit, unit in ms|s|m   ("50ms", "1.5s", "2m")

    key              value           effect
    seed             int             RNG seed (default: the server's --seed)
    latency          dur | dur..dur  extra delay before every REST reply (fixed or uniform range)
    429              prob            REST request refused: 429 + x-ratelimit-* headers
    5xx              prob            REST request fails: 500 INTERNAL or 503 UNAVAILABLE
    ambiguous        prob            order-mutating POST (orders, batch_cancel, edit, close_position)
                                     is APPLIED, then its reply is lost: delayed past the client's
                                     timeout or the connection dropped
    ambiguous_mode   delay|drop|mixed  how the reply is lost (default mixed)
    ambiguous_delay  dur             how long "delay" holds the reply (default 30s)
    ratelimit        int             enforce N private requests/s per key (429 beyond)
    paths            p1|p2           REST faults only for paths starting with these (after
                                     /api/v3/brokerage), e.g. paths=/orders
    ws_drop          prob            per WS frame: connection torn down without a close frame
    ws_1001          prob            per WS frame: close 1001 (going away)
    gap              prob            per WS frame: frame swallowed, its sequence number skipped
    dup              prob            per WS frame: frame sent twice (same sequence number)
    reorder          prob            per WS frame: held back and sent after the next frame
    malformed        prob            REST reply body spoiled (after the request was applied)
    ws_malformed     prob            per WS frame: frame spoiled (its sequence number kept)
    malformed_kinds  k1|k2           how payloads are spoiled: type, missing, enum, truncated,
                                     huge (default all; see mangle.py)
    stall            dur[@dur]       market-data frames stop for dur (starting @dur after the
                                     faults were applied, default at once); heartbeats go on

Reproducibility: every REST request draws the same number of uniforms from one stream
(``seed:rest``) in arrival order, and every WebSocket connection draws per frame from its own
stream (``seed:ws:<n>``, n = connection number in accept order). Same seed and same request /
frame order -> the same faults, whatever probabilities are changed for other kinds.
Malformed payloads draw from streams of their own (``seed:rest:malformed``,
``seed:ws:<n>:malformed``), so turning them on changes no other decision.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gpt_trader_coinbase_sim.mangle import KINDS, Kind

log = logging.getLogger("gpt_trader_coinbase_sim.faults")
AmbiguousMode = Literal["delay", "drop", "mixed"]
MUTATING_PATHS = ("/orders", "/orders/batch_cancel", "/orders/edit", "/orders/close_position")
_PROB_KEYS = (
    "429",
    "5xx",
    "ambiguous",
    "ws_drop",
    "ws_1001",
    "gap",
    "dup",
    "reorder",
    "malformed",
    "ws_malformed",
)


class FaultSpecError(ValueError):
    pass


MAX_DURATION_S = 86_400.0
_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$")


def parse_duration(text: str) -> float:
    """``50ms`` / ``1.5s`` / ``2m`` -> seconds."""
    m = _DUR.match(str(text))
    if not m:
        raise FaultSpecError(f"bad duration {text!r} (use e.g. 50ms, 2s, 1m)")
    value, unit = float(m.group(1)), m.group(2)
    seconds = value / 1000 if unit == "ms" else value * 60 if unit == "m" else value
    if seconds > MAX_DURATION_S:
        raise FaultSpecError(f"duration {text!r} is longer than a day")
    return seconds


def parse_prob(text: str) -> float:
    s = str(text).strip()
    try:
        p = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError as e:
        raise FaultSpecError(f"bad probability {text!r}") from e
    if not 0 <= p <= 1:
        raise FaultSpecError(f"probability {text!r} outside [0, 1]")
    return p


@dataclass(frozen=True)
class FaultConfig:
    seed: int | None = None
    latency: tuple[float, float] = (0.0, 0.0)
    p429: float = 0.0
    p5xx: float = 0.0
    ambiguous: float = 0.0
    ambiguous_mode: AmbiguousMode = "mixed"
    ambiguous_delay: float = 30.0
    ratelimit: int = 0
    paths: tuple[str, ...] = ()
    ws_drop: float = 0.0
    ws_1001: float = 0.0
    gap: float = 0.0
    dup: float = 0.0
    reorder: float = 0.0
    stall: float = 0.0
    stall_after: float = 0.0
    malformed: float = 0.0
    ws_malformed: float = 0.0
    malformed_kinds: tuple[Kind, ...] = KINDS

    @property
    def active(self) -> bool:
        return self != FaultConfig(seed=self.seed)

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "latency_s": list(self.latency),
            "429": self.p429,
            "5xx": self.p5xx,
            "ambiguous": self.ambiguous,
            "ambiguous_mode": self.ambiguous_mode,
            "ambiguous_delay_s": self.ambiguous_delay,
            "ratelimit": self.ratelimit,
            "paths": list(self.paths),
            "ws_drop": self.ws_drop,
            "ws_1001": self.ws_1001,
            "gap": self.gap,
            "dup": self.dup,
            "reorder": self.reorder,
            "stall_s": self.stall,
            "stall_after_s": self.stall_after,
            "malformed": self.malformed,
            "ws_malformed": self.ws_malformed,
            "malformed_kinds": list(self.malformed_kinds),
        }


def parse_spec(spec: str | dict[str, Any] | None) -> FaultConfig:
    """A FaultConfig from the spec string (or a dict of the same keys)."""
    if spec is None or spec == "":
        return FaultConfig()
    if isinstance(spec, dict):
        items = [(str(k), str(v)) for k, v in spec.items()]
    else:
        items = []
        for part in spec.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise FaultSpecError(f"fault item {part!r} is not key=value")
            items.append((key.strip(), value.strip()))
    cfg = FaultConfig()
    seen: set[str] = set()
    for key, value in items:
        if key in seen:
            raise FaultSpecError(f"fault {key!r} given twice")
        seen.add(key)
        cfg = _apply(cfg, key, value)
    return cfg


def _apply(cfg: FaultConfig, key: str, value: str) -> FaultConfig:
    if key == "seed":
        try:
            return replace(cfg, seed=int(value))
        except ValueError as e:
            raise FaultSpecError(f"bad seed {value!r}") from e
    if key == "latency":
        lo, _, hi = value.partition("..")
        a = parse_duration(lo)
        b = parse_duration(hi) if hi else a
        if b < a:
            raise FaultSpecError("latency range must be low..high")
        return replace(cfg, latency=(a, b))
    if key in ("429", "5xx"):
        return replace(cfg, **{f"p{key}": parse_prob(value)})
    if key in _PROB_KEYS:
        return replace(cfg, **{key: parse_prob(value)})
    if key == "ambiguous_mode":
        if value not in ("delay", "drop", "mixed"):
            raise FaultSpecError("ambiguous_mode is delay, drop or mixed")
        return replace(cfg, ambiguous_mode=value)  # type: ignore[arg-type]
    if key == "ambiguous_delay":
        return replace(cfg, ambiguous_delay=parse_duration(value))
    if key == "ratelimit":
        try:
            n = int(value)
        except ValueError as e:
            raise FaultSpecError(f"bad ratelimit {value!r} (requests per second, 0 = off)") from e
        if n < 0:
            raise FaultSpecError(f"ratelimit {value!r} is negative (requests per second, 0 = off)")
        return replace(cfg, ratelimit=n)
    if key == "paths":
        paths = tuple(p for p in value.split("|") if p)
        if not paths or not all(p.startswith("/") for p in paths):
            raise FaultSpecError(f"paths {value!r}: give /path prefixes joined by |, e.g. /orders")
        return replace(cfg, paths=paths)
    if key == "malformed_kinds":
        kinds = tuple(k for k in value.split("|") if k)
        unknown = [k for k in kinds if k not in KINDS]
        if not kinds or unknown:
            raise FaultSpecError(f"malformed_kinds {value!r}: use some of {'|'.join(KINDS)}")
        return replace(cfg, malformed_kinds=kinds)  # type: ignore[arg-type]
    if key == "stall":
        dur, _, after = value.partition("@")
        return replace(
            cfg,
            stall=parse_duration(dur),
            stall_after=parse_duration(after) if after else 0.0,
        )
    raise FaultSpecError(f"unknown fault {key!r}")


# -- decisions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestFault:
    """What to do to one REST request. ``index`` is its place in the REST stream."""

    index: int
    latency: float = 0.0
    status: int = 0  # 0: none; 429, 500 or 503
    ambiguous: Literal["", "delay", "drop"] = ""
    malformed: Kind | None = None  # the reply's body is spoiled this way
    # where the spoiling draws its place from (not part of the decision)
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    @property
    def none(self) -> bool:
        return self.latency == 0 and self.status == 0 and not self.ambiguous and not self.malformed


@dataclass(frozen=True)
class FrameFault:
    """What to do to one outgoing WebSocket frame."""

    index: int
    kind: Literal["", "drop", "1001", "gap", "dup", "reorder"] = ""
    malformed: Kind | None = None  # a frame sent (not dropped) is spoiled this way


@dataclass
class FaultEvent:
    kind: str
    where: str
    index: int
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "where": self.where, "index": self.index, "at": self.at}


class WsFaultStream:
    """The per-connection frame decisions (its own RNG, so connections do not interfere)."""

    def __init__(self, injector: FaultInjector, conn_index: int) -> None:
        self._inj = injector
        self.conn_index = conn_index
        self._rng = random.Random(f"{injector.seed}:ws:{conn_index}")
        self.spoil_rng = random.Random(f"{injector.seed}:ws:{conn_index}:malformed")
        self._frames = 0

    def next(self) -> FrameFault:
        cfg = self._inj.config
        # Always five draws per frame: a kind's decisions do not shift when another's
        # probability changes.
        u = [self._rng.random() for _ in range(5)]
        i = self._frames
        self._frames += 1
        kind: Literal["", "drop", "1001", "gap", "dup", "reorder"] = ""
        if u[0] < cfg.ws_drop:
            kind = "drop"
        elif u[1] < cfg.ws_1001:
            kind = "1001"
        elif u[2] < cfg.gap:
            kind = "gap"
        elif u[3] < cfg.dup:
            kind = "dup"
        elif u[4] < cfg.reorder:
            kind = "reorder"
        if kind:
            self._inj.record(kind, f"ws:{self.conn_index}", i)
        malformed = _spoils(self.spoil_rng, cfg.ws_malformed, cfg.malformed_kinds)
        if kind not in ("", "dup", "reorder"):
            malformed = None  # the frame is not sent at all
        if malformed:
            self._inj.record(f"malformed_{malformed}", f"ws:{self.conn_index}", i)
        return FrameFault(i, kind, malformed)


def _spoils(rng: random.Random, p: float, kinds: tuple[Kind, ...]) -> Kind | None:
    """Whether to spoil a payload, and how: always two draws, so the stream stays aligned."""
    u, pick = rng.random(), rng.random()
    return kinds[int(pick * len(kinds))] if u < p else None


class FaultInjector:
    """Holds the current fault config and hands out decisions; reconfigurable at run time."""

    LOG_MAX = 10_000

    def __init__(self, config: FaultConfig | None = None, *, default_seed: int = 0) -> None:
        self.default_seed = default_seed
        self.log: deque[FaultEvent] = deque(maxlen=self.LOG_MAX)
        self.counts: dict[str, int] = {}
        self._ws_connections = 0
        self.configure(config or FaultConfig())

    @property
    def seed(self) -> int:
        return self.config.seed if self.config.seed is not None else self.default_seed

    def configure(self, config: FaultConfig) -> None:
        """Install ``config`` and restart every stream from its seed (so a test can replay)."""
        self.config = config
        self._rest_rng = random.Random(f"{self.seed}:rest")
        self._spoil_rng = random.Random(f"{self.seed}:rest:malformed")
        self._rest_index = 0
        self._ws_connections = 0
        self._applied_at = time.monotonic()
        self._window: dict[str, tuple[int, int]] = {}
        self.log.clear()
        self.counts.clear()

    def record(self, kind: str, where: str, index: int) -> None:
        self.log.append(FaultEvent(kind, where, index))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind != "latency":  # a delay on every request would drown the rest
            log.info("injected fault %s on %s (#%d)", kind, where, index)

    # REST

    def applies_to(self, path: str) -> bool:
        if not self.config.paths:
            return True
        return any(path.startswith(p) for p in self.config.paths)

    def rest(self, method: str, path: str) -> RestFault:
        """The fault for one REST request; ``path`` is relative to /api/v3/brokerage."""
        cfg = self.config
        if not cfg.active or not self.applies_to(path):
            return RestFault(-1)
        u = [self._rest_rng.random() for _ in range(6)]
        i = self._rest_index
        self._rest_index += 1
        lo, hi = cfg.latency
        latency = lo + (hi - lo) * u[0]
        status = 0
        ambiguous: Literal["", "delay", "drop"] = ""
        if u[1] < cfg.p429:
            status = 429
        elif u[2] < cfg.p5xx:
            status = 503 if u[5] < 0.5 else 500
        elif method == "POST" and path in MUTATING_PATHS and u[3] < cfg.ambiguous:
            mode = cfg.ambiguous_mode
            ambiguous = ("delay" if u[4] < 0.5 else "drop") if mode == "mixed" else mode
        if latency:
            self.record("latency", f"rest:{method} {path}", i)
        if status:
            self.record(str(status), f"rest:{method} {path}", i)
        if ambiguous:
            self.record(f"ambiguous_{ambiguous}", f"rest:{method} {path}", i)
        malformed = _spoils(self._spoil_rng, cfg.malformed, cfg.malformed_kinds)
        if malformed and not status and ambiguous != "drop":
            self.record(f"malformed_{malformed}", f"rest:{method} {path}", i)
        else:
            malformed = None
        return RestFault(i, latency, status, ambiguous, malformed, self._spoil_rng)

    def rate_limited(self, key_name: str) -> tuple[bool, int, int]:
        """Count a private request for ``key_name``: ``(over_limit, limit, remaining)``."""
        limit = self.config.ratelimit or 30
        second = int(time.time())
        start, used = self._window.get(key_name, (second, 0))
        if start != second:
            start, used = second, 0
        used += 1
        self._window[key_name] = (start, used)
        over = bool(self.config.ratelimit) and used > limit
        if over:
            self.record("ratelimit", f"key:{key_name[-12:]}", used)
        return over, limit, max(limit - used, 0)

    # WebSocket

    def ws_stream(self) -> WsFaultStream:
        n = self._ws_connections
        self._ws_connections += 1
        return WsFaultStream(self, n)

    def stalled(self) -> bool:
        """Whether market-data frames are held back right now (heartbeats are not)."""
        cfg = self.config
        if cfg.stall <= 0:
            return False
        elapsed = time.monotonic() - self._applied_at
        return cfg.stall_after <= elapsed < cfg.stall_after + cfg.stall

    def status(self) -> dict[str, Any]:
        return {
            "config": self.config.describe(),
            "seed": self.seed,
            "active": self.config.active,
            "stalled": self.stalled(),
            "counts": dict(self.counts),
        }
