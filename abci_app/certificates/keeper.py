"""Reads and writes of the certificates domain's collections (indexes kept in step).

A bundle is the Wh range [start_wh, end_wh) of one device-hour's issued certificates.
Only `issue` creates Wh (appending to the device-hour's issued tally); `cut` splits a
range in two and `merge_next` joins two adjacent ones, so the bundles of a device-hour
always tile [0, issued) exactly: volume is conserved and no Wh is in two bundles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Protocol

from abci_app.certificates import keys
from abci_app.certificates.records import (
    ACTIVE,
    NO_BUNDLE,
    Bundle,
    BundleHistory,
    BundleId,
    BundleStatus,
    ClearSkyHold,
    HistoryEntry,
    PendingDelivery,
    Retirement,
    RetirementId,
    StandingOversight,
)
from abci_app.devices.records import DeviceId
from abci_app.keys import u64
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address, BlockInfo, Event

__all__ = [
    "EventSink",
    "Sink",
    "add_claim",
    "add_history",
    "add_residual_retired",
    "claimed",
    "cut",
    "delete_bundle",
    "get_bundle",
    "get_history",
    "get_hold",
    "get_oversight",
    "get_retirement",
    "held_status",
    "index_claim",
    "index_hold",
    "index_retirement",
    "issue",
    "issued_wh",
    "iter_bundles",
    "iter_claim_ages",
    "iter_claims",
    "iter_counters",
    "iter_derived_bundles",
    "iter_device_bundles",
    "iter_histories",
    "iter_hold_ages",
    "iter_holds",
    "iter_hour_bundles",
    "iter_issued",
    "iter_issued_tallies",
    "iter_oversights",
    "iter_owner_retirement_ids",
    "iter_pending_deliveries",
    "iter_residual_retired",
    "iter_retirements",
    "merge_around",
    "merge_next",
    "next_counter",
    "next_retirement_id",
    "owner_hour_bundles",
    "peek_counter",
    "pending_for",
    "pruned_wh",
    "put_bundle",
    "put_history",
    "put_hold",
    "put_oversight",
    "put_pending_delivery",
    "put_retirement",
    "residual_retired_wh",
    "set_counter",
    "set_issued",
    "set_issued_tally",
    "volume",
]


class Sink(Protocol):
    """Where events go: a TxContext, or an EventSink in a block hook."""

    def emit(self, type_: str, **attrs: object) -> None:
        """Record an event of type `type_` with `attrs` (each a string once emitted)."""


class EventSink:
    """Collects a block hook's events."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, type_: str, **attrs: object) -> None:
        """Append the event to `events`, in emission order."""
        self.events.append(Event.of(type_, **attrs))


def _u64(store: KVReader, key: bytes) -> int:
    raw = store.get(key)
    return 0 if raw is None else int.from_bytes(raw[:8], "big")


def next_counter(store: Branch, name: str) -> int:
    """The next value of a counter (1, 2, ...)."""
    n = _u64(store, keys.counter(name)) + 1
    store.set(keys.counter(name), n.to_bytes(8, "big"))
    return n


def peek_counter(store: KVReader, name: str) -> int:
    """The counter's current value (the last id taken; 0: none yet)."""
    return _u64(store, keys.counter(name))


def set_counter(store: Branch, name: str, value: int) -> None:
    """Set the named counter (an id sequence or a cursor) to `value`."""
    store.set(keys.counter(name), value.to_bytes(8, "big"))


def iter_counters(store: KVReader) -> Iterator[tuple[str, int]]:
    """(name, value) of every counter, in key order (not the pending deliveries and clear-sky
    holds stored under the same prefix: their keys are longer than COUNTER lp(name))."""
    prefix = keys.counter("")[:1]
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        if len(k) == 2 + k[1]:
            yield k[2 : 2 + k[1]].decode(), int.from_bytes(v[:8], "big")


def volume(b: Bundle) -> int:
    """The Wh the bundle holds: end_wh - start_wh."""
    return b.end_wh - b.start_wh


def get_bundle(store: KVReader, bundle_id: int) -> Bundle | None:
    """The bundle with `bundle_id`, or None (never issued, or merged away)."""
    raw = store.get(keys.bundle(bundle_id))
    return None if raw is None else Bundle.decode(raw)


