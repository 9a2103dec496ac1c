"""Certificate invariants, checked after every block by the test driver.

- issued_within_generation: for every device-hour, Wh issued ≤ the verified generation
  (export Wh of a renewable generator; discharged Wh of a battery for storage certificates).
  Hours before the devices' pruning watermark are skipped: their flow may have been pruned
  after issuance (devices/prune.py).
- generators_issue_once: one unit of energy is certified once. Every device-hour with
  issuance is of a generator (pv, wind) or a battery (storage certificates): no meter or
  other non-generator has any, whatever energy source it declares (a meter measures the
  same energy as the site's generator). A generator's issued Wh for an hour are at most
  its eligible generation (issuance.eligible_generation): its recorded export for the hour,
  and nothing for an hour starting before its commissioning date (the export check is
  skipped before the pruning watermark, as above).
- bundles_tile_issued: the bundles of every device-hour tile [0, issued) exactly, so
  active + retired + suspended + revoked + consumed + expired = issued and no Wh is in two
  bundles; every stored bundle is in the device-hour index. Where pruning archived bundles
  (prune.py), their Wh are the device-hour's pruned tally: live + pruned = issued, no overlap.
- storage_lineage_indexed: the lineage oversight follows is complete. Every bundle with an
  origin has its origin index entry and every entry names such a bundle; every lot with
  certificates has its source index entry and every entry names such a lot; a lot's
  oversight is none, suspended or revoked, and only a lot with certificates is marked.
- standing_oversight_holds: every standing oversight is well formed (status suspended or
  revoked, a revoked_from_hour only after a suspension's from_hour, stored under its
  device) and holds: no bundle of the device, and no storage certificate derived from it,
  of an hour it covers is active (nor suspended where it revokes), and every stored lot
  from such an hour is marked at least as strongly.
- storage_records_trace: the EnergyTag storage lineage resolves. Every SCR names the bundle
  its battery consumed (consumed_by_storage, same battery, same volume); an SDR's SCR is of
  its battery; a storage certificate's SDR and a lot's SCR are records of their battery.
- recurring_actions_indexed: every standing instruction has runs left and its due entry, and
  the due index has no other entries.
- pending_deliveries_well_formed: every pending delivery (dvp.py) is stored under its key
  (production hour, seller, id), owes Wh > 0, has an id at most the pending_delivery
  counter, and a seller and a buyer that are members and differ.
- retirements_indexed_by_owner: the retirements and their owner index name the same retirements,
  each under its owner and production hour.
- retired_bundles_ahead_of_pruning: every live retired bundle is retired by a stored retirement
  record that names it, with an id above pruning's retired-bundle cursor (prune.py: a bundle
  whose retirement the sweep passed has left live state, so none is left behind for ever).
- retired_ranges_disjoint: a retirement names the Wh it retired ([end_wh − wh, end_wh) of its
  device-hour's counter, when it recorded them), within the hour's issued Wh (while its tally is
  live), and no two
  retirements of a device-hour name the same Wh (an auditor's check that nothing was claimed
  twice); a live retired bundle's range is its retirement's.
- hour_indexes_complete: the clear-sky holds and their production-hour index (which pruning
  walks, prune.py) name the same device-hours; the hourly-matching claims and theirs name the
  same beneficiary-hours.
"""

from __future__ import annotations

from itertools import pairwise

from abci_app.certificates import keeper, keys, prune, registry_keeper, storage
from abci_app.certificates.dvp import PENDING_COUNTER
from abci_app.certificates.issuance import eligible_generation
from abci_app.certificates.records import (
    ACTIVE,
    CONSUMED,
    RETIRED,
    REVOKED,
    SUSPENDED,
    Bundle,
    BundleStatus,
    PendingDelivery,
    StandingOversight,
)
from abci_app.devices import keeper as devices
from abci_app.devices.feed import is_renewable
from abci_app.identity.keeper import get_member
from abci_app.index_check import index_mismatch
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = [
    "bundles_tile_issued",
    "generators_issue_once",
    "hour_indexes_complete",
    "issued_within_generation",
    "pending_deliveries_well_formed",
    "recurring_actions_indexed",
    "retired_bundles_ahead_of_pruning",
    "retired_ranges_disjoint",
    "retirements_indexed_by_owner",
    "standing_oversight_holds",
    "storage_lineage_indexed",
    "storage_records_trace",
]

BATTERY = 4


