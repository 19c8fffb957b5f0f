"""A self-signed TLS certificate for 127.0.0.1/localhost, so the unmodified SDK can talk HTTPS.

The SDK hard-codes ``https://`` for REST; clients trust the simulator by pointing
``REQUESTS_CA_BUNDLE`` at the certificate file written here (the cert is its own CA).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gpt_trader_coinbase_sim.fsutil import write_private

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
TLS_DIR = "tls"
VALID_DAYS = 30
# Regenerate when less than this is left, so a long run never serves an expired cert.
RENEW_BEFORE = dt.timedelta(days=2)


@dataclass(frozen=True)
class TlsFiles:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A context that trusts exactly this certificate (for tests and tools)."""
        return ssl.create_default_context(cafile=str(self.cert_file))


def _still_valid(cert_file: Path, key_file: Path) -> bool:
    if not (cert_file.is_file() and key_file.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except ValueError:
        return False
    now = dt.datetime.now(dt.UTC)
    return cert.not_valid_after_utc - now > RENEW_BEFORE and cert.not_valid_before_utc <= now


def generate_cert(hosts: tuple[str, ...] = ("localhost",)) -> tuple[bytes, bytes]:
    """Return ``(cert_pem, key_pem)`` for a P-256 self-signed cert valid for ``hosts`` + loopback."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gpt-trader coinbase simulator")])
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
    sans += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        # CA:TRUE + keyCertSign: the cert is its own trust anchor in REQUESTS_CA_BUNDLE, and
        # strict X.509 verification (Python 3.13 defaults) wants these marked properly.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_cert(state_dir: Path) -> TlsFiles:
    """The cert/key pair under ``state_dir/tls``; reused while valid so clients can keep trusting it."""
    tls_dir = state_dir / TLS_DIR
    tls_dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(tls_dir / CERT_NAME, tls_dir / KEY_NAME)
    if not _still_valid(files.cert_file, files.key_file):
        cert_pem, key_pem = generate_cert()
        write_private(files.key_file, key_pem)
        files.cert_file.write_bytes(cert_pem)
    return files