def iter_bundles(store: KVReader) -> Iterator[Bundle]:
    """Every stored bundle, in id order."""
    prefix = keys.bundle(0)[:1]
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield Bundle.decode(v)


def _unindex(store: Branch, b: Bundle) -> None:
    store.delete(keys.by_owner(b.owner, b.hour_start, b.bundle_id))
    store.delete(keys.by_device(b.device_id, b.hour_start, b.start_wh))
    store.delete(keys.by_hour(b.hour_start, b.bundle_id))
    store.delete(keys.by_status(b.status, b.bundle_id))
    if b.origin_device:
        store.delete(keys.by_origin(b.origin_device, b.origin_hour, b.bundle_id))


def put_bundle(store: Branch, b: Bundle, old: Bundle | None = None) -> None:
    """Store `b` with its owner, device-hour, hour and status index entries, and for a
    storage certificate its origin entry (moving them from `old`)."""
    if old is not None:
        _unindex(store, old)
    store.set(keys.bundle(b.bundle_id), b.encode())
    store.set(keys.by_owner(b.owner, b.hour_start, b.bundle_id), b"")
    store.set(keys.by_device(b.device_id, b.hour_start, b.start_wh), b.bundle_id.to_bytes(8, "big"))
    store.set(keys.by_hour(b.hour_start, b.bundle_id), b"")
    store.set(keys.by_status(b.status, b.bundle_id), b"")
    if b.origin_device:
        store.set(keys.by_origin(b.origin_device, b.origin_hour, b.bundle_id), b"")


def delete_bundle(store: Branch, b: Bundle) -> None:
    """Remove the bundle, its index entries and its history from state."""
    _delete_bundle(store, b)


def _delete_bundle(store: Branch, b: Bundle) -> None:
    _unindex(store, b)
    store.delete(keys.bundle(b.bundle_id))
    store.delete(keys.history(b.bundle_id))


def get_history(store: KVReader, bundle_id: int) -> BundleHistory | None:
    """The stored history of bundle `bundle_id`, or None."""
    raw = store.get(keys.history(bundle_id))
    return None if raw is None else BundleHistory.decode(raw)


def iter_histories(store: KVReader) -> Iterator[BundleHistory]:
    """Every stored bundle history, in bundle id order."""
    prefix = keys.history(0)[:1]
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield BundleHistory.decode(v)


def put_history(store: Branch, h: BundleHistory) -> None:
    """Store a bundle's history under its id (replacing the previous one)."""
    store.set(keys.history(h.bundle_id), h.encode())


def _append_history(store: Branch, bundle_id: BundleId, entries: tuple[HistoryEntry, ...]) -> None:
    h = get_history(store, bundle_id) or BundleHistory(bundle_id)
    put_history(store, replace(h, entries=h.entries + entries))


def add_history(
    store: Branch,
    bundle_id: BundleId,
    block: BlockInfo,
    action: str,
    wh: int,
    *,
    from_: bytes = b"",
    to: bytes = b"",
    other_bundle: int = 0,
) -> None:
    """Append one entry to the bundle's compact history."""
    entry = HistoryEntry(action, block.height, block.time, wh, from_=from_, to=to, other_bundle=other_bundle)
    _append_history(store, bundle_id, (entry,))


def issued_wh(store: KVReader, device_id: str, hour_start: int) -> int:
    """Wh already issued for the device-hour."""
    return _u64(store, keys.issued(device_id, hour_start))


def set_issued(store: Branch, device_id: str, hour_start: int, wh: int) -> None:
    """Record that `wh` Wh of certificates were issued for the device-hour in total (the volume invariants
    check against), keeping its pruned tally."""
    key = keys.issued(device_id, hour_start)
    raw = store.get(key)
    store.set(key, wh.to_bytes(8, "big") + (raw[8:16] if raw is not None else b""))


def pruned_wh(store: KVReader, device_id: str, hour_start: int) -> int:
    """Wh of the device-hour's bundles pruning archived (prune.py); 0 when none."""
    raw = store.get(keys.issued(device_id, hour_start))
    return 0 if raw is None or len(raw) < 16 else int.from_bytes(raw[8:16], "big")