def issued_within_generation(store: KVReader) -> str | None:
    """The first device-hour (not yet pruned) with more certificates issued than its verified generation (a
    battery's: its discharge), or None."""
    pruned = devices.pruned_before(store)
    for device_id, hour, issued in keeper.iter_issued(store):
        if hour < pruned:
            continue
        dev = devices.get_device(store, device_id)
        flow = devices.hour_flow(store, device_id, hour)
        verified = flow.discharged_wh if dev is not None and dev.kind == BATTERY else flow.export_wh
        if issued > verified:
            return f"{device_id} hour {hour}: issued {issued} Wh > verified {verified} Wh"
    return None


def generators_issue_once(store: KVReader) -> str | None:
    """The first device-hour with certificates that could not have been issued (unknown device, not a
    renewable generator, before commissioning, or above its eligible generation), or None."""
    pruned = devices.pruned_before(store)
    for device_id, hour, issued in keeper.iter_issued(store):
        dev = devices.get_device(store, device_id)
        if dev is None:
            return f"{device_id} hour {hour}: {issued} Wh issued for an unknown device"
        if dev.kind == BATTERY:
            continue
        if not is_renewable(dev):
            return f"{device_id} hour {hour}: {issued} Wh issued for a non-generator (kind {dev.kind})"
        if hour < dev.commissioning_date:
            return f"{device_id} hour {hour}: {issued} Wh issued before commissioning at {dev.commissioning_date}"
        eligible, _reason = eligible_generation(store, dev, hour)
        if hour >= pruned and issued > eligible:
            return f"{device_id} hour {hour}: issued {issued} Wh > eligible {eligible} Wh"
    return None


def bundles_tile_issued(store: KVReader) -> str | None:
    """None when the bundles of every device-hour tile [0, issued) exactly, without gaps or overlaps (where
    pruning archived some of them: the live ones do not overlap and hold issued − pruned Wh), and the
    device index points at each; else the first breach."""
    expected = {(d, h): (n, p) for d, h, n, p in keeper.iter_issued_tallies(store)}
    covered: dict[tuple[str, int], int] = {}
    live: dict[tuple[str, int], int] = {}
    indexed = 0
    prefix = keys.by_device_prefix("")[:1]
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        indexed += 1
        b = keeper.get_bundle(store, int.from_bytes(v, "big"))
        if b is None or keys.by_device(b.device_id, b.hour_start, b.start_wh) != k:
            return f"index entry {k.hex()} points at a missing or moved bundle"
        dh = (b.device_id, b.hour_start)
        issued, pruned = expected.get(dh, (0, 0))
        at = covered.get(dh, 0)
        if b.end_wh <= b.start_wh or b.start_wh < at or (not pruned and b.start_wh != at) or b.end_wh > issued:
            return f"{dh}: bundle {b.bundle_id} [{b.start_wh}, {b.end_wh}) leaves a gap or overlaps"
        covered[dh] = b.end_wh
        live[dh] = live.get(dh, 0) + b.end_wh - b.start_wh
    for dh, (issued, pruned) in expected.items():
        if live.get(dh, 0) + pruned != issued:
            return f"{dh}: bundles hold {live.get(dh, 0)} Wh and {pruned} Wh were archived, of {issued} Wh issued"
    if not covered.keys() <= expected.keys():
        return f"bundles cover {len(covered)} device-hours, not all with an issued tally"
    stored = sum(1 for _ in store.iter_range(keys.bundle(0)[:1], prefix_end(keys.bundle(0)[:1])))
    if stored != indexed:
        return f"{stored} bundles stored but {indexed} indexed"
    return None


def _count(store: KVReader, prefix: bytes) -> int:
    return sum(1 for _ in store.iter_range(prefix, prefix_end(prefix)))


def storage_lineage_indexed(store: KVReader) -> str | None:
    """None when every bundle with an origin is in the origin index (and nothing else is), and every
    storage lot's oversight and source index are consistent; else the first breach."""
    with_origin = 0
    for b in keeper.iter_bundles(store):
        if b.origin_device:
            with_origin += 1
            if store.get(keys.by_origin(b.origin_device, b.origin_hour, b.bundle_id)) is None:
                return f"bundle {b.bundle_id} of origin {b.origin_device!r} {b.origin_hour} is not in the origin index"
    if _count(store, keys.BY_ORIGIN) != with_origin:
        return f"{with_origin} bundles have an origin but the origin index has {_count(store, keys.BY_ORIGIN)} entries"
    certified = 0
    for battery, seq, lot in storage.iter_lots(store):
        if lot.oversight not in (BundleStatus.UNSPECIFIED, SUSPENDED, REVOKED) or (lot.oversight and not lot.device_id):
            return f"{battery} lot {seq}: oversight {lot.oversight!r} on a lot of source {lot.device_id!r}"
        if lot.device_id:
            certified += 1
            if store.get(keys.lot_by_source(lot.device_id, lot.hour_start, battery, seq)) is None:
                return f"{battery} lot {seq} of source {lot.device_id!r} {lot.hour_start} is not in the source index"
    entries = _count(store, keys.LOT_BY_SOURCE)
    if entries != certified:
        return f"{certified} lots carry certificates but the source index has {entries} entries"
    return None


