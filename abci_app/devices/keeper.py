"""Reads and writes of the devices domain's collections (indexes kept in step)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from abci_app.devices import keys
from abci_app.devices.records import BatteryRules, BatteryState, Device, IntervalEnergy, ReadingState, Site
from abci_app.keys import lp, u64
from abci_app.params import domain_param
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.store.scan import distinct_times, first_time

__all__ = [
    "AGE_ENERGY",
    "AGE_FLOW",
    "RECENT_RETIRED_KEYS",
    "HourFlow",
    "add_energy",
    "add_hour_flow",
    "clear_pending",
    "clear_site_energy",
    "energy_intervals",
    "get_battery",
    "get_device",
    "get_energy",
    "get_reading",
    "get_rules",
    "get_site",
    "has_pruned_before",
    "hour_flow",
    "hour_generation",
    "is_retired",
    "iter_community_batteries",
    "iter_devices",
    "iter_energy_device_keys",
    "iter_energy_sites",
    "iter_owner_devices",
    "iter_owner_sites",
    "iter_pending_hours",
    "iter_retired",
    "iter_site_devices",
    "iter_sites",
    "may_be_pruned",
    "next_energy_start",
    "oldest_marked",
    "pruned_before",
    "put_battery",
    "put_device",
    "put_energy",
    "put_hour_flow",
    "put_reading",
    "put_rules",
    "put_site",
    "recent_hash",
    "recent_retired",
    "remember",
    "retire_key",
    "set_community",
    "set_pruned_before",
]


def get_site(store: KVReader, site_id: str) -> Site | None:
    """The site `site_id` as stored, or None if it was never registered."""
    raw = store.get(keys.site(site_id))
    return None if raw is None else Site.decode(raw)


_SITE_OWNER = "site_owner"  # MISC lp(name) owner(20) lp(site) → '' (sites by owner)


def put_site(store: Branch, site: Site) -> None:
    """Store the site and keep the sites-by-owner index in step."""
    old = get_site(store, site.site_id)
    if old is not None and old.owner != site.owner:
        store.delete(keys.misc(_SITE_OWNER) + bytes(old.owner) + lp(site.site_id))
    store.set(keys.site(site.site_id), site.encode())
    store.set(keys.misc(_SITE_OWNER) + bytes(site.owner) + lp(site.site_id), b"")


def iter_owner_sites(store: KVReader, owner: bytes) -> Iterator[str]:
    """Ids of the sites `owner` owns, in key order (reads only that owner's index entries)."""
    prefix = keys.misc(_SITE_OWNER) + bytes(owner)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield k[len(prefix) + 1 :].decode()


def iter_sites(store: KVReader) -> Iterator[Site]:
    """Every registered site, in site-id key order (length-prefixed: shorter ids first)."""
    for _k, v in store.iter_range(keys.site_prefix(), prefix_end(keys.site_prefix())):
        yield Site.decode(v)


def get_device(store: KVReader, device_id: str) -> Device | None:
    """The device `device_id` as stored, or None if it was never registered."""
    raw = store.get(keys.device(device_id))
    return None if raw is None else Device.decode(raw)


def put_device(store: Branch, device: Device, old: Device | None = None) -> None:
    """Store `device`, moving its owner/feeder/site index entries from `old` if they changed."""
    d = device.device_id
    if old is not None:
        if old.owner != device.owner:
            store.delete(keys.by_owner(old.owner, d))
        if old.feeder != device.feeder:
            store.delete(keys.by_feeder(old.feeder, d))
        if old.site_id != device.site_id:
            store.delete(keys.by_site(old.site_id, d))
    store.set(keys.device(d), device.encode())
    store.set(keys.by_owner(device.owner, d), b"")
    store.set(keys.by_feeder(device.feeder, d), b"")
    store.set(keys.by_site(device.site_id, d), b"")


def iter_devices(store: KVReader) -> Iterator[Device]:
    """Every registered device, in device-id key order."""
    for _k, v in store.iter_range(keys.device_prefix(), prefix_end(keys.device_prefix())):
        yield Device.decode(v)


def iter_owner_devices(store: KVReader, owner: bytes) -> Iterator[str]:
    """Ids of the owner's devices, in key order."""
    prefix = keys.by_owner_prefix(owner)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield k[len(prefix) + 1 :].decode()


def iter_site_devices(store: KVReader, site_id: str) -> Iterator[str]:
    """Ids of the devices registered on `site_id`, in key order (reads only that site's index
    entries)."""
    prefix = keys.by_site_prefix(site_id)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield k[len(prefix) + 1 :].decode()


# The retired keys a reading's failed signature is checked against, to answer RETIRED_KEY
# rather than BAD_READING_SIGNATURE: only the device's RECENT_RETIRED_KEYS most recently
# retired ones, so a bad reading costs at most 1 + RECENT_RETIRED_KEYS verifications however
# often the device was rotated. Every retired key stays stored (a rotation back to any of
# them is refused with KEY_NOT_NEW) and every one is refused for readings: an older one
# only answers BAD_READING_SIGNATURE. "Most recent" is the order (retired at desc, public
# key bytes desc), a function of the device's set of retired keys, so the index below is
# rebuilt byte for byte by retiring the keys again in any order (genesis import).
RECENT_RETIRED_KEYS = 4
_RECENT_RETIRED = "recent_retired"  # MISC lp(name) lp(device) → (u64 retired at, key(32)) × ≤ N, newest first
_ENTRY = 40


def retire_key(store: Branch, device_id: str, public_key: bytes, at: int) -> None:
    """Retire `public_key` (retired at block time `at`) and keep the device's
    recent-retired index (the RECENT_RETIRED_KEYS largest (at, key)) in step."""
    store.set(keys.retired(device_id, public_key), at.to_bytes(8, "big"))
    entry = at.to_bytes(8, "big") + public_key
    raw = store.get(keys.misc(_RECENT_RETIRED, device_id)) or b""
    entries = {raw[i : i + _ENTRY] for i in range(0, len(raw), _ENTRY)} | {entry}
    newest = sorted(entries, reverse=True)[:RECENT_RETIRED_KEYS]
    store.set(keys.misc(_RECENT_RETIRED, device_id), b"".join(newest))


def recent_retired(store: KVReader, device_id: str) -> list[bytes]:
    """The device's at most RECENT_RETIRED_KEYS most recently retired public keys, newest first."""
    raw = store.get(keys.misc(_RECENT_RETIRED, device_id)) or b""
    return [raw[i + 8 : i + _ENTRY] for i in range(0, len(raw), _ENTRY)]


def is_retired(store: KVReader, device_id: str, public_key: bytes) -> bool:
    """Whether `public_key` was ever a key of the device that a rotation retired."""
    return store.get(keys.retired(device_id, public_key)) is not None


def iter_retired(store: KVReader, device_id: str) -> Iterator[bytes]:
    """The device's retired public keys, in key order."""
    prefix = keys.retired_prefix(device_id)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield k[len(prefix) :]


def get_reading(store: KVReader, device_id: str) -> ReadingState | None:
    """The device's last accepted reading (its seq, end and registers), or None before its first."""
    raw = store.get(keys.reading(device_id))
    return None if raw is None else ReadingState.decode(raw)


def put_reading(store: Branch, device_id: str, state: ReadingState) -> None:
    """Store the device's last accepted reading (replacing the previous one)."""
    store.set(keys.reading(device_id), state.encode())


def get_energy(store: KVReader, device_id: str, interval_start: int) -> IntervalEnergy | None:
    """The device's recorded energy in the interval starting at `interval_start`, or None."""
    raw = store.get(keys.energy(device_id, interval_start))
    return None if raw is None else IntervalEnergy.decode(raw)


def add_energy(  # noqa: PLR0917 - the record's fields
    store: Branch,
    device_id: str,
    interval_start: int,
    import_wh: int,
    export_wh: int,
    site_id: str = "",
    *,
    pruned_before: int | None = None,
) -> bool:
    """Add to the device's interval energy; a new record enters the pruning index, and the
    device's site (when given) is marked as having energy in the interval (for settlement).
    Energy of an interval before the pruning watermark (`pruned_before`, read from `store`
    unless the caller has it) is not recorded (returns False): every reader's window for it
    has closed (see prune.py)."""
    watermark = _pruned_before(store) if pruned_before is None else pruned_before
    if interval_start < watermark:
        return False
    have = get_energy(store, device_id, interval_start)
    if have is None:
        have = IntervalEnergy(interval_start)
        store.set(keys.age(interval_start, AGE_ENERGY, device_id), b"")
        if site_id:
            store.set(keys.site_energy(interval_start, site_id), b"")
    new = IntervalEnergy(have.interval_start, have.import_wh + import_wh, have.export_wh + export_wh)
    store.set(keys.energy(device_id, interval_start), new.encode())
    return True


def put_energy(store: Branch, device_id: str, energy: IntervalEnergy) -> None:
    """Store an interval energy record as it is (genesis import), with its pruning-index entry."""
    store.set(keys.energy(device_id, energy.interval_start), energy.encode())
    store.set(keys.age(energy.interval_start, AGE_ENERGY, device_id), b"")


# ---- sites with energy per interval: the queue market settlement reads and clears --------


def iter_energy_sites(store: KVReader, interval_start: int, after: str | None = None) -> Iterator[str]:
    """Ids of the sites with a device whose energy was recorded for the interval, in key order
    (of lp(site id)), only those after the site `after` when given."""
    prefix = keys.site_energy_prefix(interval_start)
    start = prefix if after is None else keys.site_energy(interval_start, after) + b"\x00"
    for k, _v in store.iter_range(start, prefix_end(prefix)):
        yield k[len(prefix) + 1 :].decode()


def energy_intervals(store: KVReader, upto: int) -> list[int]:
    """Intervals starting at or before `upto` with sites still marked, oldest first (one
    seek per interval)."""
    return distinct_times(store, keys.site_energy_prefix(), upto)


def clear_site_energy(store: Branch, interval_start: int, site_id: str) -> None:
    """Settlement has taken the site's energy in the interval into account."""
    store.delete(keys.site_energy(interval_start, site_id))


def oldest_marked(store: KVReader, prefix: bytes) -> int | None:
    """The u64 time right after `prefix` in its first key (the oldest entry of a
    time-ordered index), or None when the index is empty."""
    return first_time(store, prefix)


# ---- pruning: a watermark and a time-ordered index (prune.py) --------------------------

AGE_ENERGY, AGE_FLOW = 0, 1
_WATERMARK = "pruned_before"


def pruned_before(store: KVReader) -> int:
    """Interval energy and hour flows starting before this time may have been pruned (and
    are never recorded again); 0 until pruning first runs."""
    raw = store.get(keys.misc(_WATERMARK))
    return 0 if raw is None else int.from_bytes(raw, "big")


def may_be_pruned(store: KVReader, start: int) -> bool:
    """Whether records starting at `start` may be gone: it is before the pruning watermark. What
    reads an interval or hour of energy (a hold's release, hourly matching) stops there."""
    return start < pruned_before(store)


_pruned_before = pruned_before  # for add_energy, whose keyword argument has the same name


def has_pruned_before(store: KVReader) -> bool:
    """Whether pruning has set its watermark (genesis export carries it then)."""
    return store.get(keys.misc(_WATERMARK)) is not None


def set_pruned_before(store: Branch, t: int) -> None:
    """Move the pruning watermark to `t` (prune.py only moves it forward)."""
    store.set(keys.misc(_WATERMARK), t.to_bytes(8, "big"))


def get_battery(store: KVReader, device_id: str) -> BatteryState | None:
    """The battery's state of charge as stored, or None before its first reading."""
    raw = store.get(keys.battery(device_id))
    return None if raw is None else BatteryState.decode(raw)


def put_battery(store: Branch, device_id: str, soc_mwh: int) -> None:
    """Store the battery's state of charge, in mWh."""
    store.set(keys.battery(device_id), BatteryState(soc_mwh).encode())


def get_rules(store: KVReader, device_id: str) -> BatteryRules | None:
    """The battery's owner rules, or None until the owner sets them."""
    raw = store.get(keys.rules(device_id))
    return None if raw is None else BatteryRules.decode(raw)


def put_rules(store: Branch, device_id: str, rules: BatteryRules) -> None:
    """Store the battery's rules (the community index is kept by `set_community`)."""
    store.set(keys.rules(device_id), rules.encode())


_COMMUNITY = "community"


def set_community(store: Branch, device_id: str, community: bool) -> None:
    """Keep the index of community batteries (rules flagged `community`) in step."""
    if community:
        store.set(keys.misc(_COMMUNITY, device_id), b"")
    else:
        store.delete(keys.misc(_COMMUNITY, device_id))


def iter_community_batteries(store: KVReader, after: str = "") -> Iterator[str]:
    """Ids of the batteries whose rules are flagged `community` (those after `after`), in key
    order (of lp(device id))."""
    prefix = keys.misc(_COMMUNITY)
    start = prefix + lp(after) + b"\x00" if after else prefix
    for k, _v in store.iter_range(start, prefix_end(prefix)):
        yield k[len(prefix) + 1 :].decode()


# Hashes of a device's recent accepted readings, one slot per seq mod RECENT_WINDOW, so a
# gateway resending up to RECENT_WINDOW readings after an outage gets "duplicate" answers.
RECENT_WINDOW = 96  # a day of 15-minute readings; ~4 KB per device


def recent_hash(store: KVReader, device_id: str, seq: int) -> bytes | None:
    """The hash of the accepted reading with this seq, if still in the window."""
    raw = store.get(keys.recent(device_id, seq % RECENT_WINDOW))
    if raw is None or int.from_bytes(raw[:8], "big") != seq:
        return None
    return raw[8:]


def remember(store: Branch, device_id: str, seq: int, digest: bytes) -> None:
    """Keep the hash of accepted reading `seq` in its slot of the recent window (replacing the one
    RECENT_WINDOW seqs before)."""
    store.set(keys.recent(device_id, seq % RECENT_WINDOW), seq.to_bytes(8, "big") + digest)


# ---- the generation feed of the certificates domain -------------------------------------
# Per device-hour (hours aligned to multiples of 3600 s) the exported Wh of a renewable
# generator and the charged/discharged Wh of a battery, and an index of the device-hours
# whose flow grew since the certificates domain last looked at them ("pending").


class HourFlow(NamedTuple):
    """Energy of one device in one hour, in Wh."""

    export_wh: int
    charged_wh: int
    discharged_wh: int


def hour_flow(store: KVReader, device_id: str, hour_start: int) -> HourFlow:
    """The device-hour's recorded flow (zeros when nothing was recorded)."""
    raw = store.get(keys.hour_flow(device_id, hour_start))
    if raw is None:
        return HourFlow(0, 0, 0)
    return HourFlow(*(int.from_bytes(raw[i : i + 8], "big") for i in (0, 8, 16)))


def hour_generation(store: KVReader, device_id: str, hour_start: int) -> int:
    """Verified renewable generation (export Wh) of the device in the hour starting at `hour_start`."""
    return hour_flow(store, device_id, hour_start).export_wh


def add_hour_flow(store: Branch, device_id: str, hour_start: int, flow: HourFlow) -> None:
    """Add `flow` to the device-hour's and mark the device-hour pending (no-op for zeros,
    and for an hour before the pruning watermark); a new device-hour enters the pruning index."""
    if not any(flow) or hour_start < pruned_before(store):
        return
    raw = store.get(keys.hour_flow(device_id, hour_start))
    if raw is None:
        store.set(keys.age(hour_start, AGE_FLOW, device_id), b"")
    have = hour_flow(store, device_id, hour_start)
    new = (a + b for a, b in zip(have, flow, strict=True))
    store.set(keys.hour_flow(device_id, hour_start), b"".join(n.to_bytes(8, "big") for n in new))
    store.set(keys.pending(hour_start, device_id), b"")


def put_hour_flow(store: Branch, device_id: str, hour_start: int, flow: HourFlow) -> None:
    """Store a device-hour's flow as it is (genesis import), with its pruning-index entry;
    pending marks are separate (the certificates domain may have cleared them)."""
    store.set(keys.hour_flow(device_id, hour_start), b"".join(n.to_bytes(8, "big") for n in flow))
    store.set(keys.age(hour_start, AGE_FLOW, device_id), b"")


def iter_pending_hours(store: KVReader, upto_hour_end: int) -> Iterator[tuple[int, str]]:
    """(hour start, device id) of every pending device-hour that ended at or before
    `upto_hour_end`, in hour order then device-id key order."""
    prefix = keys.pending_prefix()
    hour = domain_param(store, "certificates.period_seconds")
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        hour_start = int.from_bytes(k[1:9], "big")
        if hour_start + hour > upto_hour_end:
            return
        yield hour_start, k[10:].decode()


def clear_pending(store: Branch, hour_start: int, device_id: str) -> None:
    """The certificates domain has taken the device-hour's flow into account."""
    store.delete(keys.pending(hour_start, device_id))


# ---- interval energy by time (the forecasts domain scores forecasts against it) ------------


def iter_energy_device_keys(store: KVReader, interval_start: int, after: bytes = b"") -> Iterator[bytes]:
    """lp(device id) of each device with interval energy recorded for the interval starting at
    `interval_start`, in key order, after the lp(device id) `after` (b"": from the first)."""
    prefix = keys.age_prefix() + u64(interval_start) + bytes((AGE_ENERGY,))
    start = prefix + after + b"\x00" if after else prefix
    for k, _v in store.iter_range(start, prefix_end(prefix)):
        yield k[len(prefix) :]


def next_energy_start(store: KVReader, at_or_after: int) -> int | None:
    """The earliest start ≥ `at_or_after` of a recorded interval energy or hour flow (a hint
    for skipping empty time; None when there is none)."""
    start = keys.age_prefix() + u64(at_or_after)
    row = next(iter(store.iter_range(start, prefix_end(keys.age_prefix()))), None)
    return None if row is None else int.from_bytes(row[0][1:9], "big")