def set_issued_tally(store: Branch, device_id: str, hour_start: int, wh: int, pruned: int) -> None:
    """Store the device-hour's issued Wh and, when above 0, the Wh of its bundles already archived
    (u64 issued, then u64 pruned: a device-hour nothing was pruned of keeps its 8-byte value)."""
    tail = pruned.to_bytes(8, "big") if pruned else b""
    store.set(keys.issued(device_id, hour_start), wh.to_bytes(8, "big") + tail)


def iter_issued(store: KVReader) -> Iterator[tuple[DeviceId, int, int]]:
    """(device id, hour start, issued Wh) of every issued device-hour, in key order."""
    for device_id, hour, wh, _pruned in iter_issued_tallies(store):
        yield device_id, hour, wh


def iter_issued_tallies(store: KVReader) -> Iterator[tuple[DeviceId, int, int, int]]:
    """(device id, hour start, issued Wh, pruned Wh) of every issued device-hour still in state, in key
    order."""
    prefix = keys.issued_prefix()
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        n = k[1]
        pruned = int.from_bytes(v[8:16], "big") if len(v) >= 16 else 0
        hour = int.from_bytes(k[2 + n : 10 + n], "big")
        yield DeviceId(k[2 : 2 + n].decode()), hour, int.from_bytes(v[:8], "big"), pruned


def issue(store: Branch, block: BlockInfo, template: Bundle, wh: int) -> Bundle:
    """Append `wh` > 0 new Wh to the device-hour of `template` (device_id, hour_start) as a
    new bundle [issued, issued + wh) with the template's owner, status and attributes."""
    start = issued_wh(store, template.device_id, template.hour_start)
    b = replace(
        template,
        bundle_id=BundleId(next_counter(store, "bundle")),
        start_wh=start,
        end_wh=start + wh,
        issued_height=block.height,
    )
    set_issued(store, b.device_id, b.hour_start, b.end_wh)
    put_bundle(store, b)
    add_history(store, b.bundle_id, block, "issued", wh, to=b.owner)
    return b


def cut(store: Branch, block: BlockInfo, b: Bundle, wh: int) -> Bundle:
    """The first `wh` (0 < wh ≤ volume) Wh of `b` as a bundle of their own: `b` itself when
    wh is its whole volume, else a new bundle [start, start + wh) cut from it (whose
    parent is `b`) while `b`, as stored, keeps [start + wh, end)."""
    if wh == volume(b):
        return b
    piece = replace(b, bundle_id=BundleId(next_counter(store, "bundle")), end_wh=b.start_wh + wh, parent_id=b.bundle_id)
    rest = replace(b, start_wh=piece.end_wh)
    put_bundle(store, rest, b)
    put_bundle(store, piece)
    add_history(store, rest.bundle_id, block, "split", wh, other_bundle=piece.bundle_id)
    add_history(store, piece.bundle_id, block, "cut_from", wh, other_bundle=rest.bundle_id)
    return piece


def _mergeable(a: Bundle, b: Bundle) -> bool:
    if a.end_wh != b.start_wh or a.status != ACTIVE or b.status != ACTIVE:
        return False
    return _attributes(a) == _attributes(b)


def _attributes(b: Bundle) -> Bundle:
    """`b` without what tells two bundles of one device-hour apart (id, range, parent)."""
    return replace(b, bundle_id=NO_BUNDLE, start_wh=0, end_wh=0, parent_id=NO_BUNDLE)


def _at(store: KVReader, device_id: str, hour_start: int, start_wh: int) -> Bundle | None:
    raw = store.get(keys.by_device(device_id, hour_start, start_wh))
    return None if raw is None else get_bundle(store, int.from_bytes(raw, "big"))


