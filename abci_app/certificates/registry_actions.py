"""Handlers of the EnergyTag GC Registry API actions: authorise, apply, emit.

- Lock / reserve (the bundle's owner): `wh` of an active bundle (cut when less than its
  volume) become locked or reserved. Neither moves: transfer refuses them (BUNDLE_NOT_ACTIVE)
  and so do storage charging and delivery versus payment (they take active bundles only);
  a reserved bundle may still be retired (the Registry API cancels Active or Reserved
  certificates). Release (the owner) makes it active again, or expired when its age is past
  the expiry (the expiry pass went by it), or suspended / revoked when a standing oversight
  of its device-hour or its origin holds the hour; an active one merges with its neighbours.
  The certifier's suspension and revocation take locked and reserved bundles too.
- Withdraw (the issuing body, role certifier): an active, locked, reserved, suspended or
  expired bundle becomes withdrawn, final. Retired and storage-consumed Wh are claims
  already made and stay; revoked and withdrawn ones are out of circulation already
  (NOT_WITHDRAWABLE). Its Wh stay in the device-hour's issued tally, so they are never issued
  again: withdrawing takes certificates out of circulation, it does not make new ones.
- Claim (the beneficiary of a retirement): the retirement records the block that claimed it;
  the bundle stays retired (a second claim: ALREADY_CLAIMED).
- SetTransferAcceptance (any member): whether it accepts transfers only from its allow-list
  and which senders are on it (at most MAX_ALLOWED). TransferCertificates to a restricted
  member from a sender not on its list fails with NOT_ACCEPTED; a member always accepts its
  own certificates.
- CreateRecurringAction / CancelRecurringAction: a standing transfer or cancellation (recurring.py).
"""

from __future__ import annotations

from dataclasses import replace

from abci_app.auth import require_member, require_role
from abci_app.certificates import events, keeper, ops, prune, registry_keeper
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.keys import RECURRING
from abci_app.certificates.params import EXPIRY, period
from abci_app.certificates.records import (
    ACTIVE,
    EXPIRED,
    LOCKED,
    RESERVED,
    REVOKED,
    STATUS_NAMES,
    SUSPENDED,
    WITHDRAWN,
    Bundle,
    BundleStatus,
)
from abci_app.certificates.registry_messages import (
    CancelRecurringAction,
    ClaimCertificates,
    CreateRecurringAction,
    LockCertificates,
    ReleaseCertificates,
    ReserveCertificates,
    SetTransferAcceptance,
    WithdrawCertificates,
)
from abci_app.certificates.registry_records import RecurringAction, RecurringKind, TransferAcceptance
from abci_app.context import TxContext
from abci_app.errors import TxError
from abci_app.identity.keeper import get_member
from abci_app.identity.roles import Role
from abci_app.params import domain_param
from abci_app.store.branch import KVReader

__all__ = [
    "cancel_recurring_action",
    "claim_certificates",
    "create_recurring_action",
    "lock_certificates",
    "release_certificates",
    "require_acceptance",
    "reserve_certificates",
    "set_transfer_acceptance",
    "withdraw_certificates",
]

WITHDRAWABLE = (ACTIVE, LOCKED, RESERVED, SUSPENDED, EXPIRED)


def _owned(ctx: TxContext, bundle_id: int) -> Bundle:
    b = keeper.get_bundle(ctx.store, bundle_id)
    if b is None:
        raise TxError(CertificatesCode.UNKNOWN_BUNDLE, f"bundle {bundle_id} does not exist")
    if b.owner != ctx.signer_address:
        raise TxError(CertificatesCode.NOT_BUNDLE_OWNER, f"signer does not own bundle {bundle_id}")
    return b


def _hold(ctx: TxContext, bundle_id: int, wh: int, status: BundleStatus, event: str) -> None:
    require_member(ctx)
    b = _owned(ctx, bundle_id)
    if b.status != ACTIVE:
        raise TxError(CertificatesCode.BUNDLE_NOT_ACTIVE, f"bundle {bundle_id} is {STATUS_NAMES[b.status]}")
    if wh > keeper.volume(b):
        raise TxError(CertificatesCode.VOLUME_EXCEEDED, f"bundle {bundle_id} holds {keeper.volume(b)} Wh, not {wh}")
    piece = keeper.cut(ctx.store, ctx.block, b, wh)
    if piece.bundle_id != b.bundle_id:
        ctx.emit(events.BUNDLE_SPLIT, bundle=b.bundle_id, piece=piece.bundle_id, wh=wh)
    ops.set_status(ctx.store, ctx.block, piece, status, sink=ctx, event=event)