_ALLOWED_UNDER = {SUSPENDED: (ACTIVE,), REVOKED: (ACTIVE, SUSPENDED)}  # statuses a held hour must not have
_MARKS_UNDER = {SUSPENDED: (SUSPENDED, REVOKED), REVOKED: (REVOKED,)}  # marks a held hour's lot may have


def _breach(record: StandingOversight, b: Bundle, hour: int) -> str | None:
    held = record.status_at(hour)
    if held is not None and b.status in _ALLOWED_UNDER[held]:
        return (
            f"bundle {b.bundle_id} of {record.device_id!r} hour {hour} is {b.status.name} under a standing {held.name}"
        )
    return None


def hour_indexes_complete(store: KVReader) -> str | None:
    """See the module doc."""
    holds = {(h.hour_start, h.device_id) for h in keeper.iter_holds(store)}
    claims = {(h, a) for a, h, _wh in keeper.iter_claims(store)}
    return index_mismatch(holds, set(keeper.iter_hold_ages(store)), "clear-sky hold", "hour") or index_mismatch(
        claims, set(keeper.iter_claim_ages(store)), "claim", "hour"
    )


def standing_oversight_holds(store: KVReader) -> str | None:
    """None when every standing oversight is well formed and every bundle it covers (own or derived through
    storage) is held in the status it demands; else the first breach."""
    for record in keeper.iter_oversights(store):
        device = record.device_id
        if keeper.get_oversight(store, device) != record:
            return f"standing oversight of {device!r} is not stored under its device"
        if record.status not in (SUSPENDED, REVOKED) or (
            record.revoked_from_hour and (record.status != SUSPENDED or record.revoked_from_hour <= record.from_hour)
        ):
            return f"standing oversight of {device!r} is malformed: {record}"
        for b in keeper.iter_device_bundles(store, device, record.from_hour):
            if b.origin_device != device and (breach := _breach(record, b, b.hour_start)):
                return breach
        for b in keeper.iter_derived_bundles(store, device, record.from_hour):
            if breach := _breach(record, b, b.origin_hour):
                return breach
        for battery, seq, lot in storage.iter_source_lots(store, device, record.from_hour):
            held = record.status_at(lot.hour_start)
            if held is not None and lot.oversight not in _MARKS_UNDER[held]:
                what = f"{battery} lot {seq} of {device!r} hour {lot.hour_start}"
                return f"{what} is not marked under a standing {held.name}"
    return None


def pending_deliveries_well_formed(store: KVReader) -> str | None:
    """None when every pending delivery is stored under its key, owes a positive volume, has an id the
    counter allocated, and is between two distinct members; else the first breach."""
    last = dict(keeper.iter_counters(store)).get(PENDING_COUNTER, 0)
    prefix = keys.pending_delivery_prefix()
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        p = PendingDelivery.decode(v)
        what = f"pending delivery {p.delivery_id}"
        if keys.pending_delivery(p.hour_start, p.seller, p.delivery_id) != k:
            return f"{what} is not stored under its key {k.hex()}"
        if p.wh <= 0 or not 0 < p.delivery_id <= last:
            return f"{what}: {p.wh} Wh, id beyond the counter {last} or 0"
        if p.seller == p.buyer or get_member(store, p.seller) is None or get_member(store, p.buyer) is None:
            return f"{what}: seller {p.seller.hex()} and buyer {p.buyer.hex()} must be distinct members"
    return None


