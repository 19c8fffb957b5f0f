"""Base classes of component settings models (pydantic: loaded when a profile validates or
builds a component, not when plugins are listed)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    """Settings model for components that take no parameters (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Params(BaseModel):
    """Base for component settings models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def caveats(self, universe: Sequence[str], mode: str) -> list[str]:
        """What the component, so configured, cannot do for a run of ``universe`` in
        ``mode`` (``sim``, ``paper``, ``live``): one readable line each, for ``preflight``
        to report before the run. A guard that cannot judge some orders says so here."""
        return []
