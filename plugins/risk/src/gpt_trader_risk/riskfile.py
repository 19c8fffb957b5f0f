"""Risk files: per-symbol limits kept apart from profiles (``config/risk/*.toml``).

Format (every amount a string, so it is read as an exact Decimal)::

    version = 1
    description = "top ten USD spot markets"
    quote = "USD"
    max_leverage = "1"

    [notional_caps]            # the most quote currency one symbol's position may be worth
    BTC-USD = "5000"
    ETH-USD = "3000"

Unknown keys are errors: a typo in a risk file must not silently drop a limit.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gpt_trader_risk.base import PosDecimal

__all__ = ["RiskFile", "load_risk_file"]


class RiskFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[int, Field(ge=1, le=1)] = 1
    description: str = ""
    quote: str = "USD"
    max_leverage: PosDecimal | None = None
    notional_caps: dict[str, PosDecimal] = Field(default_factory=dict)


def resolve_risk_path(path: str | Path) -> Path:
    """A relative path is tried from the working directory, then from each config root on
    the profile search path (the folder holding ``config/``), so ``config/risk/x.toml`` in
    a shipped profile works from any directory."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    from gpt_trader.config.profiles import search_path

    for profiles_dir in search_path():
        candidate = profiles_dir.parent.parent / p
        if candidate.exists():
            return candidate
    return p


def load_risk_file(path: str | Path) -> RiskFile:
    """Read and validate a risk file; every problem is a ValueError naming the file."""
    p = resolve_risk_path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"risk file {p} does not exist (cwd {Path.cwd()})") from None
    except OSError as exc:
        raise ValueError(f"risk file {p} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"risk file {p} is not valid TOML: {exc}") from None
    for key, value in (raw.get("notional_caps") or {}).items():
        if isinstance(value, float):
            raise ValueError(
                f"risk file {p}: notional_caps.{key} is a float ({value}); "
                f'write money as a string, e.g. "{value}"'
            )
    try:
        return RiskFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ())) or "file"
        msg = "unknown key" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
        raise ValueError(f"risk file {p}: {loc}: {msg}") from None
