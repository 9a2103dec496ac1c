"""Certificates message handlers: authorise, apply, emit.

Transfer and retirement are by the bundle's owner, of active bundles only (a retired,
suspended, revoked, consumed or expired Wh never moves). Suspension and revocation are by
the certificate-issuing body only (role certifier): suspend turns active bundles of the
device from `from_hour` on into suspended; revoke turns active and suspended ones into
revoked. Retired and storage-consumed bundles are claims already made and stay.
"""

from __future__ import annotations

from abci_app.auth import require_member, require_role
from abci_app.certificates import events, keeper, ops
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.messages import RetireCertificates, RevokeBundles, SuspendBundles, TransferCertificates
from abci_app.certificates.records import ACTIVE, REVOKED, STATUS_NAMES, SUSPENDED, Bundle, BundleStatus
from abci_app.context import TxContext
from abci_app.devices.keeper import get_device
from abci_app.errors import TxError
from abci_app.identity.keeper import get_member
from abci_app.identity.roles import Role

__all__ = ["retire_certificates", "revoke_bundles", "suspend_bundles", "transfer_certificates"]

MAX_OVERSIGHT_BUNDLES = 50_000  # bundles one suspend/revoke may touch (bounds the tx's work)


def _movable(ctx: TxContext, bundle_id: int, wh: int) -> Bundle:
    b = keeper.get_bundle(ctx.store, bundle_id)
    if b is None:
        raise TxError(CertificatesCode.UNKNOWN_BUNDLE, f"bundle {bundle_id} does not exist")
    if b.owner != ctx.signer_address:
        raise TxError(CertificatesCode.NOT_BUNDLE_OWNER, f"signer does not own bundle {bundle_id}")
    if b.status != ACTIVE:
        raise TxError(CertificatesCode.BUNDLE_NOT_ACTIVE, f"bundle {bundle_id} is {STATUS_NAMES[b.status]}")
    if wh > keeper.volume(b):
        raise TxError(CertificatesCode.VOLUME_EXCEEDED, f"bundle {bundle_id} holds {keeper.volume(b)} Wh, not {wh}")
    return b


def transfer_certificates(ctx: TxContext, msg: TransferCertificates) -> None:
    require_member(ctx)
    b = _movable(ctx, msg.bundle_id, msg.wh)
    member = get_member(ctx.store, msg.to)
    if member is None or member.revoked:
        raise TxError(CertificatesCode.UNKNOWN_RECIPIENT, f"recipient {msg.to.hex()} is not an enrolled, active member")
    ops.transfer(ctx.store, ctx.block, b, msg.wh, msg.to, sink=ctx)


def retire_certificates(ctx: TxContext, msg: RetireCertificates) -> None:
    require_member(ctx)
    b = _movable(ctx, msg.bundle_id, msg.wh)
    claim = ops.Claim(msg.beneficiary, msg.purpose, msg.consumption_start, msg.consumption_end)
    ops.retire(ctx.store, ctx.block, b, msg.wh, claim=claim, sink=ctx)


def _oversee(
    ctx: TxContext,
    device_id: str,
    from_hour: int,
    *,
    sources: tuple[BundleStatus, ...],
    status: BundleStatus,
    event: str,
) -> None:
    require_role(ctx, Role.CERTIFIER)
    if get_device(ctx.store, device_id) is None:
        raise TxError(CertificatesCode.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
    targets = [b for b in keeper.iter_device_bundles(ctx.store, device_id, from_hour) if b.status in sources]
    if len(targets) > MAX_OVERSIGHT_BUNDLES:
        raise TxError(
            CertificatesCode.VOLUME_EXCEEDED, f"more than {MAX_OVERSIGHT_BUNDLES} bundles; use a later from_hour"
        )
    for b in targets:
        ops.set_status(ctx.store, ctx.block, b, status, sink=ctx, event=event)


def suspend_bundles(ctx: TxContext, msg: SuspendBundles) -> None:
    _oversee(ctx, msg.device_id, msg.from_hour, sources=(ACTIVE,), status=SUSPENDED, event=events.BUNDLE_SUSPENDED)


def revoke_bundles(ctx: TxContext, msg: RevokeBundles) -> None:
    _oversee(
        ctx, msg.device_id, msg.from_hour, sources=(ACTIVE, SUSPENDED), status=REVOKED, event=events.BUNDLE_REVOKED
    )
