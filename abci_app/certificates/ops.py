"""Bundle operations shared by the message handlers, the block hooks and delivery versus
payment: transfer, retirement and status changes. Callers authorise and check status first."""

from __future__ import annotations

from gridwire.periods import split_by_period

from abci_app.certificates import events, keeper
from abci_app.certificates.keeper import Sink
from abci_app.certificates.params import period
from abci_app.certificates.records import RETIRED, STATUS_NAMES, Bundle, Retirement
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo

__all__ = ["retire", "set_status", "transfer"]


def transfer(
    store: Branch, block: BlockInfo, b: Bundle, wh: int, to: bytes, *, sink: Sink, merge: bool = True
) -> Bundle:
    """Move the first `wh` Wh of active bundle `b` to `to` (cutting it when wh < volume);
    with `merge` the moved bundle is merged with adjacent ones of the new owner. Returns
    the bundle now holding the moved Wh."""
    piece = keeper.cut(store, block, b, wh)
    if piece.bundle_id != b.bundle_id or piece.owner != to:
        old = Bundle()
        old.CopyFrom(piece)
        piece.owner = to
        keeper.put_bundle(store, piece, old)
        keeper.add_history(store, piece.bundle_id, block, "transferred", wh, to=to, **{"from": old.owner})
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
    claim: Retirement,
    sink: Sink,
) -> Retirement:
    """Retire the first `wh` Wh of active bundle `b` for `claim`'s beneficiary, purpose and
    consumption period (final); stores the provable retirement record and adds the volume
    to the beneficiary's hourly claims (split over the period's hours by seconds)."""
    piece = keeper.cut(store, block, b, wh)
    old = Bundle()
    old.CopyFrom(piece)
    r = Retirement()
    r.CopyFrom(claim)
    r.retirement_id = keeper.next_counter(store, "retirement")
    r.bundle_id, r.wh, r.owner = piece.bundle_id, wh, piece.owner
    r.height, r.time = block.height, block.time
    r.device_id, r.hour_start = piece.device_id, piece.hour_start
    r.energy_source, r.grid_region = piece.energy_source, piece.grid_region
    piece.status = RETIRED
    piece.retirement_id = r.retirement_id
    keeper.put_bundle(store, piece, old)
    keeper.put_retirement(store, r)
    keeper.add_history(store, piece.bundle_id, block, "retired", wh, to=r.beneficiary, other_bundle=r.retirement_id)
    for hour, part in split_by_period(r.consumption_start, r.consumption_end, wh, period(store)):
        keeper.add_claim(store, r.beneficiary, hour, part)
    sink.emit(
        events.BUNDLE_RETIRED,
        bundle=piece.bundle_id,
        retirement=r.retirement_id,
        wh=wh,
        beneficiary=r.beneficiary.hex(),
        purpose=r.purpose,
    )
    return r


def set_status(store: Branch, block: BlockInfo, b: Bundle, status: int, *, sink: Sink, event: str) -> None:
    """Change a bundle's status (the caller decided it may), with history and event."""
    old = Bundle()
    old.CopyFrom(b)
    b.status = status  # type: ignore[assignment]
    keeper.put_bundle(store, b, old)
    keeper.add_history(store, b.bundle_id, block, STATUS_NAMES[status], keeper.volume(b))
    sink.emit(event, bundle=b.bundle_id, device=b.device_id, hour=b.hour_start, wh=keeper.volume(b))
