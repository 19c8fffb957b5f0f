"""The validated shape of a profile. Component sections are ``{use = "<name>", ...params}``;
their params are validated later by the named component's own settings model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gpt_trader.config.durations import parse_duration
from gpt_trader.errors import UserError


class ComponentRef(BaseModel):
    """A component chosen by registered name; every other key is that component's param."""

    model_config = ConfigDict(extra="allow", frozen=True)

    use: str = Field(min_length=1)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ProfileSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""
    mode: Literal["sim", "paper", "live"] = "sim"
    universe: list[str] = Field(default_factory=lambda: ["BTC-USD"], min_length=1)
    seed: int = 0

    @field_validator("universe")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        for symbol in value:
            base, _, quote = symbol.partition("-")
            if not base or not quote or symbol.upper() != symbol:
                raise ValueError(f"{symbol!r} is not a product id like 'BTC-USD'")
        return value


class AdoptHolding(BaseModel):
    """Account holdings handed to the bot as inventory, at the price paid per unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: Decimal = Field(gt=0)
    cost: Decimal | None = Field(default=None, gt=0)


class RunSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_stop: Literal["cancel", "leave"] = "cancel"
    record_market: bool = True
    guard_interval_s: float = Field(default=1.0, gt=0)
    # A running bot records its cash and equity this often while they move (dashboards
    # read it from the store); checked on the guard timer, so at least guard_interval_s.
    equity_every_s: float = Field(default=5.0, gt=0)
    dev_fast_pace_s: float = Field(default=0.0, ge=0)
    quote_currency: str = "USD"
    allow_short: bool = False
    # Derivatives only: the leverage and margin type sent with every futures/perpetual
    # order (None = the venue's default); ignored for spot.
    leverage: Decimal | None = Field(default=None, gt=0, le=100)
    margin_type: Literal["CROSS", "ISOLATED"] | None = None
    # Spot holdings the bot may trade although its own fills did not build them, e.g.
    # {"BTC-USD" = {size = "0.5", cost = "61000"}}; each entry is adopted once (recorded).
    adopt_holdings: dict[str, AdoptHolding] = Field(default_factory=dict)

    @field_validator("adopt_holdings")
    @classmethod
    def _costed(cls, value: dict[str, AdoptHolding]) -> dict[str, AdoptHolding]:
        for symbol, holding in value.items():
            if holding.cost is None:
                raise ValueError(
                    f"adopt_holdings {symbol}: a cost basis is required (cost = the price "
                    "paid per unit); holdings are never adopted at cost 0"
                )
        return value


class ExecutionSection(BaseModel):
    """How the kernel enters a position (exits and guard cuts stay MARKET IOC).

    ``entry``: ``market`` (IOC, the default), ``limit`` or ``post_only`` (GTC limits
    ``offset_bps`` behind the near touch: a BUY at the best bid less the offset, a SELL at
    the best ask plus it; the last price when no book is known). After ``timeout_s``
    (seconds, or a duration like ``"5m"``) the unfilled rest is repriced (``edit`` in place
    where the venue allows it, else ``cancel_replace``; ``market`` takes it at once), at
    most ``max_reprices`` times, then cancelled. ``on_partial``: on a partial fill, ``keep``
    the rest working or ``cancel`` it. ``fill_on_touch``: simulated limits fill when a bar
    only touches them (by default it must trade through). ``preview``: the adapter previews
    each live submit and turns its errors into typed rejections. A cancel the venue does not
    confirm is sent again at most ``cancel_retries`` times within ``cancel_give_up_s``, then
    given up on: the order is flagged for reconciliation and its product takes no new entry
    until the venue reports it over (:mod:`gpt_trader.engine.cancels`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: Literal["market", "limit", "post_only"] = "market"
    offset_bps: Decimal = Field(default=Decimal(0), ge=0)
    timeout_s: float = Field(default=60.0, gt=0)
    reprice: Literal["edit", "cancel_replace", "market"] = "cancel_replace"
    max_reprices: int = Field(default=3, ge=0)
    on_partial: Literal["keep", "cancel"] = "keep"
    fill_on_touch: bool = False
    preview: bool = False
    cancel_retries: int = Field(default=3, ge=0, le=100)
    cancel_give_up_s: float = Field(default=60.0, gt=0)

    @field_validator("timeout_s", "cancel_give_up_s", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and value.strip()[-1].isalpha():
            try:
                return parse_duration(value)
            except UserError as exc:
                raise ValueError(str(exc)) from None
        return value


class ExitsSection(BaseModel):
    """How positions are closed besides the strategy's own exit (see
    :mod:`gpt_trader.engine.exits`). Percentages are of the entry's fill price: stop-loss and
    take-profit are placed at the venue as one bracket (either alone as that one leg), so
    they hold while the bot is down; a trailing stop moves the venue stop. ``max_hold`` (``"2h"``) and ``roi``
    (minutes held -> minimum return in percent, as freqtrade's ``minimal_roi``) close at
    market."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stop_loss_pct: Decimal | None = Field(default=None, gt=0, lt=100)
    take_profit_pct: Decimal | None = Field(default=None, gt=0)
    trailing_pct: Decimal | None = Field(default=None, gt=0, lt=100)
    trailing_activation_pct: Decimal | None = Field(default=None, gt=0)
    max_hold: str | None = None
    roi: dict[int, Decimal] = Field(default_factory=dict)

    @field_validator("max_hold")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_duration(value)
            except UserError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("roi")
    @classmethod
    def _roi(cls, value: dict[int, Decimal]) -> dict[int, Decimal]:
        for minutes, pct in value.items():
            if minutes < 0:
                raise ValueError(f"roi: {minutes} minutes held cannot be negative")
            if pct <= -100:
                raise ValueError(f"roi: a return of {pct} % after {minutes} minutes cannot be")
        return value

    @model_validator(mode="after")
    def _legs(self) -> ExitsSection:
        # One of stop_loss_pct and take_profit_pct alone is one venue order (that leg).
        if self.trailing_pct is not None and self.stop_loss_pct is None:
            raise ValueError("trailing_pct moves the venue stop: set stop_loss_pct too")
        if self.trailing_activation_pct is not None and self.trailing_pct is None:
            raise ValueError("trailing_activation_pct needs trailing_pct")
        return self

    @property
    def max_hold_s(self) -> float | None:
        return None if self.max_hold is None else parse_duration(self.max_hold)


class LoggingSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False


class BotConfig(BaseSettings):
    """One profile, resolved. Environment variables ``GPT_TRADER_<SECTION>__<KEY>`` win
    over the profile file (e.g. ``GPT_TRADER_RUN__ON_STOP=leave``)."""

    model_config = SettingsConfigDict(
        env_prefix="GPT_TRADER_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    profile: ProfileSection = Field(default_factory=ProfileSection)
    broker: ComponentRef = Field(default_factory=lambda: ComponentRef(use="sim"))
    feed: ComponentRef = Field(default_factory=lambda: ComponentRef(use="synthetic"))
    signals: list[ComponentRef] = Field(default_factory=list)
    voter: ComponentRef = Field(default_factory=lambda: ComponentRef(use="majority"))
    filters: list[ComponentRef] = Field(default_factory=list)
    sizer: ComponentRef = Field(default_factory=lambda: ComponentRef(use="fixed"))
    guards: list[ComponentRef] = Field(default_factory=list)
    sinks: list[ComponentRef] = Field(default_factory=list)
    run: RunSection = Field(default_factory=RunSection)
    execution: ExecutionSection = Field(default_factory=ExecutionSection)
    exits: ExitsSection = Field(default_factory=ExitsSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)
    # ``[products."EUR-USD"] price_increment = "0.00001" ...``: instruments no venue
    # describes, for backtests only (the research plugin validates and reads them); live
    # and sim runs trade the venue's own products.
    products: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _adopted_in_universe(self) -> BotConfig:
        outside = sorted(set(self.run.adopt_holdings) - set(self.profile.universe))
        if outside:
            raise ValueError(
                f"adopt_holdings names {', '.join(outside)}, not in the profile's universe"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the profile file, which is passed as init kwargs.
        return (env_settings, init_settings)


# Sections whose default decides what trades, where: a profile that leaves one out is
# warned at start-up rather than told.
_TRADING_SECTIONS = frozenset({"profile", "broker", "feed", "voter", "sizer", "signals"})


def defaulted_sections(config: BotConfig) -> dict[str, Any]:
    """The sections the profile (and environment) left out, with the values used instead."""
    dumped = config.model_dump(mode="json")
    out: dict[str, Any] = {}
    for name in type(config).model_fields:
        if name == "profile":
            # The loader always fills in the name; the rest is what the file said.
            if not config.profile.model_fields_set - {"name"}:
                out[name] = {k: v for k, v in dumped[name].items() if k != "name"}
        elif name not in config.model_fields_set:
            out[name] = dumped[name]
    return out


def defaults_notice(config: BotConfig) -> tuple[str, bool] | None:
    """One line naming each left-out section and what it became, and whether one of them
    decides what trades (None when the profile spells out every section)."""
    left_out = defaulted_sections(config)
    if not left_out:
        return None
    parts: list[str] = []
    for name, value in left_out.items():
        if name == "profile":
            universe = ",".join(value["universe"])
            parts.append(f"[profile] = mode {value['mode']}, universe {universe}")
        elif isinstance(value, list):
            parts.append(f"[[{name}]] = none")
        elif "use" in value:
            parts.append(f"[{name}] = {value['use']}")
        else:
            parts.append(f"[{name}] = defaults")
    line = f"profile {config.profile.name!r} leaves out sections; using {'; '.join(parts)}"
    return line, bool(_TRADING_SECTIONS & left_out.keys())