def lock_certificates(ctx: TxContext, msg: LockCertificates) -> None:
    """LockCertificates: the owner locks `wh` Wh of an active bundle (cut off when less than its volume);
    locked Wh cannot move until released."""
    _hold(ctx, msg.bundle_id, msg.wh, LOCKED, events.BUNDLE_LOCKED)


def reserve_certificates(ctx: TxContext, msg: ReserveCertificates) -> None:
    """ReserveCertificates: the owner reserves `wh` Wh of an active bundle (cut off when less than its
    volume) for a later cancellation; they cannot move until released or retired."""
    _hold(ctx, msg.bundle_id, msg.wh, RESERVED, events.BUNDLE_RESERVED)


def _released_status(store: KVReader, b: Bundle, now: int) -> BundleStatus:
    """What a released bundle becomes: the strongest standing oversight of its device-hour or
    origin, else expired when past the expiry age, else active."""
    held = [keeper.held_status(store, b.device_id, b.hour_start)]
    if b.origin_device:
        held.append(keeper.held_status(store, b.origin_device, b.origin_hour))
    if REVOKED in held:
        return REVOKED
    if SUSPENDED in held:
        return SUSPENDED
    return EXPIRED if b.hour_start + period(store) + domain_param(store, EXPIRY) <= now else ACTIVE


def release_certificates(ctx: TxContext, msg: ReleaseCertificates) -> None:
    """ReleaseCertificates: the owner releases a locked or reserved bundle, which becomes what it would be
    now (revoked or suspended under a standing oversight, expired past the expiry age, else active and
    merged with its neighbours)."""
    require_member(ctx)
    b = _owned(ctx, msg.bundle_id)
    if b.status not in (LOCKED, RESERVED):
        raise TxError(CertificatesCode.NOT_LOCKED_OR_RESERVED, f"bundle {msg.bundle_id} is {STATUS_NAMES[b.status]}")
    status = _released_status(ctx.store, b, ctx.block.time)
    new = ops.set_status(
        ctx.store, ctx.block, b, status, sink=ctx, event=events.BUNDLE_RELEASED, action="released",
        released_as=STATUS_NAMES[status],
    )  # fmt: skip
    if status == ACTIVE:
        keeper.merge_around(ctx.store, ctx.block, new, ctx)


def withdraw_certificates(ctx: TxContext, msg: WithdrawCertificates) -> None:
    """WithdrawCertificates: a certifier (the issuing body) withdraws an active, locked, reserved,
    suspended or expired bundle for good (NOT_WITHDRAWABLE otherwise)."""
    certifier = require_role(ctx, Role.CERTIFIER)
    b = keeper.get_bundle(ctx.store, msg.bundle_id)
    if b is None:
        raise TxError(CertificatesCode.UNKNOWN_BUNDLE, f"bundle {msg.bundle_id} does not exist")
    if b.status not in WITHDRAWABLE:
        raise TxError(
            CertificatesCode.NOT_WITHDRAWABLE,
            f"bundle {msg.bundle_id} is {STATUS_NAMES[b.status]}: only active, locked, reserved, suspended or "
            "expired bundles are withdrawn",
        )
    ops.set_status(
        ctx.store, ctx.block, b, WITHDRAWN, sink=ctx, event=events.BUNDLE_WITHDRAWN,
        by=certifier.address.hex(), reason=msg.reason,
    )  # fmt: skip


def claim_certificates(ctx: TxContext, msg: ClaimCertificates) -> None:
    """ClaimCertificates: the beneficiary of a retirement records its claim once (block height and time) in
    the retirement and the bundle's history."""
    require_member(ctx)
    r = keeper.get_retirement(ctx.store, msg.retirement_id)
    if r is None and 0 < msg.retirement_id <= prune.archived_retirement(ctx.store):
        raise TxError(
            CertificatesCode.RECORD_ARCHIVED,
            f"retirement {msg.retirement_id} was archived after its retention: it can no longer be claimed",
        )
    if r is None:
        raise TxError(CertificatesCode.UNKNOWN_RETIREMENT, f"retirement {msg.retirement_id} does not exist")
    if r.beneficiary != ctx.signer_address:
        raise TxError(
            CertificatesCode.NOT_BENEFICIARY, f"signer is not the beneficiary of retirement {r.retirement_id}"
        )
    if r.claimed_height:
        raise TxError(
            CertificatesCode.ALREADY_CLAIMED, f"retirement {r.retirement_id} was claimed at height {r.claimed_height}"
        )
    keeper.put_retirement(ctx.store, replace(r, claimed_height=ctx.block.height, claimed_time=ctx.block.time))
    keeper.add_history(
        ctx.store, r.bundle_id, ctx.block, "claimed", r.wh, to=r.beneficiary, other_bundle=r.retirement_id
    )
    ctx.emit(
        events.BUNDLE_CLAIMED, retirement=r.retirement_id, bundle=r.bundle_id, beneficiary=r.beneficiary.hex(), wh=r.wh
    )


