"""TLS 1.3 bound to node keys.

A node's certificate is self-signed by its Ed25519 node key, and its node id is the address of
that key (`Address.from_public_key`), so the TLS handshake itself (CertificateVerify) proves that
the peer holds the key its id names. Peers are pinned: each side trusts exactly the certificates
of the peers in its configuration, and after the handshake the node id read from the peer's
certificate must be the one it was configured under; anything else is refused. A registered
node's certificate may be added to the trust of the running contexts (`trust`): OpenSSL reads
a context's certificate store at each handshake, so later handshakes accept it without a
restart (tests/net/test_transport.py shows it).

A node key can be rotated (message 43): the node then presents the new key's certificate
(`use_key`) and its peers take that key as its identity (transport.py); its id stays.

Certificates are deterministic (fixed serial, subject and validity; Ed25519 signs
deterministically), so `init` can write them and a node can check its own on start.
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519 as crypto_ed25519
from cryptography.x509.oid import NameOID

from metanode.errors import ConfigError, VerificationError
from metanode.types import Address

# Fixed fields make the certificate a function of the key alone (no wall clock read).
_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
_SERIAL = 1


def node_id(public_key: bytes) -> Address:
    return Address.from_public_key(public_key)


def certificate_pem(seed: bytes) -> bytes:
    """The node's self-signed certificate (PEM) for the Ed25519 key of `seed`."""
    key = crypto_ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(node_id(public)))])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_SERIAL)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, None)
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def certificate_key(der_or_pem: bytes) -> bytes:
    """The Ed25519 public key of a node certificate, after checking its self-signature."""
    return node_certificate(der_or_pem)[0]


def node_certificate(der_or_pem: bytes) -> tuple[bytes, bytes]:
    """(public key, PEM) of a node certificate after checking its self-signature. The PEM is
    re-encoded from the one parsed certificate, so that text after it, or a second
    certificate after it, never reaches a trust store."""
    try:
        if der_or_pem.startswith(b"-----"):
            certificate = x509.load_pem_x509_certificate(der_or_pem)
        else:
            certificate = x509.load_der_x509_certificate(der_or_pem)
        public = certificate.public_key()
        if not isinstance(public, crypto_ed25519.Ed25519PublicKey):
            raise VerificationError("a node certificate must carry an Ed25519 key")
        public.verify(certificate.signature, certificate.tbs_certificate_bytes)
    except (ValueError, InvalidSignature) as error:
        raise VerificationError(f"not a valid node certificate: {error}") from None
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw, certificate.public_bytes(serialization.Encoding.PEM)


def contexts(seed: bytes, trusted: list[bytes]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts for the node key `seed`, trusting exactly `trusted` (PEM)."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for context in (server, client):
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.check_hostname = False  # peers are named by node id, checked afterwards
        context.verify_mode = ssl.CERT_REQUIRED
        try:
            if trusted:  # a lone validator pins nobody, and accepts nobody
                context.load_verify_locations(cadata="".join(pem.decode() for pem in trusted))
        except (ssl.SSLError, ValueError) as error:
            raise ConfigError(f"cannot set up TLS with the pinned peers: {error}") from None
    use_key((server, client), seed)
    return server, client


def use_key(contexts_: tuple[ssl.SSLContext, ...], seed: bytes) -> None:
    """Present the certificate of the node key `seed` from the next handshake on (a live
    context takes a new key: OpenSSL reads it for each connection it makes afterwards).

    `ssl` loads keys only from files, so the key is written unencrypted to a private temporary
    directory (0700) for the moment of loading and removed at once: at rest it stays in the
    keystore."""
    key = crypto_ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tempfile.TemporaryDirectory(prefix="metanode-tls-") as directory:
        cert_path = Path(directory) / "node.pem"
        key_path = Path(directory) / "node.key"
        cert_path.write_bytes(certificate_pem(seed))
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        for context in contexts_:
            try:
                context.load_cert_chain(cert_path, key_path)
            except (ssl.SSLError, ValueError) as error:
                raise ConfigError(f"cannot load the node key into TLS: {error}") from None


def trust(context: ssl.SSLContext, certificate: bytes) -> None:
    """Add one peer certificate (PEM) to a live context's trust store."""
    try:
        context.load_verify_locations(cadata=certificate.decode())
    except (ssl.SSLError, ValueError) as error:
        raise VerificationError(f"cannot trust this certificate: {error}") from None


def peer_key(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> bytes:
    """The Ed25519 node key proven by the peer in this handshake; its identity is the key's
    address unless the chain recorded the key as another identity's rotated node key."""
    der = ssl_object.getpeercert(binary_form=True)
    if der is None:
        raise VerificationError("the peer presented no certificate")
    return certificate_key(der)
