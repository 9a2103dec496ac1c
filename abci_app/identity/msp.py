"""Membership service provider: X.509 certificates issued by an org's root CA.

A member certificate carries an Ed25519 public key, the org id as subject O, a common
name, and its roles as OU attributes (Fabric's NodeOU idea). It must be issued directly
by the org's root CA. Times are whole seconds, computed without floats.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from gridwire.contract.identity import is_org_id

from abci_app.errors import Code as ChainCode
from abci_app.errors import TxError
from abci_app.identity.errors import IdentityCode as Code
from abci_app.identity.roles import Role

__all__ = ["MemberCert", "is_org_id", "parse_ca_cert", "parse_member_cert", "verify_issued_by"]


@dataclass(frozen=True, slots=True)
class MemberCert:
    """What a member certificate says: the Ed25519 key, org, common name, roles, serial and validity
    (seconds)."""

    public_key: bytes
    org_id: str
    common_name: str
    roles: tuple[str, ...]
    serial: bytes
    not_before: int
    not_after: int
    cert: x509.Certificate


def _seconds(dt: datetime) -> int:
    return calendar.timegm(dt.utctimetuple())


def _load(der: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except (ValueError, TypeError) as exc:
        raise TxError(Code.CERT_INVALID, f"{what} is not a DER X.509 certificate: {exc}") from exc


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def parse_ca_cert(der: bytes) -> x509.Certificate:
    """An org root CA certificate: parseable, a CA, self-issued."""
    cert = _load(der, "root CA certificate")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound as exc:
        raise TxError(Code.CERT_INVALID, "root CA certificate has no BasicConstraints extension") from exc
    if not constraints.ca:
        raise TxError(Code.CERT_INVALID, "root CA certificate is not a CA (BasicConstraints ca=false)")
    return cert


def parse_member_cert(der: bytes) -> MemberCert:
    """The member certificate's Ed25519 key, org (its one O, an org id), common name, roles (its OUs that
    name roles), serial and validity; CERT_INVALID for anything else. Does not check the issuer: the
    handler verifies it against the org's CA."""
    cert = _load(der, "member certificate")
    key = cert.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise TxError(Code.CERT_INVALID, "member certificate must carry an Ed25519 public key")
    orgs = _attr(cert, NameOID.ORGANIZATION_NAME)
    if len(orgs) != 1:
        raise TxError(Code.CERT_INVALID, "member certificate subject must have exactly one O (the org id)")
    if not is_org_id(orgs[0]):
        raise TxError(Code.CERT_INVALID, f"certificate O {orgs[0][:40]!r} is not an org id ([a-z0-9-]{{2,32}})")
    names = _attr(cert, NameOID.COMMON_NAME)
    roles = sorted({r for r in _attr(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) if Role.parse(r) is not None})
    serial = cert.serial_number
    return MemberCert(
        public_key=key.public_bytes(Encoding.Raw, PublicFormat.Raw),
        org_id=orgs[0],
        common_name=names[0][:128] if names else "",
        roles=tuple(roles),
        serial=serial.to_bytes((serial.bit_length() + 7) // 8 or 1, "big"),
        not_before=_seconds(cert.not_valid_before_utc),
        not_after=_seconds(cert.not_valid_after_utc),
        cert=cert,
    )


def verify_issued_by(cert: x509.Certificate, ca_der: bytes) -> None:
    """Raise CERT_FOREIGN_CA unless `cert` is signed by (and names as issuer) the given CA."""
    ca = _load(ca_der, "root CA certificate")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise TxError(Code.CERT_FOREIGN_CA, f"certificate was not issued by the org's root CA: {exc}") from exc


def check_validity(mc: MemberCert, now: int) -> None:
    """CERT_NOT_YET_VALID before the certificate's not_before, CERT_EXPIRED after its not_after (block
    time, seconds)."""
    if now < mc.not_before:
        raise TxError(Code.CERT_NOT_YET_VALID, f"certificate valid from {mc.not_before}, block time is {now}")
    if now > mc.not_after:
        raise TxError(ChainCode.CERT_EXPIRED, f"certificate expired at {mc.not_after}, block time is {now}")
