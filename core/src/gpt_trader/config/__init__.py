"""Bot configuration: profiles (TOML) validated into a BotConfig, with env overrides."""

from gpt_trader.config.profiles import (
    ProfileInfo,
    default_state_dir,
    list_profiles,
    load_config,
    resolve_profile,
)
from gpt_trader.config.settings import BotConfig, ComponentRef, defaulted_sections, defaults_notice

__all__ = [
    "BotConfig",
    "ComponentRef",
    "ProfileInfo",
    "default_state_dir",
    "defaulted_sections",
    "defaults_notice",
    "list_profiles",
    "load_config",
    "resolve_profile",
]
