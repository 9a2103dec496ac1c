"""Commissioning: a certifier's on-chain attestation that a certified device may deliver.

The device trust chain ends here: governance admits a device CA → the CA certifies the
device's key, serial, kind and nameplate (devcert.py) → the owner registers the device with
that certificate → a certifier commissions it (CommissionDevice: an attestation with a
start and an expiry) → the device earns certificates for production hours inside the
attestation (certificates/issuance.py) and a sell order may name it for an interval inside
the attestation (market/orders.py).

- Who: a member holding the certifier role in an org that has the certifier capability
  (auth.require_role), and never the device's owner (SELF_ATTESTATION, 142).
- What: only a certified (devcert.is_certified: a still admitted, unrevoked CA) PV, wind
  turbine or battery (NOT_CERTIFIED 138, NOT_A_GENERATOR 139). An uncertified device (a
  plain consumption meter the site owner installs) may be registered, but is never a
  generator: no certificates, no sell order.
- When: valid_from < expiry and the expiry after block time (BAD_ATTESTATION, 141). The
  certifier may date the commissioning before the registration (a device inspected before
  it joined the ledger); no reading covers time before registration anyway. A new
  attestation replaces the device's earlier one (a renewal), whichever certifier posted it.
- Withdrawal (WithdrawCommissioning): by a certifier of the org that attested
  (NOT_ATTESTING_ORG, 143); the attestation is removed, so no hour is issued and no sale
  placed for the device from then on (hours already issued stay issued).

Whose signature: the attestation is the certifier's signed tx; it moves no money or
certificates itself, it only makes the owner's device eligible.
"""

from __future__ import annotations

from collections.abc import Iterator

from abci_app.auth import require_role
from abci_app.context import TxContext
from abci_app.devices import events, keeper, keys
from abci_app.devices.devcert import is_certified
from abci_app.devices.errors import DevicesCode
from abci_app.devices.messages import KIND_NAMES, CommissionDevice, WithdrawCommissioning
from abci_app.devices.records import Commissioning, Device, DeviceId
from abci_app.errors import TxError
from abci_app.identity.roles import Role
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "COMMISSIONED_KINDS",
    "commission_device",
    "commissioned_over",
    "get_commissioning",
    "iter_commissionings",
    "put_commissioning",
    "require_commissioned",
    "withdraw_commissioning",
]

PV, WIND, BATTERY = 2, 3, 4
COMMISSIONED_KINDS = (PV, WIND, BATTERY)  # the kinds that deliver energy (sell, or earn certificates)


def get_commissioning(store: KVReader, device_id: str) -> Commissioning | None:
    """The device's commissioning attestation, or None when none was made (or it was withdrawn)."""
    raw = store.get(keys.commissioning(device_id))
    return None if raw is None else Commissioning.decode(raw)


def put_commissioning(store: Branch, c: Commissioning) -> None:
    """Store the device's commissioning attestation (replacing the previous one)."""
    store.set(keys.commissioning(c.device_id), c.encode())


def iter_commissionings(store: KVReader) -> Iterator[Commissioning]:
    """Every attestation in force, in device-id order."""
    prefix = keys.commissioning_prefix()
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield Commissioning.decode(v)


def commissioned_over(store: KVReader, device: Device, start: int, end: int) -> bool:
    """Whether the device is certified by a still admitted, unrevoked device CA and a
    commissioning attestation covers all of [start, end)."""
    c = get_commissioning(store, device.device_id)
    return c is not None and c.covers(start, end) and is_certified(store, device)


def require_commissioned(store: KVReader, device: Device, start: int, end: int) -> None:
    """Raise NOT_CERTIFIED or NOT_COMMISSIONED unless `commissioned_over(...)` holds."""
    if not is_certified(store, device):
        raise TxError(
            DevicesCode.NOT_CERTIFIED,
            f"device {device.device_id!r} has no certificate from an admitted, unrevoked device CA",
        )
    if not commissioned_over(store, device, start, end):
        raise TxError(
            DevicesCode.NOT_COMMISSIONED,
            f"no commissioning attestation of device {device.device_id!r} covers [{start}, {end})",
        )


def commission_device(ctx: TxContext, msg: CommissionDevice) -> None:
    """Post (or renew) the device's attestation; see the module doc for who and what."""
    certifier = require_role(ctx, Role.CERTIFIER)
    device = keeper.get_device(ctx.store, msg.device_id)
    if device is None:
        raise TxError(DevicesCode.UNKNOWN_DEVICE, f"device {msg.device_id!r} is not registered")
    if device.owner == certifier.address:
        raise TxError(DevicesCode.SELF_ATTESTATION, "a certifier does not commission its own device")
    if device.kind not in COMMISSIONED_KINDS:
        raise TxError(
            DevicesCode.NOT_A_GENERATOR,
            f"device {msg.device_id!r} is a {KIND_NAMES.get(device.kind, '?')}: only pv, wind and batteries",
        )
    if not is_certified(ctx.store, device):
        raise TxError(
            DevicesCode.NOT_CERTIFIED,
            f"device {msg.device_id!r} has no certificate from an admitted, unrevoked device CA",
        )
    if not msg.valid_from < msg.expiry or msg.expiry <= ctx.block.time:
        raise TxError(
            DevicesCode.BAD_ATTESTATION,
            f"an attestation needs valid_from < expiry and an expiry after block time {ctx.block.time}; "
            f"got [{msg.valid_from}, {msg.expiry})",
        )
    renewal = get_commissioning(ctx.store, msg.device_id) is not None
    put_commissioning(
        ctx.store,
        Commissioning(
            DeviceId(msg.device_id), certifier.address, certifier.org_id, msg.valid_from, msg.expiry, ctx.block.time
        ),
    )
    ctx.emit(
        events.DEVICE_COMMISSIONED,
        device=msg.device_id,
        certifier=certifier.address.hex(),
        org=certifier.org_id,
        valid_from=msg.valid_from,
        expiry=msg.expiry,
        renewal=renewal,
    )


def withdraw_commissioning(ctx: TxContext, msg: WithdrawCommissioning) -> None:
    """Remove the device's attestation (a certifier of the attesting org only)."""
    certifier = require_role(ctx, Role.CERTIFIER)
    c = get_commissioning(ctx.store, msg.device_id)
    if c is None:
        raise TxError(DevicesCode.NOT_COMMISSIONED, f"device {msg.device_id!r} has no commissioning attestation")
    if c.certifier_org != certifier.org_id:
        raise TxError(
            DevicesCode.NOT_ATTESTING_ORG, f"the attestation was posted by {c.certifier_org}, not {certifier.org_id}"
        )
    ctx.store.delete(keys.commissioning(msg.device_id))
    ctx.emit(events.COMMISSIONING_WITHDRAWN, device=msg.device_id, certifier=certifier.address.hex(), reason=msg.reason)
