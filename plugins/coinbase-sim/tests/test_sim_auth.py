"""TLS certificate, CDP keys, JWT verification, and 401s over the wire."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import time

import jwt
import pytest
import requests
from coinbase import jwt_generator
from coinbase.rest import RESTClient
from cryptography import x509
from gpt_trader_coinbase_sim.auth import AuthError, JwtVerifier, rest_uri_candidates
from gpt_trader_coinbase_sim.keys import KeyRing, generate_key, write_key_file
from gpt_trader_coinbase_sim.tls import ensure_cert

URI = "GET 127.0.0.1:8443/api/v3/brokerage/accounts"
CANDIDATES = rest_uri_candidates("GET", "127.0.0.1:8443", 8443, "/api/v3/brokerage/accounts")


def test_cert_covers_loopback_and_is_reused(tmp_path):
    files = ensure_cert(tmp_path)
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert stat.S_IMODE(os.stat(files.key_file).st_mode) == 0o600
    assert ensure_cert(tmp_path).cert_file.read_bytes() == files.cert_file.read_bytes()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_generated_key_file_loads_in_sdk_and_verifies(tmp_path, alg):
    key = generate_key(alg)
    path = write_key_file(tmp_path / "key.json", key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["name"].startswith("organizations/")
    assert "/apiKeys/" in data["name"]
    if alg == "ES256":
        assert data["privateKey"].startswith("-----BEGIN EC PRIVATE KEY-----")
    ring = KeyRing()
    ring.register_key(key)
    token = jwt_generator.build_rest_jwt(URI, key.name, key.private_key)
    assert jwt.get_unverified_header(token)["alg"] == alg
    assert JwtVerifier(ring).verify(token, uri_candidates=CANDIDATES).key_name == key.name
    ws_token = jwt_generator.build_ws_jwt(key.name, key.private_key)
    JwtVerifier(ring).verify(ws_token)


def _token(key, **claims):
    now = int(time.time())
    body = {"sub": key.name, "iss": "cdp", "nbf": now, "exp": now + 120, "uri": URI, **claims}
    priv = jwt_generator._load_private_key(key.private_key)
    return jwt.encode(body, priv, algorithm=key.algorithm, headers={"kid": key.name, "nonce": "ab"})


@pytest.mark.parametrize(
    "claims",
    [
        {"uri": "GET 127.0.0.1:8443/api/v3/brokerage/orders"},  # another endpoint
        {"uri": "POST 127.0.0.1:8443/api/v3/brokerage/accounts"},  # another method
        {"exp": -30, "nbf": -150},  # expired (seconds from now, taken when the test runs)
        {"nbf": 60, "exp": 180},  # not yet valid
        {"iss": "coinbase-cloud"},
        {"sub": "organizations/x/apiKeys/y"},
    ],
)
def test_bad_claims_are_refused(claims):
    now = int(time.time())
    claims = {k: now + v if k in ("nbf", "exp") else v for k, v in claims.items()}
    key = generate_key()
    ring = KeyRing()
    ring.register_key(key)
    with pytest.raises(AuthError):
        JwtVerifier(ring).verify(_token(key, **claims), uri_candidates=CANDIDATES)


def test_skew_tolerated_unknown_key_refused():
    key, other = generate_key(), generate_key("EdDSA")
    ring = KeyRing()
    ring.register_key(key)
    verifier = JwtVerifier(ring)
    now = int(time.time())
    verifier.verify(_token(key, nbf=now + 3, exp=now + 120), uri_candidates=CANDIDATES)
    with pytest.raises(AuthError):
        verifier.verify(_token(other), uri_candidates=CANDIDATES)
    with pytest.raises(AuthError):  # a REST token needs a uri
        verifier.verify(_token(key, uri=None), uri_candidates=CANDIDATES)


def test_rest_401_is_plain_text(sim, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    base = f"https://{sim.info.rest_base_url}/api/v3/brokerage"
    r = requests.get(f"{base}/accounts", json={})
    assert r.status_code == 401
    assert r.text == "Unauthorized\n"
    stranger = generate_key()
    client = RESTClient(
        api_key=stranger.name, api_secret=stranger.private_key, base_url=sim.info.rest_base_url
    )
    with pytest.raises(requests.HTTPError) as err:
        client.get_accounts()
    assert err.value.response.status_code == 401
    # public endpoints need no token, and tolerate a foreign one
    assert requests.get(f"{base}/market/products/BTC-USD", json={}).status_code == 200
    assert client.get_public_product("BTC-USD").product_id == "BTC-USD"
    assert client.get_unix_time().epoch_seconds


def test_ed25519_key_registered_at_runtime(sim, monkeypatch):
    from gpt_trader_coinbase_sim.testing import admin

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    created = admin(sim.info, "POST", "/keys", {"generate": "EdDSA"})
    client = RESTClient(
        api_key=created["name"], api_secret=created["privateKey"], base_url=sim.info.rest_base_url
    )
    assert client.get_api_key_permissions().can_trade is True


def test_view_only_key_gets_missing_scopes(sim, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.info.cert_file)
    key = generate_key()
    sim.call(lambda: sim.state.keys.register(key.name, key.public_key(), can_trade=False))
    client = RESTClient(
        api_key=key.name, api_secret=key.private_key, base_url=sim.info.rest_base_url
    )
    assert client.get_accounts().accounts
    with pytest.raises(requests.HTTPError, match="Missing Required Scopes"):
        client.limit_order_gtc_buy("scope-1", "BTC-USD", "0.001", "1000.00")
