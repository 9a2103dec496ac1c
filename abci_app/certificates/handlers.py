"""Certificates message handlers: authorise, apply, emit.

Transfer and retirement are by the bundle's owner, of active bundles only (a retired,
suspended, revoked, consumed, expired, locked or withdrawn Wh never moves; a reserved one
may be retired), and a transfer only to a recipient that accepts the sender
(registry_actions.py: NOT_ACCEPTED). Suspension and revocation are by the
certificate-issuing body only (role certifier): suspend turns active (and locked or
reserved) bundles of the device from `from_hour` on into suspended; revoke turns those and
suspended ones into revoked. Retired and storage-consumed bundles are claims already made and stay.

Oversight reaches what was derived from those device-hours through storage (storage.py
keeps the lineage, indexed by source device-hour, through any number of batteries):

- Storage certificates whose origin is the device at an hour ≥ from_hour, whoever holds
  them now, change status exactly as the device's own bundles do (event `via` = storage).
- Lots still stored in any battery whose certificates came from such a device-hour are
  marked (`oversight` suspended; revoke marks unmarked and suspended lots revoked). The
  energy stays in the battery's FIFO and its discharge issues storage certificates already
  suspended or revoked. Its Wh are not withdrawn from the lot: that would turn them into
  untracked energy and erase the trail an auditor follows (how much of the compromised
  meter's output went through the battery, and where it came out), and a suspension
  could not be undone on the certificates if it were lifted. This way every Wh that went
  in is still accounted for, in the status the certifier decided, and volume is conserved.
- A retirement is final: retired bundles, own or derived, stay retired and their
  retirement record never changes. A retired storage certificate, whose retirement record
  names the battery rather than the generator, gets a history entry origin_suspended or
  origin_revoked (once each) and a retired_bundle_flagged event, so a claim built on the
  compromised meter is visible. Consumed and expired bundles stay as they are (a consumed
  one's energy lives on in a lot or in storage certificates, which are reached).

The work is bounded: the device's bundles changed plus the derived bundles changed or
flagged plus the lots marked count against MAX_OVERSIGHT_BUNDLES; beyond it the tx fails
with VOLUME_EXCEEDED before any write (a later from_hour splits the work).

Standing oversight. Suspend and revoke also record the device's standing oversight
(StandingOversight, key OVERSIGHT): its hours ≥ from_hour stay suspended / revoked for
bundles issued later too — late readings, hours not issued yet, any later hour, and
storage certificates discharged from its energy are issued in that status (issuance.py,
storage.py), never active. Revoke upgrades a suspension (from its from_hour on), and an
action with an earlier from_hour extends the standing one; a suspension from at or after
the standing revocation's first hour is already covered. One record per device holds a
suspension from S and a revocation from R > S (hours in [S, R) suspended, ≥ R revoked).

ReinstateBundles (certifier only) lifts a suspension: the device's suspended bundles of
hours ≥ from_hour, the storage certificates derived from those hours that are suspended
and the stored lots marked suspended become active again (expired, for a bundle whose
production hour is past the expiry age: the expiry pass has gone by it), and the standing
suspension ends. A suspension is lifted whole: from_hour after its first hour is refused
(PARTIAL_REINSTATE), and so is a from_hour the standing revocation covers
(OVERSIGHT_REVOKED): revoked is final, and the hours of a standing revocation stay
revoked. Retired bundles stay retired; a retired storage certificate flagged
origin_suspended gets an origin_reinstated history entry and a retired_bundle_flagged
event (status reinstated), and a later suspension flags it again. The work counts against
MAX_OVERSIGHT_BUNDLES the same way.

ReleaseHeldGeneration and RejectHeldGeneration (certifier only) decide a clear-sky hold
(issuance.py) whose status is held: release adds its held Wh to what the device-hour may
issue and issues them at once (to the device's owner, as issuance would); reject leaves
them unissued for good. A device-hour without a hold is UNKNOWN_HOLD; a hold already
released or rejected with nothing newly held is HOLD_DECIDED. The decision window closes when
the devices' pruning watermark passes the hour's start (HOLD_LAPSED): the hour's recorded
generation may be gone, so a release could no longer issue what it names, and what is held
stays unissued; pruning then archives the hold (prune.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from abci_app.auth import require_member, require_role
from abci_app.certificates import events, issuance, keeper, ops, storage
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.messages import (
    ReinstateBundles,
    RejectHeldGeneration,
    ReleaseHeldGeneration,
    RetireCertificates,
    RevokeBundles,
    SuspendBundles,
    TransferCertificates,
)
from abci_app.certificates.params import EXPIRY, period
from abci_app.certificates.records import (
    ACTIVE,
    EXPIRED,
    LOCKED,
    RESERVED,
    RETIRED,
    REVOKED,
    STATUS_NAMES,
    SUSPENDED,
    Bundle,
    BundleStatus,
    ClearSkyHold,
    HoldStatus,
    StandingOversight,
    StorageLot,
)
from abci_app.certificates.registry_actions import require_acceptance
from abci_app.context import TxContext
from abci_app.devices.keeper import get_device, may_be_pruned, pruned_before
from abci_app.devices.records import DeviceId
from abci_app.errors import TxError
from abci_app.identity.keeper import get_member
from abci_app.identity.roles import Role
from abci_app.params import domain_param
from abci_app.store.branch import KVReader

__all__ = [
    "reinstate_bundles",
    "reject_held_generation",
    "release_held_generation",
    "retire_certificates",
    "revoke_bundles",
    "suspend_bundles",
    "transfer_certificates",
]

MAX_OVERSIGHT_BUNDLES = 50_000  # bundles one suspend/revoke may touch (bounds the tx's work)


def _movable(ctx: TxContext, bundle_id: int, wh: int, statuses: tuple[BundleStatus, ...] = (ACTIVE,)) -> Bundle:
    b = keeper.get_bundle(ctx.store, bundle_id)
    if b is None:
        raise TxError(CertificatesCode.UNKNOWN_BUNDLE, f"bundle {bundle_id} does not exist")
    if b.owner != ctx.signer_address:
        raise TxError(CertificatesCode.NOT_BUNDLE_OWNER, f"signer does not own bundle {bundle_id}")
    if b.status not in statuses:
        raise TxError(CertificatesCode.BUNDLE_NOT_ACTIVE, f"bundle {bundle_id} is {STATUS_NAMES[b.status]}")
    if wh > keeper.volume(b):
        raise TxError(CertificatesCode.VOLUME_EXCEEDED, f"bundle {bundle_id} holds {keeper.volume(b)} Wh, not {wh}")
    return b


def transfer_certificates(ctx: TxContext, msg: TransferCertificates) -> None:
    """TransferCertificates: the owner moves `wh` Wh of an active bundle to an enrolled, unrevoked member
    that accepts certificates from it (cutting the bundle when wh is less than its volume)."""
    require_member(ctx)
    b = _movable(ctx, msg.bundle_id, msg.wh)
    member = get_member(ctx.store, msg.to)
    if member is None or member.revoked:
        raise TxError(CertificatesCode.UNKNOWN_RECIPIENT, f"recipient {msg.to.hex()} is not an enrolled, active member")
    require_acceptance(ctx.store, msg.to, ctx.signer_address)
    ops.transfer(ctx.store, ctx.block, b, msg.wh, msg.to, sink=ctx)


def retire_certificates(ctx: TxContext, msg: RetireCertificates) -> None:
    """RetireCertificates: the owner retires `wh` Wh of an active or reserved bundle for a beneficiary and
    consumption period; the retirement is stored for good as a provable claim."""
    require_member(ctx)
    b = _movable(ctx, msg.bundle_id, msg.wh, (ACTIVE, RESERVED))  # the Registry API cancels reserved ones too
    claim = ops.Claim(msg.beneficiary, msg.purpose, msg.consumption_start, msg.consumption_end)
    ops.retire(ctx.store, ctx.block, b, msg.wh, claim=claim, sink=ctx)


@dataclass
class _Oversight:
    """What one suspend/revoke/reinstate will write, collected before any write and bounded."""

    own: list[Bundle] = field(default_factory=list)
    derived: list[Bundle] = field(default_factory=list)
    flagged: list[Bundle] = field(default_factory=list)
    lots: list[tuple[DeviceId, int, StorageLot]] = field(default_factory=list)
    hint: str = "use a later from_hour"

    def check(self) -> None:
        if len(self.own) + len(self.derived) + len(self.flagged) + len(self.lots) > MAX_OVERSIGHT_BUNDLES:
            raise TxError(
                CertificatesCode.VOLUME_EXCEEDED,
                f"more than {MAX_OVERSIGHT_BUNDLES} bundles (the device's own and those derived via storage) "
                f"and stored lots; {self.hint}",
            )


ORIGIN_REINSTATED = "origin_reinstated"


def _flag_counts(ctx: TxContext, b: Bundle) -> dict[str, int]:
    h = keeper.get_history(ctx.store, b.bundle_id)
    counts: dict[str, int] = {}
    for e in () if h is None else h.entries:
        counts[e.action] = counts.get(e.action, 0) + 1
    return counts


def _flagged_already(ctx: TxContext, b: Bundle, action: str) -> bool:
    """Whether the retired bundle already carries the `action` flag (origin_revoked: ever;
    origin_suspended: since its last origin_reinstated)."""
    counts = _flag_counts(ctx, b)
    return counts.get(action, 0) > (counts.get(ORIGIN_REINSTATED, 0) if action == "origin_suspended" else 0)


def _collect(
    ctx: TxContext, device_id: str, from_hour: int, sources: tuple[BundleStatus, ...], status: BundleStatus
) -> _Oversight:
    """The bundles to change or flag and the lots to mark, in key order (deterministic),
    refused as soon as there are more than the cap."""
    work = _Oversight()
    for b in keeper.iter_device_bundles(ctx.store, device_id, from_hour):
        if b.status in sources:
            work.own.append(b)
            work.check()
    own_ids = {b.bundle_id for b in work.own}
    flag = "origin_" + STATUS_NAMES[status]
    for b in keeper.iter_derived_bundles(ctx.store, device_id, from_hour):
        if b.bundle_id in own_ids:  # a battery's own certificate of its own origin (hand-written genesis)
            continue
        if b.status in sources:
            work.derived.append(b)
        elif b.status == RETIRED and not _flagged_already(ctx, b, flag):
            work.flagged.append(b)
        else:
            continue
        work.check()
    for battery, seq, lot in storage.iter_source_lots(ctx.store, device_id, from_hour):
        if (lot.oversight or ACTIVE) in sources:  # an unmarked lot (oversight 0) counts as active
            work.lots.append((battery, seq, lot))
            work.check()
    return work


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
    work = _collect(ctx, device_id, from_hour, sources, status)
    store, block, name = ctx.store, ctx.block, STATUS_NAMES[status]
    for b in work.own:
        ops.set_status(store, block, b, status, sink=ctx, event=event)
    for b in work.derived:
        via, origin = events.VIA_STORAGE, b.origin_device
        ops.set_status(
            store, block, b, status, sink=ctx, event=event, via=via, origin_device=origin, origin_hour=b.origin_hour
        )
    _flag(ctx, work.flagged, name)
    for battery, seq, lot in work.lots:
        storage.put_lot(store, battery, seq, replace(lot, oversight=status))
        ctx.emit(
            events.STORAGE_LOT_MARKED,
            battery=battery,
            seq=seq,
            device=lot.device_id,
            hour=lot.hour_start,
            in_wh=lot.in_end - lot.in_start,
            status=name,
        )
    _stand(ctx, DeviceId(device_id), from_hour, status)


def _flag(ctx: TxContext, flagged: list[Bundle], name: str) -> None:
    """History entry origin_<name> and a retired_bundle_flagged event for each retired bundle."""
    for b in flagged:
        keeper.add_history(ctx.store, b.bundle_id, ctx.block, "origin_" + name, keeper.volume(b))
        ctx.emit(
            events.RETIRED_BUNDLE_FLAGGED,
            bundle=b.bundle_id,
            retirement=b.retirement_id,
            device=b.device_id,
            hour=b.hour_start,
            wh=keeper.volume(b),
            origin_device=b.origin_device,
            origin_hour=b.origin_hour,
            status=name,
        )


def _stand(ctx: TxContext, device_id: DeviceId, from_hour: int, status: BundleStatus) -> None:
    """Record (or extend, or upgrade) the device's standing suspension or revocation."""
    old = keeper.get_oversight(ctx.store, device_id)
    suspended, revoked = (None, None) if old is None else (old.suspended_from, old.revoked_from)
    if status == SUSPENDED:
        suspended = from_hour if suspended is None else min(suspended, from_hour)
    else:
        revoked = from_hour if revoked is None else min(revoked, from_hour)
    new = StandingOversight.of(device_id, suspended, revoked)
    if new is not None and new != old:
        keeper.put_oversight(ctx.store, device_id, new)
        _emit_standing(ctx, events.OVERSIGHT_SET, new)