def merge_next(store: Branch, block: BlockInfo, b: Bundle, sink: Sink) -> Bundle:
    """Merge `b` with the bundle right after it in its device-hour if both are active with
    the same owner and attributes (keeps state small); returns the surviving bundle."""
    nxt = _at(store, b.device_id, b.hour_start, b.end_wh)
    if nxt is None or not _mergeable(b, nxt):
        return b
    absorbed = get_history(store, nxt.bundle_id)
    _delete_bundle(store, nxt)
    if absorbed is not None:  # the survivor's history keeps the absorbed bundle's entries
        _append_history(store, b.bundle_id, absorbed.entries)
    old, b = b, replace(b, end_wh=nxt.end_wh)
    put_bundle(store, b, old)
    add_history(store, b.bundle_id, block, "merged", volume(nxt), other_bundle=nxt.bundle_id)
    sink.emit("bundle_merged", bundle=b.bundle_id, absorbed=nxt.bundle_id, wh=volume(b))
    return b


def merge_around(store: Branch, block: BlockInfo, b: Bundle, sink: Sink) -> Bundle:
    """Merge `b` with its mergeable neighbours on both sides; returns the surviving bundle."""
    prefix = keys.by_device_prefix(b.device_id, b.hour_start)
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        prev = get_bundle(store, int.from_bytes(v, "big"))
        if prev is not None and prev.end_wh == b.start_wh:
            if _mergeable(prev, b):
                b = merge_next(store, block, prev, sink)
            break
    return merge_next(store, block, b, sink)


def owner_hour_bundles(store: KVReader, owner: bytes, hour_start: int) -> list[Bundle]:
    """The owner's active bundles of production hour `hour_start`, in id order."""
    prefix = keys.by_owner_prefix(owner, hour_start)
    out = []
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        b = get_bundle(store, int.from_bytes(k[-8:], "big"))
        if b is not None and b.status == ACTIVE:
            out.append(b)
    return out


def iter_device_bundles(store: KVReader, device_id: str, from_hour: int = 0) -> Iterator[Bundle]:
    """The device's bundles with production hour ≥ from_hour, by hour then range."""
    prefix = keys.by_device_prefix(device_id)
    for _k, v in store.iter_range(prefix + from_hour.to_bytes(8, "big"), prefix_end(prefix)):
        b = get_bundle(store, int.from_bytes(v, "big"))
        if b is not None:
            yield b


def iter_derived_bundles(store: KVReader, device_id: str, from_hour: int = 0) -> Iterator[Bundle]:
    """The storage certificates whose energy came from the device's generation of hours ≥
    from_hour (origin_device/origin_hour), by origin hour then bundle id."""
    prefix = keys.by_origin_prefix(device_id)
    for k, _v in store.iter_range(prefix + from_hour.to_bytes(8, "big"), prefix_end(prefix)):
        b = get_bundle(store, int.from_bytes(k[-8:], "big"))
        if b is not None:
            yield b


def iter_hour_bundles(store: KVReader, hour_start: int) -> Iterator[Bundle]:
    """The bundles of production hour `hour_start`, in index order (entries whose bundle is gone are
    skipped)."""
    prefix = keys.by_hour_prefix(hour_start)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        b = get_bundle(store, int.from_bytes(k[-8:], "big"))
        if b is not None:
            yield b


def get_retirement(store: KVReader, retirement_id: int) -> Retirement | None:
    """The retirement record `retirement_id`, or None."""
    raw = store.get(keys.retirement(retirement_id))
    return None if raw is None else Retirement.decode(raw)


def put_retirement(store: Branch, r: Retirement) -> None:
    """Store a retirement record under its id (kept until its retention has passed; then prune.py archives
    it, and it stays provable from the archive commitment), a new one also in its owner's index."""
    key = keys.retirement(r.retirement_id)
    if store.get(key) is None:
        index_retirement(store, r)
    store.set(key, r.encode())


def index_retirement(store: Branch, r: Retirement) -> None:
    """Enter the retirement in its owner's index (by production hour), as put_retirement does for a new
    one; for retirements stored before the index existed (the upgrade "retired-bundles-first")."""
    store.set(keys.retirement_by_owner(r.owner, r.hour_start, r.retirement_id), b"")


