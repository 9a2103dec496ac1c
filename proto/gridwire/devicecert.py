"""The device certificate profile (consensus: never change it).

A device certificate is an X.509 certificate (DER) issued directly by a device CA that
governance admitted (an org's device CA or a manufacturer's). It binds:

- the device's Ed25519 key: the certificate's SubjectPublicKeyInfo;
- the device's serial: the subject's serialNumber attribute (OID 2.5.4.5), which is the
  device id the device registers under (exactly one such attribute);
- its kind and nameplate: the non-critical extension DEVICE_PROFILE_OID whose value is the
  DER encoding of SEQUENCE { kind INTEGER, nameplateW INTEGER } (kind is the
  gridledger.devices.v1.DeviceKind number, nameplateW the nameplate in W), exactly once;
- validity: notBefore ≤ block time ≤ notAfter at registration (and key rotation).

The ledger parses with the pinned `cryptography`, and compares the extension's bytes with
`encode_device_profile` of the values it decoded, so only the canonical encoding is accepted.
"""

from __future__ import annotations

__all__ = ["DEVICE_PROFILE_OID", "SERIAL_NUMBER_OID", "decode_device_profile", "encode_device_profile"]

DEVICE_PROFILE_OID = "2.25.189276576439035404329855642375181206595"  # a UUID OID: no registration needed
SERIAL_NUMBER_OID = "2.5.4.5"
_MAX_VALUE = (1 << 63) - 1


def _der_uint(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big")  # one spare byte keeps the sign bit clear
    while len(body) > 1 and body[0] == 0 and body[1] < 0x80:
        body = body[1:]
    return b"\x02" + bytes((len(body),)) + body


def encode_device_profile(kind: int, nameplate_w: int) -> bytes:
    """DER of SEQUENCE { kind INTEGER, nameplateW INTEGER } (both in [0, 2^63))."""
    if not (0 <= kind <= _MAX_VALUE and 0 <= nameplate_w <= _MAX_VALUE):
        raise ValueError("kind and nameplate must be in [0, 2^63)")
    body = _der_uint(kind) + _der_uint(nameplate_w)
    return b"\x30" + bytes((len(body),)) + body


def _read_uint(raw: bytes, at: int) -> tuple[int, int] | None:
    if at + 2 > len(raw) or raw[at] != 0x02:
        return None
    n = raw[at + 1]
    if not 1 <= n <= 9 or at + 2 + n > len(raw) or raw[at + 2] & 0x80:
        return None
    return int.from_bytes(raw[at + 2 : at + 2 + n], "big"), at + 2 + n


def decode_device_profile(raw: bytes) -> tuple[int, int] | None:
    """(kind, nameplate W) of a canonical profile extension value, or None if it is not one."""
    if len(raw) < 2 or raw[0] != 0x30 or raw[1] != len(raw) - 2:
        return None
    kind = _read_uint(raw, 2)
    if kind is None:
        return None
    nameplate = _read_uint(raw, kind[1])
    if nameplate is None or nameplate[1] != len(raw):
        return None
    if nameplate[0] > _MAX_VALUE or encode_device_profile(kind[0], nameplate[0]) != raw:
        return None
    return kind[0], nameplate[0]
