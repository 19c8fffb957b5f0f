"""Errors that reach the user as one readable line (the CLI exits 2 on them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Every command imports this module; the domain package loads with what needs it.
    from gpt_trader.domain.reasons import RejectReason


class UserError(Exception):
    """Bad input from the user: a profile, a config value, a file. Shown as one line, exit 2."""


class ConfigError(UserError):
    """A profile or component configuration that does not validate."""


class ComponentNotFound(UserError):
    """A profile names a component that no installed plugin registers."""


class ComponentClash(UserError):
    """Two plugins register one component name; trading with either would be a guess."""


class BrokerError(Exception):
    """A broker call failed for a reason the kernel should record and survive."""


class VenueRefused(BrokerError):
    """The venue refused a cancel or an edit; ``reason`` says why, so a caller can choose
    (an edit refused as ``EDIT_NOT_LIMIT`` becomes a cancel and a new order)."""

    def __init__(self, message: str, reason: RejectReason) -> None:
        super().__init__(message)
        self.reason = reason


class StoreError(Exception):
    """The store could not record something; the kernel must not act without it."""