def iter_owner_retirement_ids(store: KVReader) -> Iterator[tuple[Address, int, int]]:
    """(owner, production hour, retirement id) of every entry of the retirements' owner index, in key order."""
    prefix = keys.retirement_by_owner_prefix()
    n = len(prefix)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield Address(k[n : n + 20]), int.from_bytes(k[n + 20 : n + 28], "big"), int.from_bytes(k[n + 28 :], "big")


def iter_retirements(store: KVReader) -> Iterator[Retirement]:
    """Every retirement record, in id order."""
    prefix = keys.retirement(0)[:1]
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield Retirement.decode(v)


def next_retirement_id(store: Branch) -> RetirementId:
    """Allocate the next retirement id (1, 2, ...; never reused)."""
    return RetirementId(next_counter(store, "retirement"))


def claimed(store: KVReader, beneficiary: bytes, hour_start: int) -> int:
    """Retired Wh claimed for the beneficiary's consumption in the hour."""
    return _u64(store, keys.claim(beneficiary, hour_start))


def iter_claims(store: KVReader) -> Iterator[tuple[Address, int, int]]:
    """(beneficiary, hour start, claimed Wh) of every claimed beneficiary-hour, in key order."""
    prefix = keys.claim(b"", 0)[:1]
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield Address(k[1:21]), int.from_bytes(k[21:29], "big"), int.from_bytes(v[:8], "big")


def add_claim(store: Branch, beneficiary: bytes, hour_start: int, wh: int) -> None:
    """Add `wh` to what `beneficiary` claimed for production hour `hour_start` (nothing is written for 0);
    a new beneficiary-hour is also entered in the production-hour index that pruning walks."""
    if wh:
        key = keys.claim(beneficiary, hour_start)
        have = _u64(store, key)
        if not have:
            store.set(keys.claim_age(hour_start, beneficiary), b"")
        store.set(key, (have + wh).to_bytes(8, "big"))


def index_claim(store: Branch, beneficiary: bytes, hour_start: int) -> bool:
    """Enter the beneficiary-hour's claim in the production-hour index pruning walks unless it is there
    already (an entry present is left as it is); True if the entry was written. add_claim indexes every
    new claim itself; this is for claims stored before the index existed (the upgrade "hour-indexes",
    abci_app/upgrades/hour_indexes.py)."""
    key = keys.claim_age(hour_start, beneficiary)
    if store.get(key) is not None:
        return False
    store.set(key, b"")
    return True


def _hour_index(store: KVReader, prefix: bytes, before_hour: int | None) -> Iterator[tuple[int, bytes]]:
    """(hour, the rest of the key) of an index keyed prefix u64(hour) …, in hour order (hours before
    `before_hour` only, when given)."""
    end = prefix_end(prefix) if before_hour is None else prefix + u64(max(0, before_hour))
    n = len(prefix)
    for k, _v in store.iter_range(prefix, end):
        yield int.from_bytes(k[n : n + 8], "big"), k[n + 8 :]


def residual_retired_wh(store: KVReader, hour_start: int, region: str) -> int:
    """Retired Wh of the production hour in `region` whose bundles pruning archived (0: none)."""
    return _u64(store, keys.residual_retired(hour_start, region))


def add_residual_retired(store: Branch, hour_start: int, region: str, wh: int) -> None:
    """Add `wh` retired Wh of the production hour in `region` whose bundle left live state."""
    if wh:
        key = keys.residual_retired(hour_start, region)
        store.set(key, (_u64(store, key) + wh).to_bytes(8, "big"))


def iter_residual_retired(store: KVReader, before_hour: int | None = None) -> Iterator[tuple[int, str, int]]:
    """(production hour, region, archived retired Wh) of every entry (of hours before `before_hour`), in
    hour order."""
    prefix = keys.residual_retired_prefix()
    end = prefix_end(prefix) if before_hour is None else prefix + u64(max(0, before_hour))
    for k, v in store.iter_range(prefix, end):
        rest = k[len(prefix) :]
        yield int.from_bytes(rest[:8], "big"), rest[9 : 9 + rest[8]].decode(), int.from_bytes(v[:8], "big")


