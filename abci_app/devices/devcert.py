"""Device certificates: the X.509 profile (gridwire.devicecert) checked against chain state.

A device is certified when its RegisterDevice (or RotateDeviceKey) carried a device
certificate that, at block time:

1. parses as DER X.509 with an Ed25519 key, exactly one subject serialNumber and exactly
   one canonical device-profile extension (DEVICE_CERT_INVALID, 129);
2. was signed by, and names as issuer, a device CA that governance admitted
   (DEVICE_CA_UNKNOWN, 130: self-signed or a CA never admitted) and has not revoked
   (DEVICE_CA_REVOKED, 131);
3. is within its validity, and so is its CA's certificate (DEVICE_CERT_EXPIRED, 132);
4. binds the registered key (DEVICE_CERT_KEY_MISMATCH, 133), the device id as its
   serialNumber (DEVICE_CERT_SERIAL_MISMATCH, 134), the kind (135) and the nameplate
   (DEVICE_CERT_NAMEPLATE_MISMATCH, 136).

The checks run in that order, so a forged certificate is refused for what it is before
what it claims is compared. The device then records the CA's id and the certificate's
serial (Device.cert_ca_id, cert_serial). It stays certified while that CA stays admitted
and unrevoked (`is_certified`): revoking a CA withdraws, at once, certification from every
device it vouched for. Verification uses the pinned `cryptography` (Ed25519 signatures are
deterministic), as the org MSP does.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gridwire.devicecert import DEVICE_PROFILE_OID, SERIAL_NUMBER_OID, decode_device_profile

from abci_app.devices.errors import DevicesCode
from abci_app.devices.records import Device
from abci_app.errors import TxError
from abci_app.identity import keeper as identity
from abci_app.store.branch import KVReader

__all__ = ["CertifiedBy", "DeviceCert", "is_certified", "parse_device_cert", "verify_device_cert"]

_PROFILE = x509.ObjectIdentifier(DEVICE_PROFILE_OID)
_SERIAL = x509.ObjectIdentifier(SERIAL_NUMBER_OID)


@dataclass(frozen=True, slots=True)
class DeviceCert:
    """What a device certificate says, read from its DER bytes: the device's key, id, kind and
    nameplate, the certificate's serial, validity and issuer."""

    public_key: bytes
    device_serial: str  # subject serialNumber: the device id
    kind: int
    nameplate_w: int
    serial: bytes  # the certificate's serial, big-endian
    not_before: int
    not_after: int
    issuer: x509.Name
    cert: x509.Certificate


@dataclass(frozen=True, slots=True)
class CertifiedBy:
    """The admitted device CA that issued a device's certificate, and the certificate's serial."""

    ca_id: str
    serial: bytes


def _seconds(dt: datetime) -> int:
    return calendar.timegm(dt.utctimetuple())


def _invalid(why: str) -> TxError:
    return TxError(DevicesCode.DEVICE_CERT_INVALID, f"device certificate: {why}")


