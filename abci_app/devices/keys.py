"""Devices state keys (prefixes 0x20-0x2F)."""

from __future__ import annotations

from abci_app.keys import lp, u64

__all__ = [
    "KEY_PREFIXES",
    "age",
    "age_prefix",
    "battery",
    "by_feeder",
    "by_feeder_prefix",
    "by_owner",
    "by_owner_prefix",
    "by_site",
    "by_site_prefix",
    "commissioning",
    "commissioning_prefix",
    "device",
    "device_prefix",
    "energy",
    "hour_flow",
    "misc",
    "pending",
    "pending_prefix",
    "reading",
    "recent",
    "retired",
    "retired_prefix",
    "rules",
    "site",
    "site_energy",
    "site_energy_prefix",
    "site_prefix",
]

SITE = b"\x20"  # lp(site) → Site
DEVICE = b"\x21"  # lp(device) → Device
BY_OWNER = b"\x22"  # owner(20) lp(device) → ''
BY_FEEDER = b"\x23"  # lp(feeder) lp(device) → ''
BY_SITE = b"\x24"  # lp(site) lp(device) → ''
RETIRED = b"\x25"  # lp(device) public key(32) → u64 retired at (block time)
READING = b"\x26"  # lp(device) → ReadingState (the last accepted reading)
ENERGY = b"\x27"  # lp(device) u64(interval start) → IntervalEnergy
BATTERY = b"\x28"  # lp(device) → BatteryState
RULES = b"\x29"  # lp(device) → BatteryRules
RECENT = b"\x2a"  # lp(device) u16(seq mod RECENT_WINDOW) → u64 seq + SHA-256 of the accepted reading
# The generation feed of the certificates domain (see keeper.add_hour_flow):
HOUR_FLOW = b"\x2b"  # lp(device) u64(hour start) → u64 export Wh, u64 charged Wh, u64 discharged Wh
PENDING = b"\x2c"  # u64(hour start) lp(device) → '' (a device-hour whose flow changed since issuance)
# Sites with energy recorded per interval (read, and cleared, by market settlement; see
# keeper.mark_site_energy), and the time-ordered index of what pruning removes (prune.py):
SITE_ENERGY = b"\x2d"  # u64(interval start) lp(site) → ''
AGE = b"\x2e"  # u64(interval or hour start) u8(AGE_ENERGY | AGE_FLOW) lp(device) → ''
MISC = b"\x2f"  # lp(name) … → small singletons and indexes (the pruning watermark, community batteries,
# commissioning attestations: lp("commissioning") lp(device) → Commissioning)
KEY_PREFIXES = frozenset(
    p[0]
    for p in (
        SITE, DEVICE, BY_OWNER, BY_FEEDER, BY_SITE, RETIRED, READING, ENERGY, BATTERY, RULES, RECENT,
        HOUR_FLOW, PENDING, SITE_ENERGY, AGE, MISC,
    )
)  # fmt: skip


def site(site_id: str) -> bytes:
    """The key of a site's record: SITE lp(site)."""
    return SITE + lp(site_id)


def site_prefix() -> bytes:
    """The prefix of every site record."""
    return SITE


def device(device_id: str) -> bytes:
    """The key of a device's record: DEVICE lp(device)."""
    return DEVICE + lp(device_id)


def device_prefix() -> bytes:
    """The prefix of every device record."""
    return DEVICE


def by_owner_prefix(owner: bytes) -> bytes:
    """The prefix of `owner`'s entries in the devices-by-owner index."""
    return BY_OWNER + owner


def by_owner(owner: bytes, device_id: str) -> bytes:
    """The devices-by-owner index entry of one device."""
    return BY_OWNER + owner + lp(device_id)


def by_feeder_prefix(feeder: str) -> bytes:
    """The prefix of `feeder`'s entries in the devices-by-feeder index."""
    return BY_FEEDER + lp(feeder)


def by_feeder(feeder: str, device_id: str) -> bytes:
    """The devices-by-feeder index entry of one device."""
    return BY_FEEDER + lp(feeder) + lp(device_id)


def by_site_prefix(site_id: str) -> bytes:
    """The prefix of `site_id`'s entries in the devices-by-site index."""
    return BY_SITE + lp(site_id)


def by_site(site_id: str, device_id: str) -> bytes:
    """The devices-by-site index entry of one device."""
    return BY_SITE + lp(site_id) + lp(device_id)


def retired_prefix(device_id: str) -> bytes:
    """The prefix of a device's retired keys."""
    return RETIRED + lp(device_id)


def retired(device_id: str, public_key: bytes) -> bytes:
    """The key marking `public_key` retired for the device (value: when, u64)."""
    return RETIRED + lp(device_id) + public_key


def reading(device_id: str) -> bytes:
    """The key of a device's last accepted reading."""
    return READING + lp(device_id)


def energy(device_id: str, interval_start: int) -> bytes:
    """The key of a device's energy in one interval (ordered by interval start within the device)."""
    return ENERGY + lp(device_id) + u64(interval_start)


def battery(device_id: str) -> bytes:
    """The key of a battery's state of charge."""
    return BATTERY + lp(device_id)


def rules(device_id: str) -> bytes:
    """The key of a battery's owner rules."""
    return RULES + lp(device_id)


def recent(device_id: str, slot: int) -> bytes:
    """The key of one slot of a device's recent-readings window."""
    return RECENT + lp(device_id) + slot.to_bytes(2, "big")


def hour_flow(device_id: str, hour_start: int) -> bytes:
    """The key of a device's energy flow in one production hour."""
    return HOUR_FLOW + lp(device_id) + u64(hour_start)


def pending_prefix() -> bytes:
    """The prefix of the pending device-hours (ordered by hour start, then device)."""
    return PENDING


def pending(hour_start: int, device_id: str) -> bytes:
    """The key marking a device-hour's flow changed since the certificates domain read it."""
    return PENDING + u64(hour_start) + lp(device_id)


def site_energy_prefix(interval_start: int | None = None) -> bytes:
    """The prefix of the sites-with-energy queue, of one interval when `interval_start` is given."""
    return SITE_ENERGY if interval_start is None else SITE_ENERGY + u64(interval_start)


def site_energy(interval_start: int, site_id: str) -> bytes:
    """The key marking the site as having energy recorded in the interval."""
    return SITE_ENERGY + u64(interval_start) + lp(site_id)


def age_prefix() -> bytes:
    """The prefix of the pruning index (ordered by start time)."""
    return AGE


def age(start: int, kind: int, device_id: str) -> bytes:
    """The pruning-index entry of a device's interval energy (AGE_ENERGY) or hour flow (AGE_FLOW)."""
    return AGE + u64(start) + bytes((kind,)) + lp(device_id)


def misc(name: str, *rest: str) -> bytes:
    """A MISC key: lp(name) then lp(each part of `rest`)."""
    return MISC + lp(name) + b"".join(lp(r) for r in rest)


def commissioning_prefix() -> bytes:
    """The prefix of every device's commissioning attestation."""
    return misc("commissioning")


def commissioning(device_id: str) -> bytes:
    """The device's commissioning attestation (commissioning.py)."""
    return misc("commissioning", device_id)