def iter_claim_ages(store: KVReader, before_hour: int | None = None) -> Iterator[tuple[int, Address]]:
    """(production hour, beneficiary) of every claim (of hours before `before_hour`), in hour order, from
    the index."""
    for hour, beneficiary in _hour_index(store, keys.claim_age_prefix(), before_hour):
        yield hour, Address(beneficiary)


def get_oversight(store: KVReader, device_id: str) -> StandingOversight | None:
    """The certifier's standing oversight of the device, or None."""
    raw = store.get(keys.oversight(device_id))
    return None if raw is None else StandingOversight.decode(raw)


def put_oversight(store: Branch, device_id: str, record: StandingOversight | None) -> None:
    """Store the device's standing oversight (None: remove it)."""
    if record is None:
        store.delete(keys.oversight(device_id))
    else:
        store.set(keys.oversight(device_id), record.encode())


def iter_oversights(store: KVReader) -> Iterator[StandingOversight]:
    """Every standing oversight, in device key order."""
    prefix = keys.oversight_prefix()
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield StandingOversight.decode(v)


def held_status(store: KVReader, device_id: str, hour_start: int) -> BundleStatus | None:
    """The status a standing oversight holds the device-hour's bundles in (suspended or
    revoked), or None when no standing oversight covers it."""
    record = get_oversight(store, device_id) if device_id else None
    return None if record is None else record.status_at(hour_start)


def get_hold(store: KVReader, device_id: str, hour_start: int) -> ClearSkyHold | None:
    """The device-hour's clear-sky hold, or None."""
    raw = store.get(keys.clear_sky_hold(device_id, hour_start))
    return None if raw is None else ClearSkyHold.decode(raw)


def put_hold(store: Branch, hold: ClearSkyHold) -> None:
    """Store the clear-sky hold of its device-hour (replacing the previous one); a new hold is
    also entered in the production-hour index that pruning walks."""
    key = keys.clear_sky_hold(hold.device_id, hold.hour_start)
    if store.get(key) is None:
        store.set(keys.clear_sky_hold_age(hold.hour_start, hold.device_id), b"")
    store.set(key, hold.encode())


def index_hold(store: Branch, device_id: str, hour_start: int) -> bool:
    """Enter the device-hour's clear-sky hold in the production-hour index pruning walks unless it is
    there already (an entry present is left as it is); True if the entry was written. put_hold indexes
    every new hold itself; this is for holds stored before the index existed (the upgrade
    "hour-indexes", abci_app/upgrades/hour_indexes.py)."""
    key = keys.clear_sky_hold_age(hour_start, device_id)
    if store.get(key) is not None:
        return False
    store.set(key, b"")
    return True


def iter_hold_ages(store: KVReader, before_hour: int | None = None) -> Iterator[tuple[int, str]]:
    """(production hour, device) of every clear-sky hold (of hours before `before_hour`), in
    hour order, from the index."""
    for hour, device in _hour_index(store, keys.clear_sky_hold_age_prefix(), before_hour):
        yield hour, device[1:].decode()  # lp(device): its length byte, then the id


def iter_holds(store: KVReader) -> Iterator[ClearSkyHold]:
    """Every clear-sky hold, in key order (device, then production hour)."""
    prefix = keys.clear_sky_hold_prefix()
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield ClearSkyHold.decode(v)


def put_pending_delivery(store: Branch, p: PendingDelivery | None, old: PendingDelivery | None = None) -> None:
    """Store `p` (None: only remove `old`)."""
    if old is not None:
        store.delete(keys.pending_delivery(old.hour_start, old.seller, old.delivery_id))
    if p is not None:
        store.set(keys.pending_delivery(p.hour_start, p.seller, p.delivery_id), p.encode())


def iter_pending_deliveries(store: KVReader) -> Iterator[PendingDelivery]:
    """Every pending delivery, in key order (production hour, seller, id: oldest hour first)."""
    prefix = keys.pending_delivery_prefix()
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield PendingDelivery.decode(v)


def pending_for(store: KVReader, seller: bytes, hour_start: int) -> bool:
    """Whether the seller owes a pending delivery of production hour `hour_start`."""
    prefix = keys.pending_delivery_prefix(hour_start, seller)
    return any(True for _ in store.iter_range(prefix, prefix_end(prefix)))