def parse_device_cert(der: bytes) -> DeviceCert:
    """The profile's fields of a device certificate; raises DEVICE_CERT_INVALID."""
    try:
        cert = x509.load_der_x509_certificate(der)
        # parsing is lazy: read every part the checks use here, so a malformed one is refused
        # as invalid rather than failing later
        issuer = cert.issuer
        _ = (cert.subject, cert.signature, cert.tbs_certificate_bytes, cert.signature_algorithm_oid, cert.serial_number)
        key = cert.public_key()
        serials = cert.subject.get_attributes_for_oid(_SERIAL)
        profiles = [e for e in cert.extensions if e.oid == _PROFILE]
        not_before, not_after = _seconds(cert.not_valid_before_utc), _seconds(cert.not_valid_after_utc)
    except Exception as exc:  # any failure to parse attacker bytes: they are no device certificate
        raise _invalid(f"not a DER X.509 certificate ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise _invalid("the certified key must be Ed25519")
    if len(serials) != 1 or not isinstance(serials[0].value, str):
        raise _invalid("the subject must carry exactly one serialNumber (the device id)")
    if len(profiles) != 1 or not isinstance(profiles[0].value, x509.UnrecognizedExtension):
        raise _invalid(f"expected exactly one device-profile extension {DEVICE_PROFILE_OID}")
    profile = decode_device_profile(profiles[0].value.value)
    if profile is None:
        raise _invalid("the device-profile extension is not DER SEQUENCE { kind INTEGER, nameplateW INTEGER }")
    n = cert.serial_number
    if n < 0:
        raise _invalid("the serial number is negative")
    return DeviceCert(
        public_key=key.public_bytes(Encoding.Raw, PublicFormat.Raw),
        device_serial=serials[0].value,
        kind=profile[0],
        nameplate_w=profile[1],
        serial=n.to_bytes((n.bit_length() + 7) // 8 or 1, "big"),
        not_before=not_before,
        not_after=not_after,
        issuer=issuer,
        cert=cert,
    )


@lru_cache(maxsize=256)
def _ca_cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


@lru_cache(maxsize=4096)
def _signed_by(der: bytes, ca_der: bytes) -> bool:
    """Whether the CA certificate `ca_der` signed the certificate `der`: a pure function of the
    bytes, remembered, so a RegisterDevice rechecked in the mempool and then executed in
    FinalizeBlock verifies its certificate's signature once."""
    try:
        x509.load_der_x509_certificate(der).verify_directly_issued_by(_ca_cert(ca_der))
    except Exception:  # a certificate this CA did not sign (or cannot be checked against it)
        return False
    return True


def _issuing_ca(store: KVReader, dc: DeviceCert, der: bytes, now: int) -> str:
    """The id of the admitted, unrevoked device CA that issued `dc` (its bytes `der`; see the
    module doc)."""
    revoked = ""
    for ca in identity.iter_device_cas(store):
        ca_cert = _ca_cert(ca.ca_der)
        if ca_cert.subject != dc.issuer or not _signed_by(der, ca.ca_der):
            continue
        if ca.revoked:
            revoked = ca.ca_id
            continue
        if not _seconds(ca_cert.not_valid_before_utc) <= now <= _seconds(ca_cert.not_valid_after_utc):
            raise TxError(DevicesCode.DEVICE_CERT_EXPIRED, f"device CA {ca.ca_id!r} is not valid at block time {now}")
        return ca.ca_id
    try:
        issuer = dc.issuer.rfc4514_string()[:80]
    except ValueError:  # pragma: no cover - a name the parser accepted but cannot print
        issuer = "?"
    if revoked:
        raise TxError(DevicesCode.DEVICE_CA_REVOKED, f"the device certificate's CA {revoked!r} has been revoked")
    raise TxError(
        DevicesCode.DEVICE_CA_UNKNOWN,
        f"the device certificate (issuer {issuer!r}) chains to no admitted device CA",
    )


def verify_device_cert(  # noqa: PLR0917 - the bound fields, in the message's order
    store: KVReader, der: bytes, device_id: str, kind: int, public_key: bytes, nameplate_w: int, now: int
) -> CertifiedBy:
    """The CA and serial of a device certificate that passes every check of the module doc
    for this device at block time `now`; raises the check's TxError otherwise."""
    dc = parse_device_cert(der)
    ca_id = _issuing_ca(store, dc, der, now)
    if not dc.not_before <= now <= dc.not_after:
        raise TxError(
            DevicesCode.DEVICE_CERT_EXPIRED,
            f"device certificate valid [{dc.not_before}, {dc.not_after}], block time is {now}",
        )
    if dc.public_key != public_key:
        raise TxError(DevicesCode.DEVICE_CERT_KEY_MISMATCH, "the device certificate certifies another key")
    if dc.device_serial != device_id:
        raise TxError(
            DevicesCode.DEVICE_CERT_SERIAL_MISMATCH,
            f"the device certificate's serialNumber {dc.device_serial[:64]!r} is not the device id {device_id!r}",
        )
    if dc.kind != kind:
        raise TxError(DevicesCode.DEVICE_CERT_KIND_MISMATCH, f"the device certificate names kind {dc.kind}, not {kind}")
    if dc.nameplate_w != nameplate_w:
        raise TxError(
            DevicesCode.DEVICE_CERT_NAMEPLATE_MISMATCH,
            f"the device certificate names nameplate {dc.nameplate_w} W, not {nameplate_w} W",
        )
    return CertifiedBy(ca_id, dc.serial)


def is_certified(store: KVReader, device: Device) -> bool:
    """Whether a device CA that is still admitted and unrevoked certified the device's key."""
    if not device.cert_ca_id:
        return False
    ca = identity.get_device_ca(store, device.cert_ca_id)
    return ca is not None and not ca.revoked
