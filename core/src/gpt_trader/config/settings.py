"""The validated shape of a profile. Component sections are ``{use = "<name>", ...params}``;
their params are validated later by the named component's own settings model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


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


class RunSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_stop: Literal["cancel", "leave"] = "cancel"
    record_market: bool = True
    guard_interval_s: float = Field(default=1.0, gt=0)
    dev_fast_pace_s: float = Field(default=0.0, ge=0)
    quote_currency: str = "USD"
    allow_short: bool = False
    # Derivatives only: the leverage and margin type sent with every futures/perpetual
    # order (None = the venue's default); ignored for spot.
    leverage: Decimal | None = Field(default=None, gt=0, le=100)
    margin_type: Literal["CROSS", "ISOLATED"] | None = None


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
    sizer: ComponentRef = Field(default_factory=lambda: ComponentRef(use="sizer.fixed"))
    guards: list[ComponentRef] = Field(default_factory=list)
    sinks: list[ComponentRef] = Field(default_factory=list)
    run: RunSection = Field(default_factory=RunSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)

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
