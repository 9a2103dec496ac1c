"""Certified, commissioned devices for tests: the device trust chain in one call.

Issuance and device-backed selling need a device certified by an admitted device CA and
commissioned by a certifier (abci_app/devices/commissioning.py). `certified_generator`
registers such a device and commissions it in one block; `certify` adds a certificate from
the consortium's test device CA to a RegisterDevice a test built itself, and `commission`
posts the certifier's attestations for devices already registered.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2

from clients import devices as dc
from clients.ops.consortium import TEST_DEVICE_CA, Consortium
from clients.pki import Identity
from clients.tx import sign_tx
from tests.support.driver import AppDriver, BlockResult

__all__ = ["CERTIFIER", "FOREVER", "certified_generator", "certify", "commission", "commission_msgs"]

CERTIFIER = "certissuer/registry"  # the demo consortium's certifier
FOREVER = 1 << 62  # an attestation expiry no test reaches
_KIND_NAMES = {v: k for k, v in dc.KINDS.items()}


def certify(consortium: Consortium, msg: devices_pb2.RegisterDevice, ca_id: str = TEST_DEVICE_CA) -> Message:
    """`msg` carrying a device certificate from the consortium's device CA `ca_id` that binds
    exactly its device id, kind, key and nameplate."""
    cert = consortium.device_ca(ca_id).issue_device_cert(
        msg.device_id, _KIND_NAMES[msg.kind], bytes(msg.public_key), msg.nameplate_w
    )
    out = devices_pb2.RegisterDevice()
    out.CopyFrom(msg)
    out.device_cert_der = cert
    return out


def commission_msgs(*device_ids: str, valid_from: int = 0, expiry: int = FOREVER) -> list[Message]:
    return [dc.commission_device(d, valid_from, expiry) for d in device_ids]


def _tx(driver: AppDriver, who: Identity, *msgs: Message) -> bytes:
    return sign_tx(who.key, driver.chain_id, driver.next_nonce(who.public_key), list(msgs))


def commission(
    driver: AppDriver, *device_ids: str, valid_from: int = 0, expiry: int = FOREVER, seconds: int = 1
) -> BlockResult:
    """One block in which the consortium's certifier commissions `device_ids` for
    [valid_from, expiry); asserts it succeeded."""
    certifier = driver.consortium.member(CERTIFIER)
    res = driver.block(
        [_tx(driver, certifier, *commission_msgs(*device_ids, valid_from=valid_from, expiry=expiry))], seconds=seconds
    )
    assert res.codes == (0,), [r.log for r in res.tx_results]
    return res


def certified_generator(
    driver: AppDriver,
    owner: Identity,
    device_id: str,
    site_id: str,
    *,
    kind: str = "pv",
    nameplate_w: int = 5_000,
    key: Ed25519PrivateKey | None = None,
    valid_from: int = 0,
    expiry: int = FOREVER,
    seconds: int = 1,
    **fields: object,
) -> Ed25519PrivateKey:
    """Register `device_id` on `owner`'s (already registered) site with a certificate from the
    test device CA, and have the certifier commission it, in one block; the device's key.
    `fields` are register_device's keyword fields (energy_source, battery fields, ...)."""
    key = key or Ed25519PrivateKey.generate()
    msg = dc.register_device(device_id, site_id, kind, dc.device_public_key(key), nameplate_w, **fields)  # type: ignore[arg-type]
    certifier = driver.consortium.member(CERTIFIER)
    res = driver.block(
        [
            _tx(driver, owner, certify(driver.consortium, msg)),
            _tx(driver, certifier, *commission_msgs(device_id, valid_from=valid_from, expiry=expiry)),
        ],
        seconds=seconds,
    )
    assert res.codes == (0, 0), [r.log for r in res.tx_results]
    return key
