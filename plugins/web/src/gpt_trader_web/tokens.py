"""The bearer token that guards operator controls: generated at first start, kept in a
file only its owner can read (mode 0600), compared in constant time."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from gpt_trader.errors import UserError

TOKEN_FILE = "web-token"  # noqa: S105 - a file name, not a secret


def load_or_create(path: Path) -> str:
    """The token in ``path``, creating the file (0600) with a new one when missing."""
    if path.is_dir():
        raise UserError(f"token file {path} is a directory")
    if not path.exists():
        if not path.parent.is_dir():
            raise UserError(f"cannot create token file {path}: {path.parent} is not a directory")
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read token file {path}: {exc}") from None
    if len(token) < 16:
        raise UserError(f"token file {path} holds no usable token (at least 16 characters)")
    if path.stat().st_mode & 0o077:
        raise UserError(f"token file {path} is readable by others: chmod 600 {path}")
    return token


def matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` as a bearer token."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), token.encode())
