"""Verify the JWTs the SDK builds (coinbase/jwt_generator.py), REST and WebSocket alike.

Header ``{"alg": "ES256"|"EdDSA", "kid": <key name>, "nonce": <hex>, "typ": "JWT"}``; claims
``{"sub": <key name>, "iss": "cdp", "nbf": now, "exp": now+120[, "uri": "GET host:port/path"]}``.
REST tokens must carry a ``uri`` naming this request; WebSocket tokens carry none.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt

from gpt_trader_coinbase_sim.keys import KeyRing, RegisteredKey

SKEW_S = 5
MAX_LIFETIME_S = 300  # the SDK issues 120 s tokens; refuse anything claiming much longer
ALLOWED_ALGS = ("ES256", "EdDSA")
ISSUER = "cdp"
# The SDK's format_jwt_uri() hard-codes this host; a client may use it with any base_url.
PRODUCTION_HOST = "api.coinbase.com"


class AuthError(Exception):
    """Why a token was refused. Never shown to the client (it gets a bare 401)."""


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    key: RegisteredKey
    claims: dict[str, object]

    @property
    def key_name(self) -> str:
        return self.key.name


class JwtVerifier:
    def __init__(self, keys: KeyRing, *, skew_s: int = SKEW_S) -> None:
        self.keys = keys
        self.skew_s = skew_s

    def verify(self, token: str, *, uri_candidates: tuple[str, ...] | None = None) -> Principal:
        """Check signature, key, times and (REST) uri; return the principal or raise AuthError.

        ``uri_candidates`` None means a WebSocket token: no uri claim is expected (one that
        is present is ignored, as the venue does not bind WS tokens to a URL).
        """
        header = _unverified_header(token)
        alg = header.get("alg")
        kid = header.get("kid")
        if alg not in ALLOWED_ALGS:
            raise AuthError(f"algorithm {alg!r} not allowed")
        if not isinstance(kid, str):
            raise AuthError("missing kid")
        key = self.keys.get(kid)
        if key is None:
            raise AuthError("unknown key")
        if key.algorithm != alg:
            raise AuthError(f"key is {key.algorithm}, token says {alg}")
        try:
            claims = jwt.decode(
                token,
                key.public_key,  # type: ignore[arg-type]
                algorithms=[alg],
                issuer=ISSUER,
                leeway=self.skew_s,
                options={"require": ["exp", "nbf", "sub", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as e:
            raise AuthError(str(e)) from e
        if claims.get("sub") != kid:
            raise AuthError("sub does not match kid")
        if int(claims["exp"]) - int(claims["nbf"]) > MAX_LIFETIME_S:
            raise AuthError("token lifetime too long")
        if int(claims["nbf"]) > time.time() + self.skew_s:
            raise AuthError("token not yet valid")  # belt and braces over pyjwt's check
        if uri_candidates is not None and claims.get("uri") not in uri_candidates:
            raise AuthError(f"uri {claims.get('uri')!r} does not match the request")
        return Principal(key, claims)


def _unverified_header(token: str) -> dict[str, Any]:
    """The header, to pick the key by: ``jwt.decode`` then checks the whole token strictly.
    (PyJWT's own ``get_unverified_header`` checks all three segments character by
    character, which ``jwt.decode`` does again: half the cost of a request's auth.)"""
    head = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError as e:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise AuthError(f"malformed token: {e}") from e
    if not isinstance(header, dict):
        raise AuthError("malformed token: its header is not an object")
    return header


def rest_uri_candidates(method: str, host_header: str, port: int, *paths: str) -> tuple[str, ...]:
    """The ``uri`` claims that name this request.

    The SDK signs ``f"{method} {base_url}{path}"``: base_url is whatever host[:port] the
    client was given, which for a local server is the Host header; tolerate the loopback
    aliases and the production host too (format_jwt_uri() users).
    """
    hosts = {host_header, f"127.0.0.1:{port}", f"localhost:{port}", PRODUCTION_HOST}
    return tuple(f"{method} {h}{p}" for h in hosts if h for p in set(paths))


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
