"""A rig's own small certificate authority: one CA, and a key and certificate per host, for Zenoh's mutual TLS.

``init_certs`` writes into one folder:

- ``ca.pem`` (the CA certificate: copy it to every host) and ``ca-key.pem`` (the CA's key: keep it off the
  hosts; it signs certificates for hosts added later);
- ``<host>.pem`` and ``<host>-key.pem`` per host (copy both to that host only).

Keys are ECDSA P-256, written with mode 0600. A host certificate names the host (DNS subject alternative name,
and common name) and, when given, its addresses (IP subject alternative names), so a peer connecting to
``tls/<address>:<port>`` can check it reached that host. Each host certificate is valid for TLS server and client
authentication (a Zenoh peer both accepts and opens links).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rigsync.core.errors import FieldError, RigsyncError

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as _err:
    raise ImportError(f"rigsync's certificates need the Python package 'cryptography', which is not installed "
                      f"({_err}): pip install 'rigsync[net]'") from _err

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
DEFAULT_DAYS = 3650


@dataclass(frozen=True)
class HostFiles:
    host: str
    cert: Path
    key: Path


@dataclass(frozen=True)
class RigCerts:
    ca_cert: Path
    ca_key: Path
    hosts: tuple[HostFiles, ...]

    def host(self, name: str) -> HostFiles:
        for h in self.hosts:
            if h.host == name:
                return h
        raise KeyError(name)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    with open(path, "xb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, rig: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"rigsync rig {rig}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(rig: str, now: datetime.datetime, days: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"rigsync CA of {rig}", rig)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _host_cert(rig: str, host: str, addresses: Sequence[str], ca_key: ec.EllipticCurvePrivateKey,
               ca_cert: x509.Certificate, now: datetime.datetime,
               days: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(host)]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(_name(host, rig)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def init_certs(rig: str, hosts: Sequence[str], out: Path, addresses: Mapping[str, Sequence[str]] | None = None,
               days: int = DEFAULT_DAYS, now: datetime.datetime | None = None) -> RigCerts:
    """Make the rig's CA and each host's key and certificate in ``out`` (created if missing). Refuses to replace
    any existing file (a new CA would lock every host out until each gets its new files)."""
    addresses = addresses or {}
    if not hosts:
        raise FieldError("hosts", [], "a rig needs at least one host for certificates")
    for host in addresses:
        if host not in hosts:
            raise FieldError("addresses", host, "not a host of the rig", hosts)
    for host, addrs in addresses.items():
        for a in addrs:
            try:
                ipaddress.ip_address(a)
            except ValueError:
                raise FieldError(f"addresses.{host}", a, "not an IP address", "IPv4 or IPv6, e.g. 10.0.0.2") from None
    if not 1 <= days <= 36500:
        raise FieldError("days", days, "out of range", "1 to 36500")
    files = RigCerts(out / CA_CERT, out / CA_KEY, tuple(HostFiles(h, out / f"{h}.pem", out / f"{h}-key.pem")
                                                         for h in hosts))
    every = [files.ca_cert, files.ca_key, *(p for h in files.hosts for p in (h.cert, h.key))]
    existing = [str(p) for p in every if p.exists()]
    if existing:
        raise RigsyncError(f"{out}: certificate files already there ({', '.join(existing)}); nothing was written "
                           "(choose another --out, or remove them to replace the rig's CA)")
    out.mkdir(parents=True, exist_ok=True)
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(minutes=5)  # clocks a little behind
    ca_key, ca_cert = _ca(rig, start, days)
    _write_key(files.ca_key, ca_key)
    _write_cert(files.ca_cert, ca_cert)
    for h in files.hosts:
        key, cert = _host_cert(rig, h.host, addresses.get(h.host, ()), ca_key, ca_cert, start, days)
        _write_key(h.key, key)
        _write_cert(h.cert, cert)
    return files


def issued_by(cert_path: Path, ca_path: Path) -> bool:
    """Whether the certificate at ``cert_path`` was signed by the CA at ``ca_path`` (signature and issuer name)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