def _emit_standing(ctx: TxContext, event: str, record: StandingOversight) -> None:
    ctx.emit(
        event,
        device=record.device_id,
        from_hour=record.from_hour,
        status=STATUS_NAMES[record.status],
        revoked_from_hour=record.revoked_from_hour,
    )


def suspend_bundles(ctx: TxContext, msg: SuspendBundles) -> None:
    """SuspendBundles: a certifier suspends the device's bundles of hours >= from_hour (and those derived
    from them through storage) and keeps a standing suspension for bundles issued later, all or nothing
    (refused above the work cap)."""
    _oversee(
        ctx, msg.device_id, msg.from_hour, sources=(ACTIVE, LOCKED, RESERVED), status=SUSPENDED,
        event=events.BUNDLE_SUSPENDED,
    )  # fmt: skip


def revoke_bundles(ctx: TxContext, msg: RevokeBundles) -> None:
    """RevokeBundles: a certifier revokes the device's bundles of hours >= from_hour (and those derived
    from them through storage) for good, and keeps a standing revocation for bundles issued later, all
    or nothing (refused above the work cap)."""
    _oversee(
        ctx,
        msg.device_id,
        msg.from_hour,
        sources=(ACTIVE, SUSPENDED, LOCKED, RESERVED),
        status=REVOKED,
        event=events.BUNDLE_REVOKED,
    )


