"""Bot configuration: profiles (TOML) validated into a BotConfig, with env overrides."""

from gpt_trader.config.profiles import ProfileInfo, list_profiles, load_config, resolve_profile
from gpt_trader.config.settings import BotConfig, ComponentRef

__all__ = [
    "BotConfig",
    "ComponentRef",
    "ProfileInfo",
    "list_profiles",
    "load_config",
    "resolve_profile",
]
