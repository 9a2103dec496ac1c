"""Bundle operations shared by the message handlers, the block hooks and delivery versus
payment: transfer, retirement and status changes. Callers authorise and check status first."""

from __future__ import annotations

from dataclasses import dataclass, replace

from abci_app.certificates import events, keeper
from abci_app.certificates.keeper import Sink
from abci_app.certificates.params import period
from abci_app.certificates.records import RETIRED, STATUS_NAMES, Bundle, BundleStatus, Retirement
from abci_app.devices import keeper as devices
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo

__all__ = ["Claim", "counts_for", "retire", "set_status", "transfer"]


@dataclass(frozen=True, slots=True)
class Claim:
    """What a retirement claims: the beneficiary's consumption in [consumption_start, consumption_end)."""

    beneficiary: Address
    purpose: str
    consumption_start: int
    consumption_end: int


def transfer(
    store: Branch, block: BlockInfo, b: Bundle, wh: int, to: Address, *, sink: Sink, merge: bool = True
) -> Bundle:
    """Move the first `wh` Wh of active bundle `b` to `to` (cutting it when wh < volume);
    with `merge` the moved bundle is merged with adjacent ones of the new owner. Returns
    the bundle now holding the moved Wh."""
    piece = keeper.cut(store, block, b, wh)
    if piece.bundle_id != b.bundle_id or piece.owner != to:
        old, piece = piece, replace(piece, owner=to)
        keeper.put_bundle(store, piece, old)
        keeper.add_history(store, piece.bundle_id, block, "transferred", wh, from_=old.owner, to=to)
        sink.emit(events.BUNDLE_TRANSFERRED, bundle=piece.bundle_id, wh=wh, sender=old.owner.hex(), to=to.hex())
        if piece.bundle_id != b.bundle_id:
            sink.emit(events.BUNDLE_SPLIT, bundle=b.bundle_id, piece=piece.bundle_id, wh=wh)
    return keeper.merge_around(store, block, piece, sink) if merge else piece


def retire(
    store: Branch,
    block: BlockInfo,
    b: Bundle,
    wh: int,
    *,
    claim: Claim,
    sink: Sink,
) -> Retirement:
    """Retire the first `wh` Wh of active bundle `b` for `claim`'s beneficiary, purpose and
    consumption period (final); stores the provable retirement record and credits the volume
    to the beneficiary's hourly claim of the certificate's production hour, if that hour
    overlaps the consumption period (`counts_for`) and its metered consumption is still live
    (it starts at or after the devices' pruning watermark)."""
    piece = keeper.cut(store, block, b, wh)
    r = Retirement(
        retirement_id=keeper.next_retirement_id(store),
        bundle_id=piece.bundle_id,
        wh=wh,
        owner=piece.owner,
        beneficiary=claim.beneficiary,
        purpose=claim.purpose,
        consumption_start=claim.consumption_start,
        consumption_end=claim.consumption_end,
        height=block.height,
        time=block.time,
        device_id=piece.device_id,
        hour_start=piece.hour_start,
        energy_source=piece.energy_source,
        grid_region=piece.grid_region,
        end_wh=piece.end_wh,
    )
    keeper.put_bundle(store, replace(piece, status=RETIRED, retirement_id=r.retirement_id), piece)
    keeper.put_retirement(store, r)
    keeper.add_history(store, piece.bundle_id, block, "retired", wh, to=r.beneficiary, other_bundle=r.retirement_id)
    hour = counts_for(r, period(store))
    # an hour whose consumption the devices' pruning may have removed has nothing left to match
    # against (the matching queries refuse it; prune.py archives its claims)
    if hour is not None and not devices.may_be_pruned(store, hour):
        keeper.add_claim(store, r.beneficiary, hour, wh)
    sink.emit(
        events.BUNDLE_RETIRED,
        bundle=piece.bundle_id,
        retirement=r.retirement_id,
        wh=wh,
        beneficiary=r.beneficiary.hex(),
        purpose=r.purpose,
    )
    return r


def counts_for(r: Retirement, period_seconds: int) -> int | None:
    """The consumption hour a retirement counts for in hourly (24/7) matching: its
    certificate's production hour [hour_start, hour_start + period), when that hour overlaps
    the consumption period [consumption_start, consumption_end); else None.

    Temporal matching within the hour (EnergyTag granular certificates): a certificate of
    production hour H covers consumption in hour H only, so a noon certificate retired for a
    day-long period counts for noon, and one retired for a period that does not touch its
    production hour is a valid retirement for that period (the record is unchanged) that
    counts for no hour in matching. An EV session's claim (period = session ∩ hour) counts."""
    h = r.hour_start
    return h if r.consumption_start < h + period_seconds and h < r.consumption_end else None


def set_status(
    store: Branch,
    block: BlockInfo,
    b: Bundle,
    status: BundleStatus,
    *,
    sink: Sink,
    event: str,
    action: str = "",
    **attrs: object,
) -> Bundle:
    """Change a bundle's status (the caller decided it may), with history (`action`, by
    default the status name) and event (`attrs` are added to it); returns the bundle as now stored."""
    new = replace(b, status=status)
    keeper.put_bundle(store, new, b)
    keeper.add_history(store, new.bundle_id, block, action or STATUS_NAMES[status], keeper.volume(new))
    sink.emit(event, bundle=new.bundle_id, device=new.device_id, hour=new.hour_start, wh=keeper.volume(new), **attrs)
    return new
