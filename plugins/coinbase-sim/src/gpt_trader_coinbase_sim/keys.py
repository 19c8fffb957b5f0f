"""CDP API keys: generate them in the format the SDK loads, and remember their public halves.

A CDP key is ``{"name": "organizations/<org>/apiKeys/<id>", "privateKey": "<secret>"}``.
ECDSA keys carry a SEC1 PEM (``-----BEGIN EC PRIVATE KEY-----``) and sign ES256; Ed25519 keys
carry base64 of seed||public (64 bytes, as the CDP portal issues them) and sign EdDSA.
The simulator only ever needs the public key to verify JWTs.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gpt_trader_coinbase_sim.fsutil import write_private

Algorithm = Literal["ES256", "EdDSA"]
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True)
class ApiKey:
    """A generated key. ``private_key`` is the SDK's ``api_secret``: keep it out of logs."""

    name: str
    private_key: str = field(repr=False)
    algorithm: Algorithm

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "privateKey": self.private_key}, indent=1)

    def public_key(self) -> PublicKey:
        return load_public_from_secret(self.private_key)


@dataclass(frozen=True)
class RegisteredKey:
    name: str
    public_key: PublicKey
    algorithm: Algorithm
    can_view: bool = True
    can_trade: bool = True
    can_transfer: bool = False
    portfolio_uuid: str = ""


def new_key_name(org_id: str | None = None) -> str:
    return f"organizations/{org_id or uuid.uuid4()}/apiKeys/{uuid.uuid4()}"


def generate_key(algorithm: Algorithm = "ES256", *, org_id: str | None = None) -> ApiKey:
    if algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,  # SEC1: "BEGIN EC PRIVATE KEY"
            serialization.NoEncryption(),
        ).decode()
        return ApiKey(new_key_name(org_id), pem, "ES256")
    if algorithm == "EdDSA":
        ed = ed25519.Ed25519PrivateKey.generate()
        seed = ed.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        pub = ed.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return ApiKey(new_key_name(org_id), base64.b64encode(seed + pub).decode(), "EdDSA")
    raise ValueError(f"unsupported algorithm {algorithm!r}")


def load_public_from_secret(secret: str) -> PublicKey:
    """The public key of an SDK-style secret (PEM, or base64 Ed25519 seed[/pub])."""
    if secret.lstrip().startswith("-----BEGIN"):
        priv = serialization.load_pem_private_key(secret.encode(), password=None)
    else:
        raw = base64.b64decode("".join(secret.split()), validate=True)
        if len(raw) not in (32, 64):
            raise ValueError("Ed25519 raw key must be 32 or 64 bytes")
        priv = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
    if isinstance(priv, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        return priv.public_key()
    raise ValueError(f"unsupported key type {type(priv).__name__}")


def load_public_key(data: str) -> PublicKey:
    """A public key from PEM (SubjectPublicKeyInfo) or base64 raw Ed25519 (32 bytes)."""
    if data.lstrip().startswith("-----BEGIN"):
        pub = serialization.load_pem_public_key(data.encode())
    else:
        pub = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(data, validate=True))
    if isinstance(pub, ec.EllipticCurvePublicKey):
        if not isinstance(pub.curve, ec.SECP256R1):
            raise ValueError("ECDSA keys must be on P-256 (ES256)")
        return pub
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return pub
    raise ValueError(f"unsupported public key type {type(pub).__name__}")


def algorithm_of(public_key: PublicKey) -> Algorithm:
    return "EdDSA" if isinstance(public_key, ed25519.Ed25519PublicKey) else "ES256"


class KeyRing:
    """The API keys the simulator accepts, by name (the JWT ``kid``/``sub``)."""

    def __init__(self) -> None:
        self._keys: dict[str, RegisteredKey] = {}

    def register(
        self, name: str, public_key: PublicKey, **permissions: bool | str
    ) -> RegisteredKey:
        key = RegisteredKey(name, public_key, algorithm_of(public_key), **permissions)  # type: ignore[arg-type]
        self._keys[name] = key
        return key

    def register_key(self, key: ApiKey) -> RegisteredKey:
        return self.register(key.name, key.public_key())

    def get(self, name: str) -> RegisteredKey | None:
        return self._keys.get(name)

    def names(self) -> list[str]:
        return list(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def write_key_file(path: Path, key: ApiKey) -> Path:
    """Write the key JSON the SDK's ``key_file=`` loads, mode 0600."""
    write_private(path, key.to_json().encode())
    return path
