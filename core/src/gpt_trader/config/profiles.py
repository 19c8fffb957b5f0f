"""Finding and loading profiles: a name from the search path, or a file path."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gpt_trader.config.settings import BotConfig
from gpt_trader.errors import ConfigError

CONFIG_DIR_ENV = "GPT_TRADER_CONFIG_DIR"


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    path: Path
    description: str
    mode: str


def search_path() -> list[Path]:
    """Where named profiles are looked up, first match wins.

    ``$GPT_TRADER_CONFIG_DIR/profiles``, ``./config/profiles``, then the profiles that ship
    with the workspace checkout this package is installed from.
    """
    dirs: list[Path] = []
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        dirs.append(Path(env) / "profiles")
    dirs.append(Path.cwd() / "config" / "profiles")
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "config" / "profiles"
        if (parent / "core" / "pyproject.toml").exists() and candidate.is_dir():
            dirs.append(candidate)
            break
    bundled = here.parent / "profiles"
    if bundled.is_dir():
        dirs.append(bundled)
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def default_state_dir(profile: str) -> Path:
    """Where a profile's run keeps its store and files unless told otherwise: ``var/<name>``."""
    return Path("var") / Path(profile).stem


def list_profiles() -> list[ProfileInfo]:
    seen: dict[str, ProfileInfo] = {}
    for d in search_path():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            name = path.stem
            if name in seen:
                continue
            try:
                data = _read_toml(path)
            except ConfigError:
                continue
            section = data.get("profile", {})
            seen[name] = ProfileInfo(
                name=name,
                path=path,
                description=str(section.get("description", "")),
                mode=str(section.get("mode", "sim")),
            )
    return sorted(seen.values(), key=lambda p: p.name)


def resolve_profile(profile: str) -> Path:
    """The file for a profile name or path; a clear error naming the known ones otherwise."""
    if not profile.strip():
        raise ConfigError("--profile is empty: give a profile name or a .toml file")
    candidate = Path(profile).expanduser()
    if profile.endswith(".toml") or os.sep in profile:
        if _is_file(candidate):
            return candidate
        if _is_dir(candidate):
            raise ConfigError(f"profile {profile!r} is a directory, not a profile file")
        raise ConfigError(f"profile file {profile!r} does not exist")
    for d in search_path():
        path = d / f"{profile}.toml"
        if _is_file(path):
            return path
    known = ", ".join(p.name for p in list_profiles()) or "none found"
    import difflib

    hint = difflib.get_close_matches(profile, [p.name for p in list_profiles()], n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ConfigError(f"unknown profile {profile!r} (known: {known}){extra}")


def _is_file(path: Path) -> bool:
    # A name too long for the file system is a name that is not there.
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read profile {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"profile {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"profile {path} is not UTF-8 text (byte {exc.start}): is it a profile?"
        ) from None


def load_config(profile: str) -> BotConfig:
    """Load and validate a profile by name or path; env overrides apply."""
    path = resolve_profile(profile)
    data = _read_toml(path)
    data.setdefault("profile", {})
    if isinstance(data["profile"], dict):
        data["profile"].setdefault("name", path.stem)
    try:
        return BotConfig(**data)
    except ValidationError as exc:
        raise ConfigError(f"profile {path.stem!r}: {describe_validation_error(exc)}") from None


# pydantic's wording for a validator's ValueError / AssertionError; the message after it is
# ours, written for the user.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def describe_validation_error(exc: ValidationError) -> str:
    """The first error as one line: ``limit: must be greater than zero (and 1 more)``."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "value"
    msg = "unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
    for prefix in _PYDANTIC_PREFIXES:
        msg = msg.removeprefix(prefix)
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"{loc}: {msg}{suffix}"
