"""CDP API keys: where they come from, how they are checked, and a fresh JWT per use.

A key is a name (``organizations/<org>/apiKeys/<id>``) and a secret: an EC P-256 PEM
(ES256) or an Ed25519 key (PKCS8 PEM, or base64 of the 32-byte seed or seed||public; EdDSA).
It comes from a CDP key file (``{"name": ..., "privateKey": ...}``, which must not be
readable by group or others) or from ``COINBASE_API_KEY`` / ``COINBASE_API_SECRET``.

The secret lives in a :class:`pydantic.SecretStr` and leaves it only to be handed to the
official SDK's JWT builder (``coinbase.jwt_generator``). No message this module produces
contains it: a malformed key is reported as one line naming where it came from.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coinbase import jwt_generator  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from gpt_trader.errors import BrokerError, UserError
from pydantic import SecretStr

ENV_KEY = "COINBASE_API_KEY"
ENV_SECRET = "COINBASE_API_SECRET"  # noqa: S105 - the variable name, not a secret


@dataclass(frozen=True)
class Credentials:
    """A loaded, validated CDP key. ``repr`` and ``str`` never show the secret."""

    name: str
    secret: SecretStr = field(repr=False)
    algorithm: str
    source: str

    def rest_jwt(self, method: str, host: str, path: str) -> str:
        """A JWT for one REST call: ``uri`` is ``"<METHOD> <host[:port]><path>"`` (no query)."""
        uri = f"{method} {host}{path}"
        try:
            return str(jwt_generator.build_rest_jwt(uri, self.name, self.secret.get_secret_value()))
        except Exception:
            raise BrokerError(
                f"could not sign a request with the Coinbase key ({self.source})"
            ) from None

    def ws_jwt(self) -> str:
        """A JWT for one WebSocket subscribe message (no ``uri`` claim)."""
        try:
            return str(jwt_generator.build_ws_jwt(self.name, self.secret.get_secret_value()))
        except Exception:
            raise BrokerError(
                f"could not sign a subscription with the Coinbase key ({self.source})"
            ) from None


class KeyProblem(UserError):
    """A secret that is not a usable CDP key; the message says why and quotes none of it."""


def key_type(secret: str) -> str:
    """``"ES256 (EC P-256)"`` or ``"EdDSA (Ed25519)"``; :class:`KeyProblem` saying why not."""
    text = secret.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            # The library's message never contains key material, but keep it generic anyway.
            why = "it is encrypted" if "encrypted" in str(exc).lower() else "it does not parse"
            raise KeyProblem(f"privateKey is PEM but not a usable private key: {why}") from None
        except Exception:  # cryptography's UnsupportedAlgorithm and friends
            raise KeyProblem("privateKey is PEM but not a usable private key") from None
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise KeyProblem(f"EC key on {key.curve.name}; CDP keys use P-256 (secp256r1)")
            return "ES256 (EC P-256)"
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return "EdDSA (Ed25519)"
        raise KeyProblem(
            f"privateKey is a {type(key).__name__.lstrip('_')}; expected an EC P-256 or Ed25519 key"
        )
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem("privateKey is neither a PEM EC key nor a base64 Ed25519 key") from None
    if len(raw) not in (32, 64):
        raise KeyProblem(f"base64 privateKey decodes to {len(raw)} bytes; Ed25519 needs 32 or 64")
    try:
        priv = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
    except ValueError:
        raise KeyProblem("privateKey is not a valid Ed25519 seed") from None
    if len(raw) == 64:
        pub = priv.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        if pub != raw[32:]:
            raise KeyProblem("Ed25519 privateKey: the public half does not match the seed")
    return "EdDSA (Ed25519)"


def make_credentials(name: str, secret: str, source: str) -> Credentials:
    """Validate a key name and secret; :class:`UserError` (one line, no secret) if unusable."""
    name = name.strip()
    if not name or any(c.isspace() for c in name):
        raise UserError(f"Coinbase API key name from {source} is empty or contains whitespace")
    # .env files often carry the PEM with literal "\n" sequences.
    if "\\n" in secret and "\n" not in secret.strip():
        secret = secret.replace("\\n", "\n")
    try:
        algorithm = key_type(secret).split()[0]
    except KeyProblem:
        raise UserError(
            f"Coinbase API secret from {source} is not a usable key "
            "(expected an EC P-256 PEM or an Ed25519 key, as the CDP portal issues them)"
        ) from None
    return Credentials(name, SecretStr(secret), algorithm, source)


def check_private_file(path: Path) -> None:
    """Refuse a key file that group or others may read (or write)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise UserError(f"Coinbase key file {path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"Coinbase key file {path} is not a regular file")
    if os.name != "nt" and mode & 0o077:
        raise UserError(
            f"Coinbase key file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
        )


def load_key_file(path: str | Path) -> Credentials:
    """A CDP key file: ``{"name" (or "id"), "privateKey"}``, permission-checked."""
    p = Path(path).expanduser()
    check_private_file(p)
    try:
        data = json.loads(p.read_text())
    except OSError as exc:
        raise UserError(f"Coinbase key file {p} cannot be read: {exc.strerror}") from None
    except (ValueError, UnicodeError):
        raise UserError(
            f"Coinbase key file {p} is not JSON (expected a CDP API key file)"
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"Coinbase key file {p} is not a CDP API key file (not an object)")
    name = data.get("name") or data.get("id")
    secret = data.get("privateKey")
    if not isinstance(name, str) or not isinstance(secret, str):
        raise UserError(f"Coinbase key file {p} needs string fields 'name' and 'privateKey'")
    return make_credentials(name, secret, f"key file {p}")


def load_credentials(
    key_file: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Credentials | None:
    """The key from ``key_file`` if given, else from the environment; None when neither."""
    if key_file:
        return load_key_file(key_file)
    env = os.environ if env is None else env
    name, secret = env.get(ENV_KEY, ""), env.get(ENV_SECRET, "")
    if not name and not secret:
        return None
    if not name or not secret:
        missing = ENV_KEY if not name else ENV_SECRET
        raise UserError(f"{missing} is not set (both {ENV_KEY} and {ENV_SECRET} are needed)")
    return make_credentials(name, secret, f"${ENV_SECRET}")
