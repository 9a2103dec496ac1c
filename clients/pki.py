"""Org certificate authorities and member certificates (MSP style), device CAs and device
certificates, for operators and tests.

An org's root CA signs Ed25519 member certificates with subject O=<org id>, CN=<name>
and one OU per role. A device CA (admitted by governance, or at genesis) signs device
certificates in the profile of `gridwire.devicecert`: the device's Ed25519 key, subject
serialNumber = the device id, and the device-profile extension carrying its kind and
nameplate (W). Keys are Ed25519 throughout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID
from gridwire.address import address_of
from gridwire.devicecert import DEVICE_PROFILE_OID, SERIAL_NUMBER_OID, encode_device_profile

__all__ = [
    "DEVICE_KIND_NUMBERS",
    "TEST_DEVICE_CA",
    "DeviceCA",
    "Identity",
    "OrgCA",
    "build_device_cert",
    "load_identity",
    "new_device_ca",
    "new_org_ca",
]

DEFAULT_VALIDITY = dt.timedelta(days=3650)
TEST_DEVICE_CA = "test-devices"  # the localnet's device CA (a manufacturer's: no org; ops/consortium.py)


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class _KeyAndCert:
    key: Ed25519PrivateKey
    cert: x509.Certificate

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def _save(self, folder: Path, stem: str) -> None:
        """`<stem>.key.pem` (owner-only) and `<stem>.cert.pem` in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        key_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_file = folder / f"{stem}.key.pem"
        key_file.touch(mode=0o600, exist_ok=True)
        key_file.chmod(0o600)  # owner-only before the key is in it
        key_file.write_bytes(key_pem)
        (folder / f"{stem}.cert.pem").write_text(self.cert_pem)


def _load(folder: Path, stem: str) -> tuple[Ed25519PrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((folder / f"{stem}.key.pem").read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{folder / stem}.key.pem is not an Ed25519 key")
    return key, x509.load_pem_x509_certificate((folder / f"{stem}.cert.pem").read_bytes())


@dataclass(frozen=True)
class Identity(_KeyAndCert):
    """A member's key and certificate."""

    @property
    def public_key(self) -> bytes:
        return _raw_public(self.key)

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)

    def save(self, folder: Path, name: str) -> None:
        self._save(folder, name)


def load_identity(folder: Path, name: str) -> Identity:
    return Identity(*_load(folder, name))


@dataclass(frozen=True)
class OrgCA(_KeyAndCert):
    org_id: str = ""

    def issue(
        self,
        common_name: str,
        roles: list[str],
        *,
        key: Ed25519PrivateKey | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        serial: int | None = None,
        org_override: str | None = None,
    ) -> Identity:
        """Issue a member certificate (the keyword arguments exist for tests of bad certs)."""
        key = key or Ed25519PrivateKey.generate()
        start = not_before or dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        end = not_after or start + DEFAULT_VALIDITY * 2
        attrs = [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_override or self.org_id),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            *(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, r) for r in roles),
        ]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(serial if serial is not None else x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, algorithm=None)
        )
        return Identity(key, cert)

    def save(self, folder: Path) -> None:
        self._save(folder, "ca")

    @staticmethod
    def load(folder: Path, org_id: str) -> OrgCA:
        key, cert = _load(folder, "ca")
        return OrgCA(key=key, cert=cert, org_id=org_id)


def _self_signed_ca(
    key: Ed25519PrivateKey, organisation: str, common_name: str, not_before: dt.datetime | None
) -> x509.Certificate:
    """A self-signed CA certificate (O=organisation, CN=common_name) for `key`, valid from
    `not_before` (by default 2020) for three default validity periods, that signs end-entity
    certificates only (path length 0)."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = not_before or dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + DEFAULT_VALIDITY * 3)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, algorithm=None)
    )


def new_org_ca(org_id: str, *, name: str | None = None, not_before: dt.datetime | None = None) -> OrgCA:
    """A fresh self-signed org root CA (Ed25519, valid from `not_before`, by default 2020, for 30 years)."""
    key = Ed25519PrivateKey.generate()
    cert = _self_signed_ca(key, org_id, name or f"{org_id} root CA", not_before)
    return OrgCA(key=key, cert=cert, org_id=org_id)


# Device kinds as gridledger.devices.v1.DeviceKind numbers (what the profile extension carries).
DEVICE_KIND_NUMBERS = {"meter": 1, "pv": 2, "wind": 3, "battery": 4, "ev_charger": 5, "heat_pump": 6, "appliance": 7}


@dataclass(frozen=True)
class DeviceCA(_KeyAndCert):
    """A device CA: an org's (org_id set) or a manufacturer's (org_id ''); `ca_id` is the id
    governance admits it under."""

    ca_id: str = ""
    org_id: str = ""

    def issue_device_cert(
        self,
        device_id: str,
        kind: str,
        public_key: bytes,
        nameplate_w: int,
        *,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        kind_number: int | None = None,
    ) -> bytes:
        """A DER device certificate binding `public_key` (raw Ed25519), the device id (subject
        serialNumber), its kind and its nameplate (the device-profile extension)."""
        start = not_before or dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        end = not_after or start + DEFAULT_VALIDITY * 2
        return build_device_cert(
            self.key,
            self.cert.subject,
            device_id,
            DEVICE_KIND_NUMBERS[kind] if kind_number is None else kind_number,
            public_key,
            nameplate_w,
            start,
            end,
        )

    def save(self, folder: Path) -> None:
        self._save(folder, "device-ca")

    @staticmethod
    def load(folder: Path, ca_id: str, org_id: str = "") -> DeviceCA:
        key, cert = _load(folder, "device-ca")
        return DeviceCA(key=key, cert=cert, ca_id=ca_id, org_id=org_id)


def build_device_cert(  # noqa: PLR0917 - every field of the profile
    signer: Ed25519PrivateKey,
    issuer: x509.Name,
    device_id: str,
    kind_number: int,
    public_key: bytes,
    nameplate_w: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> bytes:
    """A device certificate signed by `signer` under the issuer name `issuer` (a self-signed
    one when `signer` is the device's own key: how an attacker would try)."""
    subject = x509.Name(
        [
            x509.NameAttribute(x509.ObjectIdentifier(SERIAL_NUMBER_OID), device_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"device {device_id}"),
        ]
    )
    profile = x509.UnrecognizedExtension(
        x509.ObjectIdentifier(DEVICE_PROFILE_OID), encode_device_profile(kind_number, nameplate_w)
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(Ed25519PublicKey.from_public_bytes(public_key))
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(profile, critical=False)
        .sign(signer, algorithm=None)
    )
    return cert.public_bytes(serialization.Encoding.DER)


def new_device_ca(
    ca_id: str, *, org_id: str = "", name: str | None = None, not_before: dt.datetime | None = None
) -> DeviceCA:
    """A fresh self-signed device CA (Ed25519, valid from `not_before`, by default 2020, for 30 years)."""
    key = Ed25519PrivateKey.generate()
    cert = _self_signed_ca(key, org_id or ca_id, name or f"{ca_id} device CA", not_before)
    return DeviceCA(key=key, cert=cert, ca_id=ca_id, org_id=org_id)