def _collect_suspended(ctx: TxContext, device_id: str, from_hour: int, until: int | None) -> _Oversight:
    """The device's suspended bundles, the suspended storage certificates derived from it
    and the lots marked suspended, of (source) hours in [from_hour, until), in key order,
    refused as soon as there are more than the cap."""
    work = _Oversight(hint="a suspension this large cannot be lifted in one transaction")

    def inside(hour: int) -> bool:
        return until is None or hour < until

    for b in keeper.iter_device_bundles(ctx.store, device_id, from_hour):
        if not inside(b.hour_start):
            break
        if b.status == SUSPENDED:
            work.own.append(b)
            work.check()
    own_ids = {b.bundle_id for b in work.own}
    for b in keeper.iter_derived_bundles(ctx.store, device_id, from_hour):
        if not inside(b.origin_hour):
            break
        if b.bundle_id in own_ids:
            continue
        if b.status == SUSPENDED:
            work.derived.append(b)
        elif b.status == RETIRED and _suspension_flagged(ctx, b):
            work.flagged.append(b)
        else:
            continue
        work.check()
    for battery, seq, lot in storage.iter_source_lots(ctx.store, device_id, from_hour):
        if not inside(lot.hour_start):
            break
        if lot.oversight == SUSPENDED:
            work.lots.append((battery, seq, lot))
            work.check()
    return work