def storage_records_trace(store: KVReader) -> str | None:
    """Every SCR names the bundle its battery consumed (status consumed_by_storage, that battery,
    the SCR's volume); every SDR's SCR (when it has one) is of its battery; every storage
    certificate with an SDR and every lot with an SCR name a stored record of their battery."""
    scrs = {r.scr_id: r for r in registry_keeper.iter_scrs(store)}
    for r in scrs.values():
        b = keeper.get_bundle(store, r.bundle_id)
        if b is None or b.status != CONSUMED or b.storage_device != r.battery or keeper.volume(b) != r.wh:
            return f"SCR {r.scr_id}: bundle {r.bundle_id} is not {r.wh} Wh consumed by {r.battery}"
    sdrs = {r.sdr_id: r for r in registry_keeper.iter_sdrs(store)}
    for d in sdrs.values():
        if d.scr_id and (d.scr_id not in scrs or scrs[d.scr_id].battery != d.battery):
            return f"SDR {d.sdr_id}: SCR {d.scr_id} is not a charge record of {d.battery}"
    for b in keeper.iter_bundles(store):
        if b.sdr_id and (b.sdr_id not in sdrs or sdrs[b.sdr_id].battery != b.device_id or not b.storage):
            return f"bundle {b.bundle_id}: SDR {b.sdr_id} is not a discharge record of {b.device_id}"
    for battery, seq, lot in storage.iter_lots(store):
        if lot.scr_id and (lot.scr_id not in scrs or scrs[lot.scr_id].battery != battery):
            return f"{battery} lot {seq}: SCR {lot.scr_id} is not a charge record of {battery}"
    return None


def recurring_actions_indexed(store: KVReader) -> str | None:
    """Every standing instruction has runs left and exactly its due-hour index entry."""
    actions = list(registry_keeper.iter_recurring(store))
    for a in actions:
        if a.remaining == 0 or a.every_hours == 0 or a.wh == 0:
            return f"standing instruction {a.action_id}: remaining, every_hours and wh must be above 0"
        if store.get(keys.recurring_due(a.next_hour, a.action_id)) is None:
            return f"standing instruction {a.action_id}: no due entry for hour {a.next_hour}"
    if _count(store, keys.recurring_due_prefix()) != len(actions):
        return "the due index of standing instructions has entries without an instruction"
    return None


def retired_bundles_ahead_of_pruning(store: KVReader) -> str | None:
    """The first live retired bundle whose retirement record is missing, names another bundle, or
    is one pruning's retired-bundle sweep has passed; None when there is none."""
    compacted = prune.archived_retired_bundle(store)
    prefix = keys.by_status_prefix(RETIRED)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        b = keeper.get_bundle(store, int.from_bytes(k[-8:], "big"))
        if b is None:
            return f"status index entry {k.hex()} names a missing bundle"
        r = keeper.get_retirement(store, b.retirement_id)
        if r is None or r.bundle_id != b.bundle_id:
            return f"retired bundle {b.bundle_id}: retirement {b.retirement_id} is missing or names another bundle"
        if b.retirement_id <= compacted:
            return f"retired bundle {b.bundle_id} is still live, but pruning passed its retirement {b.retirement_id}"
    return None


def retirements_indexed_by_owner(store: KVReader) -> str | None:
    """See the module doc."""
    stored = {(r.owner, r.hour_start, r.retirement_id) for r in keeper.iter_retirements(store)}
    return index_mismatch(stored, set(keeper.iter_owner_retirement_ids(store)), "retirement", "owner")


def retired_ranges_disjoint(store: KVReader) -> str | None:
    """See the module doc: the first retirement whose range is out of its hour's issued Wh, overlaps
    another's, or is not its live retired bundle's; None when there is none."""
    issued = {(device_id, hour): wh for device_id, hour, wh in keeper.iter_issued(store)}
    ranges: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    for r in keeper.iter_retirements(store):
        start = r.start_wh
        if start is None:
            continue
        tally = issued.get((r.device_id, r.hour_start))  # None once the hour's tally left (prune.py)
        if start < 0 or (tally is not None and r.end_wh > tally):
            return f"retirement {r.retirement_id}: Wh [{start}, {r.end_wh}) are not all issued for its device-hour"
        b = keeper.get_bundle(store, r.bundle_id)
        if b is not None and b.status == RETIRED and (b.start_wh, b.end_wh) != (start, r.end_wh):
            return f"retirement {r.retirement_id}: its range is not its retired bundle {b.bundle_id}'s"
        ranges.setdefault((r.device_id, r.hour_start), []).append((start, r.end_wh, r.retirement_id))
    for (device_id, hour), spans in ranges.items():
        spans.sort()
        for (_s, end, first), (start, _e, second) in pairwise(spans):
            if start < end:
                return f"{device_id} hour {hour}: retirements {first} and {second} both retired Wh from {start}"
    return None
