"""What a Coinbase broker is told (``BrokerConfig``, from the profile's params) and what it
counts (``BrokerStats``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class BrokerConfig:
    universe: tuple[str, ...] = ()
    quote_currency: str = "USD"
    reserve: Mapping[str, Decimal] = field(default_factory=dict)
    # How often the kernel asks for reports (``ReportingBroker.reconcile_interval_s``).
    reconcile_interval_s: float = 15.0
    fills_window_s: float = 120.0
    user_silence_s: float = 10.0
    ambiguous_grace_s: float = 10.0
    ack_watch_s: float = 1.0
    # Orders and fills of products outside the universe (a manual order on another pair)
    # are none of the kernel's business: never reported, never adopted, never cancelled.
    scoped: bool = True
    connect_wait_s: float = 5.0
    cancel_batch: int = 100
    # Preview every order first and refuse what the venue would refuse (``[execution]``).
    preview: bool = False


@dataclass
class BrokerStats:
    submits: int = 0
    ambiguous_submits: int = 0
    rejected_submits: int = 0
    previews: int = 0
    create_calls: dict[str, int] = field(default_factory=dict)
    resyncs: int = 0
    resync_reasons: list[str] = field(default_factory=list)
    sync_fetches: int = 0
