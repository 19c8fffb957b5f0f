"""What one scenario does, drawn from its seed: the simulator's faults and the crash points.

A scenario's seed decides everything, so ``gpt-trader chaos --replay SEED`` reruns it
exactly: the fault spec handed to the simulator (its injector draws from the same seed)
and each crash point, a hook kind and which occurrence of it kills the bot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gpt_trader.errors import UserError
from gpt_trader_coinbase_sim.faults import FaultSpecError, parse_spec

# Where a crash lands: after the intent row is committed and before the order is sent;
# after the venue applied the order and before its reply reaches the bot; after a fill was
# applied in memory and before the store had it; in the middle of a reconcile.
CRASH_KINDS = ("after_intent", "before_reply", "mid_fill", "mid_reconcile")

# Every fault kind of the simulator, strong enough that a few hundred virtual seconds see
# each; a scenario draws its own probabilities within these ranges.
MIXES = {
    "harsh": {
        "429": (0.0, 0.05),
        "5xx": (0.0, 0.05),
        "ambiguous": (0.0, 0.2),
        "ws_drop": (0.0, 0.003),
        "ws_1001": (0.0, 0.003),
        "gap": (0.0, 0.01),
        "dup": (0.0, 0.01),
        "reorder": (0.0, 0.01),
    },
    "none": {},
}

# The shipped profiles whose broker is a Coinbase one against the simulator.
PROFILES = ("coinbase-sim", "cfm-sim", "intx-sim")


@dataclass(frozen=True)
class CrashPoint:
    kind: str
    nth: int  # the bot dies at this occurrence of the hook within its run

    def __str__(self) -> str:
        return f"{self.kind}#{self.nth}"


@dataclass(frozen=True)
class Plan:
    seed: int
    profile: str
    faults: str
    crashes: tuple[CrashPoint, ...]
    duration_s: float
    exits: bool = True  # a seeded share trades with [exits] (invariants_brackets.exits_for)

    def replay_command(self) -> str:
        return f"gpt-trader chaos --replay {self.seed} --profile {self.profile}"


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise UserError(
            f"profile {profile!r} has no Coinbase broker for chaos "
            f"(use one of {', '.join(PROFILES)})"
        )


def check_faults(spec: str | None, mix: str | None) -> None:
    """A malformed spec or an unknown mix is the user's to fix: one line."""
    if spec and mix:
        raise UserError("give --faults or --mix, not both")
    if mix is not None and mix not in MIXES:
        raise UserError(f"unknown fault mix {mix!r} (known: {', '.join(MIXES)})")
    if spec:
        try:
            parse_spec(spec)
        except FaultSpecError as exc:
            raise UserError(f"--faults: {exc}") from None


def draw(
    seed: int,
    *,
    profile: str = "coinbase-sim",
    faults: str | None = None,
    mix: str | None = "harsh",
    max_crashes: int = 2,
    duration_s: float = 240.0,
    exits: bool = True,
) -> Plan:
    rng = random.Random(f"chaos:{seed}")
    if faults:
        spec = faults
    else:
        ranges = MIXES[mix or "none"]
        spec = ",".join(f"{k}={rng.uniform(lo, hi):.4f}" for k, (lo, hi) in ranges.items())
    if spec:
        # a short ambiguous delay: past the client's submit timeout, within the scenario
        spec += ",ambiguous_delay=8s" if "ambiguous_delay" not in spec else ""
    crashes = tuple(
        CrashPoint(rng.choice(CRASH_KINDS), rng.randint(1, 3))
        for _ in range(rng.randint(0, max_crashes))
    )
    return Plan(seed, profile, spec, crashes, duration_s, exits)
