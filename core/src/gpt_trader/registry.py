"""Typed facade over the registration hooks: the engine never calls ``pm.hook.*`` itself."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gpt_trader.checks import Check, RegisteredCheck
from gpt_trader.components import ComponentSpec, Kind, ProductCatalogue
from gpt_trader.errors import ComponentClash, ComponentNotFound, UserError
from gpt_trader.plugins import PluginManager

T = TypeVar("T")

if TYPE_CHECKING:
    from pydantic import BaseModel

    from gpt_trader.config.settings import ComponentRef
    from gpt_trader.hookspecs import RunContext

_HOOK_FOR_KIND = {
    Kind.BROKER: "register_brokers",
    Kind.FEED: "register_feeds",
    Kind.SIGNAL: "register_signals",
    Kind.VOTER: "register_voters",
    Kind.FILTER: "register_filters",
    Kind.SIZER: "register_sizers",
    Kind.GUARD: "register_guards",
    Kind.SINK: "register_sinks",
}


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no reason given"
    return line if len(line) <= limit else line[: limit - 3] + "..."


@dataclass(frozen=True)
class Registered:
    spec: ComponentSpec
    plugin: str


class Registry:
    """Every component the loaded plugins offer, keyed by kind and name.

    Built once per assembly. A plugin whose registration hook raises is marked failed and
    left out; two plugins offering one name raise :class:`ComponentClash`.
    """

    def __init__(self, pm: PluginManager) -> None:
        self._pm = pm
        self._by_kind: dict[Kind, dict[str, Registered]] = {k: {} for k in Kind}
        self._collect()

    def _collect(self) -> None:
        for kind, hook_name in _HOOK_FOR_KIND.items():
            caller = getattr(self._pm.hook, hook_name)
            for impl in caller.get_hookimpls():
                try:
                    specs = list(impl.function() or [])
                except Exception as exc:
                    self._pm.mark_failed(impl.plugin_name, f"{hook_name}: {exc}")
                    continue
                for spec in specs:
                    self._add(kind, spec, impl.plugin_name)
        for rec in self._pm.records:
            rec.provides = sorted(
                f"{kind.value}:{name}"
                for kind, table in self._by_kind.items()
                for name, reg in table.items()
                if reg.plugin == rec.name
            )

    def _add(self, kind: Kind, spec: ComponentSpec, plugin: str) -> None:
        if not isinstance(spec, ComponentSpec) or spec.kind is not kind:
            self._pm.mark_failed(plugin, f"registered {spec!r} where a {kind.value} was due")
            return
        if spec.name.startswith(f"{kind.value}."):
            # One rule for names: the profile section already says the kind.
            short = spec.name.removeprefix(f"{kind.value}.")
            self._pm.mark_failed(
                plugin,
                f"{kind.value} {spec.name!r}: a name does not repeat its kind; call it {short!r}",
            )
            return
        table = self._by_kind[kind]
        if spec.name in table:
            other = table[spec.name].plugin
            raise ComponentClash(
                f"{kind.value} {spec.name!r} is registered by two plugins: "
                f"{self._describe(other)} and {self._describe(plugin)}; "
                f"uninstall one or disable it with GPT_TRADER_LOAD_PLUGINS"
            )
        table[spec.name] = Registered(spec, plugin)

    def _describe(self, plugin: str) -> str:
        rec = self._pm.record(plugin)
        if rec is None or not rec.distribution:
            return repr(plugin)
        return f"{plugin!r} ({rec.distribution} {rec.version})"

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._by_kind[kind])

    def all(self) -> Iterable[tuple[Kind, Registered]]:
        for kind, table in self._by_kind.items():
            for reg in table.values():
                yield kind, reg

    def get(self, kind: Kind, name: str) -> ComponentSpec:
        table = self._by_kind[kind]
        if name in table:
            return table[name].spec
        hint = difflib.get_close_matches(name, list(table), n=1)
        known = ", ".join(sorted(table)) or "none installed"
        notes = [f"did you mean {hint[0]!r}?" if hint else f"known: {known}"]
        # A plugin that failed cannot say what it offers: any of them may have had it.
        notes[:0] = [
            f"plugin {rec.name!r} failed to load: {_first_line(rec.error)}"
            for rec in self._pm.failed()
        ]
        raise ComponentNotFound(f"unknown {kind.value} {name!r} ({'; '.join(notes)})")

    def settings_model(self, kind: Kind, name: str) -> type[BaseModel]:
        """The component's settings model (imported now when its plugin named it); one that
        does not import is a :class:`UserError` naming the component."""
        spec = self.get(kind, name)
        return _named(kind, name, "settings model", spec.settings_model, spec.load_settings_model)

    def validate(self, kind: Kind, name: str, params: dict[str, Any]) -> BaseModel:
        """Check ``params`` against the component's settings model without building it;
        returns the validated settings."""
        from pydantic import ValidationError

        # Profiles' error wording loads with the first component checked (not for a listing).
        from gpt_trader.config.profiles import describe_validation_error

        model = self.settings_model(kind, name)
        try:
            return model.model_validate(params)
        except ValidationError as exc:
            raise UserError(f"{kind.value} {name!r}: {describe_validation_error(exc)}") from None

    def validate_components(self, refs: Iterable[tuple[Kind, ComponentRef]]) -> list[BaseModel]:
        """Validate a profile's components (``app.component_refs``) in order, as a run does
        before it builds anything; the first bad one raises :class:`UserError`."""
        return [self.validate(kind, ref.use, ref.params) for kind, ref in refs]

    def build(self, kind: Kind, name: str, params: dict[str, Any], ctx: Any) -> Any:
        """Validate ``params`` with the component's settings model and build it."""
        from pydantic import ValidationError

        from gpt_trader.config.profiles import describe_validation_error

        spec = self.get(kind, name)
        # What does not import (the model, the factory): one line, naming the component.
        self.settings_model(kind, name)
        _named(kind, name, "factory", spec.factory, spec.load_factory)
        try:
            return spec.build(params, ctx)
        except ValidationError as exc:
            raise UserError(f"{kind.value} {name!r}: {describe_validation_error(exc)}") from None

    def catalogues(self) -> tuple[ProductCatalogue, ...]:
        """The product catalogues plugins registered; a plugin whose hook raises or returns
        something else is marked failed and left out."""
        found: list[ProductCatalogue] = []
        for impl in self._pm.hook.register_products.get_hookimpls():
            try:
                result: Any = impl.function()
                items = list(result or [])
            except Exception as exc:
                self._pm.mark_failed(impl.plugin_name, f"register_products: {exc}")
                continue
            if not all(isinstance(c, ProductCatalogue) for c in items):
                self._pm.mark_failed(impl.plugin_name, "register_products: not a ProductCatalogue")
                continue
            found.extend(items)
        return tuple(found)

    def checks(self) -> list[RegisteredCheck]:
        """Every check the loaded plugins register: local ones first, then remote ones, each in
        the order the plugins were loaded. A plugin whose ``register_checks`` raises or yields
        something else than a :class:`Check` is marked failed; two plugins registering one name
        raise :class:`ComponentClash`."""
        found: dict[str, RegisteredCheck] = {}
        for impl in self._pm.hook.register_checks.get_hookimpls():
            try:
                items = list(cast("Iterable[object]", impl.function() or []))
            except Exception as exc:
                self._pm.mark_failed(impl.plugin_name, f"register_checks: {exc}")
                continue
            checks = [c for c in items if isinstance(c, Check)]
            if len(checks) != len(items):
                self._pm.mark_failed(
                    impl.plugin_name, "register_checks: yielded something not a Check"
                )
                continue
            for check in checks:
                if check.name in found:
                    raise ComponentClash(
                        f"check {check.name!r} is registered by two plugins: "
                        f"{found[check.name].plugin!r} and {impl.plugin_name!r}"
                    )
                found[check.name] = RegisteredCheck(check, impl.plugin_name)
        return sorted(found.values(), key=lambda r: r.check.remote)

    def startup(self, context: RunContext) -> None:
        self._broadcast("startup", context)

    def shutdown(self, context: RunContext) -> None:
        self._broadcast("shutdown", context)

    def _broadcast(self, hook_name: str, context: RunContext) -> None:
        for impl in reversed(getattr(self._pm.hook, hook_name).get_hookimpls()):
            try:
                impl.function(context)
            except Exception as exc:
                raise UserError(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: {exc}"
                ) from exc

    def register_commands(self, app: Any) -> None:
        """Let each plugin add commands; one whose commands do not build is marked failed.

        Each plugin's commands are first built into a scratch app (typer resolves the
        annotations then), so one broken plugin cannot take the whole CLI down.
        """
        import typer
        import typer.main

        for impl in self._pm.hook.register_commands.get_hookimpls():
            probe = typer.Typer()
            try:
                impl.function(probe)
                if probe.registered_commands or probe.registered_groups:
                    typer.main.get_command(probe)
                impl.function(app)
            except Exception as exc:
                self._pm.mark_failed(
                    impl.plugin_name, f"register_commands: {type(exc).__name__}: {exc}"
                )


def _named(kind: Kind, name: str, what: str, ref: object, load: Callable[[], T]) -> T:
    """``load()``, or a :class:`UserError` naming the component when what its plugin named
    (``"module:name"``) does not import."""
    try:
        return load()
    except (ImportError, AttributeError) as exc:
        raise UserError(
            f"{kind.value} {name!r}: {what} {ref!r} does not load: {type(exc).__name__}: {exc}"
        ) from None