def require_acceptance(store: KVReader, to: bytes, sender: bytes) -> None:
    """NOT_ACCEPTED unless `to` accepts transfers from `sender`."""
    if not registry_keeper.accepts(store, to, sender):
        raise TxError(
            CertificatesCode.NOT_ACCEPTED,
            f"recipient {to.hex()} accepts transfers only from its allow-list, which does not name {sender.hex()}",
        )


def set_transfer_acceptance(ctx: TxContext, msg: SetTransferAcceptance) -> None:
    """SetTransferAcceptance: a member restricts or opens who may transfer certificates to it and edits its
    allow-list (at most MAX_ALLOWED senders, kept sorted and unique)."""
    member = require_member(ctx)
    old = registry_keeper.get_acceptance(ctx.store, member.address)
    allowed = set(() if old is None else old.allowed) | set(msg.allow)
    allowed -= set(msg.disallow)
    if len(allowed) > registry_keeper.MAX_ALLOWED:
        raise TxError(
            CertificatesCode.ALLOW_LIST_FULL, f"an allow-list holds at most {registry_keeper.MAX_ALLOWED} senders"
        )
    record = TransferAcceptance(member.address, msg.restricted, tuple(sorted(allowed)))
    registry_keeper.put_acceptance(ctx.store, record)
    ctx.emit(
        events.TRANSFER_ACCEPTANCE_SET,
        member=member.address.hex(),
        restricted=int(record.restricted),
        allowed=len(record.allowed),
    )


def create_recurring_action(ctx: TxContext, msg: CreateRecurringAction) -> None:
    """CreateRecurringAction: a member sets up a standing transfer (to an enrolled, unrevoked member that
    accepts from it) or cancellation of its certificates, from a first hour on the certificate period."""
    member = require_member(ctx)
    length = period(ctx.store)
    if msg.first_hour % length:
        raise TxError(
            CertificatesCode.BAD_RECURRENCE, f"first_hour {msg.first_hour} is not a multiple of the period {length}"
        )
    if msg.kind == RecurringKind.TRANSFER:
        target = get_member(ctx.store, msg.target)
        if target is None or target.revoked:
            raise TxError(
                CertificatesCode.UNKNOWN_RECIPIENT, f"recipient {msg.target.hex()} is not an enrolled, active member"
            )
        require_acceptance(ctx.store, msg.target, member.address)
    action = RecurringAction(
        action_id=registry_keeper.next_id(ctx.store, RECURRING),
        owner=member.address,
        kind=msg.kind,
        target=msg.target,
        wh=msg.wh,
        next_hour=msg.first_hour,
        every_hours=msg.every_hours,
        remaining=msg.count,
        purpose=msg.purpose,
    )
    registry_keeper.put_recurring(ctx.store, action)
    ctx.emit(
        events.RECURRING_ACTION_CREATED,
        action=action.action_id,
        owner=member.address.hex(),
        kind=action.kind.name.lower(),
        target=action.target.hex(),
        wh=action.wh,
        first_hour=action.next_hour,
        count=action.remaining,
    )


def cancel_recurring_action(ctx: TxContext, msg: CancelRecurringAction) -> None:
    """CancelRecurringAction: the owner deletes its standing instruction."""
    require_member(ctx)
    action = registry_keeper.get_recurring(ctx.store, msg.action_id)
    if action is None:
        raise TxError(CertificatesCode.UNKNOWN_RECURRING_ACTION, f"standing instruction {msg.action_id} does not exist")
    if action.owner != ctx.signer_address:
        raise TxError(CertificatesCode.NOT_ACTION_OWNER, f"signer does not own standing instruction {msg.action_id}")
    registry_keeper.delete_recurring(ctx.store, action)
    ctx.emit(
        events.RECURRING_ACTION_CANCELLED,
        action=action.action_id,
        owner=action.owner.hex(),
        kind=action.kind.name.lower(),
        remaining=action.remaining,
    )
