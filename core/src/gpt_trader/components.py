"""Typed component specs: what a plugin registers, and how a profile builds one.

Every plugin's entry module imports this, and every CLI command imports those: it imports
no pydantic (the settings models' base classes are in :mod:`gpt_trader.params`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    # Annotations only: a plugin's entry module imports this, and listing plugins or
    # --help must not pay for the whole domain package.
    from gpt_trader.domain.products import Product


class Kind(StrEnum):
    BROKER = "broker"
    FEED = "feed"
    SIGNAL = "signal"
    VOTER = "voter"
    FILTER = "filter"
    SIZER = "sizer"
    GUARD = "guard"
    SINK = "sink"


@dataclass(frozen=True)
class BuildContext:
    """What a factory may know about the run it is built for."""

    profile: str
    mode: str
    universe: tuple[str, ...]
    products: dict[str, Product]
    state_dir: Path
    seed: int = 0
    symbol: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    catalogues: tuple[ProductCatalogue, ...] = ()
    """Product catalogues the plugins registered (``register_products``)."""

    def for_symbol(self, symbol: str) -> BuildContext:
        return BuildContext(
            profile=self.profile,
            mode=self.mode,
            universe=self.universe,
            products=self.products,
            state_dir=self.state_dir,
            seed=self.seed,
            symbol=symbol,
            options=self.options,
            catalogues=self.catalogues,
        )


@dataclass(frozen=True)
class ProductCatalogue:
    """Products a plugin describes by symbol, for the brokers that simulate a venue (the
    ``sim`` broker, backtests) when a symbol is not in their own table.

    ``lookup(symbol)`` returns the :class:`Product` (a FUTURE / PERPETUAL one with its
    ``derivative`` terms) or None when the symbol is not the catalogue's; ``examples``
    are symbols an error message may name.
    """

    name: str
    lookup: Callable[[str], Product | None]
    examples: tuple[str, ...] = ()


def load(ref: str) -> Any:
    """The object ``ref`` names as ``"package.module:attribute"``, importing its module."""
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class ComponentSpec:
    """A named component a plugin offers.

    ``factory(params, ctx)`` builds it from a validated ``params`` (an instance of
    ``settings_model``) and the run's :class:`BuildContext`. Names are lower-case and never
    repeat the kind, which the profile section already says (``kelly``, not ``sizer.kelly``);
    a namespace of the plugin's own may lead (``myvenue.spot``). Two plugins offering one
    name is an error.

    ``settings_model`` and ``factory`` may be given as ``"package.module:name"``: the
    module is imported when a profile validates or builds the component, so listing
    plugins, ``--help`` and runs that do not use it never pay for it.
    """

    name: str
    kind: Kind
    factory: Callable[[Any, BuildContext], Any] | str
    settings_model: type[BaseModel] | str = "gpt_trader.params:NoParams"
    summary: str = ""
    per_symbol: bool = False

    def load_settings_model(self) -> type[BaseModel]:
        """The settings model, imported first when it was given by name."""
        model = self.settings_model
        if isinstance(model, str):
            loaded: type[BaseModel] = load(model)
            return loaded
        return model

    def build(self, params: dict[str, Any], ctx: BuildContext) -> Any:
        settings = self.load_settings_model().model_validate(params)
        return self.load_factory()(settings, ctx)

    def load_factory(self) -> Callable[[Any, BuildContext], Any]:
        """The factory, imported first when it was given by name."""
        factory = self.factory
        if isinstance(factory, str):
            loaded: Callable[[Any, BuildContext], Any] = load(factory)
            return loaded
        return factory