def _suspension_flagged(ctx: TxContext, b: Bundle) -> bool:
    """A retired bundle flagged origin_suspended since its last origin_reinstated, and
    never origin_revoked."""
    counts = _flag_counts(ctx, b)
    return not counts.get("origin_revoked") and counts.get("origin_suspended", 0) > counts.get(ORIGIN_REINSTATED, 0)


def reinstate_bundles(ctx: TxContext, msg: ReinstateBundles) -> None:
    """ReinstateBundles: a certifier lifts a suspension from from_hour on (the whole suspended range:
    PARTIAL_REINSTATE otherwise); revoked hours are never reinstated (OVERSIGHT_REVOKED)."""
    require_role(ctx, Role.CERTIFIER)
    device_id = DeviceId(msg.device_id)
    if get_device(ctx.store, device_id) is None:
        raise TxError(CertificatesCode.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
    old = keeper.get_oversight(ctx.store, device_id)
    suspended, revoked = (None, None) if old is None else (old.suspended_from, old.revoked_from)
    if revoked is not None and msg.from_hour >= revoked:
        raise TxError(
            CertificatesCode.OVERSIGHT_REVOKED,
            f"device {device_id!r} is revoked from hour {revoked} on: revoked bundles are never reinstated",
        )
    if suspended is not None and msg.from_hour > suspended:
        raise TxError(
            CertificatesCode.PARTIAL_REINSTATE,
            f"device {device_id!r} is suspended from hour {suspended} on; a suspension is lifted whole: "
            f"reinstate from hour {suspended} or earlier",
        )
    work = _collect_suspended(ctx, device_id, msg.from_hour, revoked)
    store, block = ctx.store, ctx.block
    if old is not None and suspended is not None:  # lifted first: what another oversight holds stays
        keeper.put_oversight(store, device_id, StandingOversight.of(device_id, None, revoked))
        _emit_standing(ctx, events.OVERSIGHT_LIFTED, old)
    expiry = domain_param(store, EXPIRY) + period(store)
    for b, derived in [(b, False) for b in work.own] + [(b, True) for b in work.derived]:
        if _still_held(store, b):
            continue
        status = EXPIRED if b.hour_start + expiry <= block.time else ACTIVE
        lineage: dict[str, str | int] = {}
        if derived:
            lineage = {"via": events.VIA_STORAGE, "origin_device": b.origin_device, "origin_hour": b.origin_hour}
        ops.set_status(
            store, block, b, status, sink=ctx, event=events.BUNDLE_REINSTATED, action="reinstated",
            reinstated_as=STATUS_NAMES[status], **lineage,
        )  # fmt: skip
    _flag(ctx, work.flagged, "reinstated")
    for battery, seq, lot in work.lots:
        storage.put_lot(store, battery, seq, replace(lot, oversight=BundleStatus.UNSPECIFIED))
        ctx.emit(
            events.STORAGE_LOT_UNMARKED,
            battery=battery,
            seq=seq,
            device=lot.device_id,
            hour=lot.hour_start,
            in_wh=lot.in_end - lot.in_start,
        )


def _still_held(store: KVReader, b: Bundle) -> bool:
    """Whether another standing oversight still holds the bundle: its own device-hour's (a
    battery under oversight) or its origin's (a storage certificate of a generator under
    oversight). It then stays suspended."""
    if keeper.held_status(store, b.device_id, b.hour_start) is not None:
        return True
    return bool(b.origin_device) and keeper.held_status(store, b.origin_device, b.origin_hour) is not None


def _open_hold(ctx: TxContext, device_id: str, hour_start: int) -> ClearSkyHold:
    require_role(ctx, Role.CERTIFIER)
    if may_be_pruned(ctx.store, hour_start):
        raise TxError(
            CertificatesCode.HOLD_LAPSED,
            f"hour {hour_start} of device {device_id!r} started before the devices' pruning watermark "
            f"{pruned_before(ctx.store)}: its recorded generation may be gone, so its hold can no longer be decided "
            "(what it holds is never issued)",
        )
    hold = keeper.get_hold(ctx.store, device_id, hour_start)
    if hold is None:
        raise TxError(CertificatesCode.UNKNOWN_HOLD, f"no clear-sky hold of device {device_id!r} hour {hour_start}")
    if hold.status != HoldStatus.HELD:
        raise TxError(
            CertificatesCode.HOLD_DECIDED,
            f"the clear-sky hold of device {device_id!r} hour {hour_start} is {hold.status.name.lower()}",
        )
    return hold


def release_held_generation(ctx: TxContext, msg: ReleaseHeldGeneration) -> None:
    """Certifier only: the held Wh of the device-hour become eligible and are issued now."""
    hold = _open_hold(ctx, msg.device_id, msg.hour_start)
    device = get_device(ctx.store, msg.device_id)
    if device is None:  # pragma: no cover - holds are only of registered devices
        raise TxError(CertificatesCode.UNKNOWN_DEVICE, f"device {msg.device_id!r} is not registered")
    released = replace(hold, released_wh=hold.released_wh + hold.held_wh, held_wh=0, status=HoldStatus.RELEASED)
    keeper.put_hold(ctx.store, released)
    ctx.emit(
        events.HELD_GENERATION_RELEASED,
        device=msg.device_id,
        hour=msg.hour_start,
        wh=hold.held_wh,
        by=ctx.signer_address.hex(),
    )
    issuance.issue_generation(ctx.store, ctx.block, device, msg.hour_start, ctx)


def reject_held_generation(ctx: TxContext, msg: RejectHeldGeneration) -> None:
    """Certifier only: the held Wh of the device-hour are never issued."""
    hold = _open_hold(ctx, msg.device_id, msg.hour_start)
    keeper.put_hold(ctx.store, replace(hold, status=HoldStatus.REJECTED))
    ctx.emit(
        events.HELD_GENERATION_REJECTED,
        device=msg.device_id,
        hour=msg.hour_start,
        wh=hold.held_wh,
        by=ctx.signer_address.hex(),
        reason=msg.reason,
    )
