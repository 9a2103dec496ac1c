"""Certificates state keys (prefixes 0x50-0x5F)."""

from __future__ import annotations

from gridwire.contract.certificates import ARCHIVE_COMMITMENT_PREFIX, BUNDLE_PREFIX, HISTORY_PREFIX, RETIREMENT_PREFIX

from abci_app.keys import lp, u64

__all__ = [
    "KEY_PREFIXES",
    "acceptance",
    "acceptance_prefix",
    "archive_commitment",
    "archive_commitment_prefix",
    "bundle",
    "by_device",
    "by_device_prefix",
    "by_hour",
    "by_hour_prefix",
    "by_origin",
    "by_origin_prefix",
    "by_owner",
    "by_owner_prefix",
    "by_status",
    "by_status_prefix",
    "claim",
    "claim_age",
    "claim_age_prefix",
    "clear_sky_hold",
    "clear_sky_hold_age",
    "clear_sky_hold_age_prefix",
    "clear_sky_hold_prefix",
    "counter",
    "history",
    "issued",
    "issued_prefix",
    "lot",
    "lot_by_source",
    "lot_by_source_prefix",
    "lot_prefix",
    "oversight",
    "oversight_prefix",
    "pending_delivery",
    "pending_delivery_prefix",
    "recurring",
    "recurring_due",
    "recurring_due_prefix",
    "recurring_prefix",
    "registry_info",
    "residual_retired",
    "residual_retired_prefix",
    "retirement",
    "retirement_by_owner",
    "retirement_by_owner_prefix",
    "scr",
    "scr_prefix",
    "sdr",
    "sdr_prefix",
    "storage",
    "storage_done",
]

BUNDLE = BUNDLE_PREFIX  # u64(id) → Bundle (gridwire/contract/certificates.py)
BY_OWNER = b"\x51"  # owner(20) u64(hour) u64(id) → ''
BY_DEVICE = b"\x52"  # lp(device) u64(hour) u64(start_wh) → u64(id)  (a device-hour's ranges in order)
BY_HOUR = b"\x53"  # u64(hour) u64(id) → ''
BY_STATUS = b"\x54"  # u8(status) u64(id) → ''
ISSUED = b"\x55"  # lp(device) u64(hour) → u64 Wh issued for the device-hour
HISTORY = HISTORY_PREFIX  # u64(id) → BundleHistory (gridwire/contract/certificates.py)
RETIREMENT = RETIREMENT_PREFIX  # u64(retirement id) → Retirement (gridwire/contract/certificates.py)
CLAIM = b"\x58"  # beneficiary(20) u64(hour) → u64 retired Wh of production hour `hour` claimed for it (ops.counts_for)
LOT = b"\x59"  # lp(battery) u64(seq) → StorageLot
STORAGE = b"\x5a"  # lp(battery) → StorageState
STORAGE_DONE = b"\x5b"  # lp(battery) u64(hour) → u64 charged, u64 discharged Wh already accounted for
COUNTER = b"\x5c"  # lp(name) → u64 (next bundle id, next retirement id, expiry cursor, next pending delivery id)
# The prefixes are all taken, so pending deliveries (dvp.py) are a sub-family of COUNTER under
# the name "dvp" (no counter has that name; a counter key is exactly COUNTER lp(name), these are longer):
#   COUNTER lp("dvp") u64(hour) seller(20) u64(id) → PendingDelivery
# in production-hour order, then seller, then id (a seller-hour's deliveries oldest first).
PENDING_DELIVERY = "dvp"
# Likewise the clear-sky holds (issuance.py), in device then production-hour order:
#   COUNTER lp("clear_sky_hold") lp(device) u64(hour) → ClearSkyHold
CLEAR_SKY_HOLD = "clear_sky_hold"
# and their production-hour order, which pruning walks (prune.py):
#   COUNTER lp("clear_sky_hold_age") u64(hour) lp(device) → ''
CLEAR_SKY_HOLD_AGE = "clear_sky_hold_age"
# The claims' production-hour order, which pruning walks (prune.py):
#   COUNTER lp("claim_age") u64(hour) beneficiary(20) → ''
CLAIM_AGE = "claim_age"
# The retired Wh that left live state with their bundles, per production hour and grid region,
# which the residual mix still counts (matching.residual); in hour order, so pruning walks them:
#   COUNTER lp("residual_retired") u64(hour) lp(region) → u64 Wh
RESIDUAL_RETIRED = "residual_retired"
# The retirements by owner and production hour, kept as long as the retirement record: a wallet's
# retirement history, and what an EV session's claim counts against (its retired bundles leave
# after a day, prune.py). A short name: one entry per retirement.
#   COUNTER lp("rbo") owner(20) u64(hour) u64(retirement id) → ''
RETIREMENTS_BY_OWNER = "rbo"
# The EnergyTag records (registry_keeper.py), sub-families of COUNTER too:
#   COUNTER lp("scr") u64(id) → StorageChargeRecord          (ids from the counter "scr")
#   COUNTER lp("sdr") u64(id) → StorageDischargeRecord       (ids from the counter "sdr")
#   COUNTER lp("accept") member(20) → TransferAcceptance
#   COUNTER lp("recurring") u64(id) → RecurringAction        (ids from the counter "recurring")
#   COUNTER lp("recurring_due") u64(next hour) u64(id) → ''  (the standing instructions by due hour)
#   COUNTER lp("registry") "info" → RegistryInfo
#   COUNTER lp("archive") u64(height) → root(32) u64(count)  (prune.py: what block `height` archived)
SCR = "scr"
SDR = "sdr"
ACCEPT = "accept"
RECURRING = "recurring"
RECURRING_DUE = "recurring_due"
REGISTRY = "registry"
ARCHIVE = "archive"
# storage lineage, for oversight (a certifier acting on a device reaches what came from it)
BY_ORIGIN = b"\x5d"  # lp(origin device) u64(origin hour) u64(id) → ''  (every bundle with an origin)
LOT_BY_SOURCE = b"\x5e"  # lp(source device) u64(source hour) lp(battery) u64(seq) → ''  (certified lots)
OVERSIGHT = b"\x5f"  # lp(device) → StandingOversight (the certifier's standing suspension / revocation)
KEY_PREFIXES = frozenset(
    p[0]
    for p in (
        BUNDLE, BY_OWNER, BY_DEVICE, BY_HOUR, BY_STATUS, ISSUED, HISTORY, RETIREMENT, CLAIM, LOT, STORAGE,
        STORAGE_DONE, COUNTER, BY_ORIGIN, LOT_BY_SOURCE, OVERSIGHT,
    )
)  # fmt: skip


def bundle(bundle_id: int) -> bytes:
    """The key of bundle `bundle_id` (big-endian ids: key order is id order)."""
    return BUNDLE + u64(bundle_id)


def by_owner_prefix(owner: bytes, hour_start: int | None = None) -> bytes:
    """The prefix of `owner`'s bundle index (of one production hour, when given)."""
    return BY_OWNER + owner + (b"" if hour_start is None else u64(hour_start))


def by_owner(owner: bytes, hour_start: int, bundle_id: int) -> bytes:
    """The owner index entry of a bundle: owner, production hour, bundle id."""
    return BY_OWNER + owner + u64(hour_start) + u64(bundle_id)


def by_device_prefix(device_id: str, hour_start: int | None = None) -> bytes:
    """The prefix of `device_id`'s bundle index (of one production hour, when given)."""
    return BY_DEVICE + lp(device_id) + (b"" if hour_start is None else u64(hour_start))


def by_device(device_id: str, hour_start: int, start_wh: int) -> bytes:
    """The device index entry of a bundle: device, production hour, first Wh (so a device-hour's bundles
    scan in Wh order)."""
    return BY_DEVICE + lp(device_id) + u64(hour_start) + u64(start_wh)


def by_hour_prefix(hour_start: int | None = None) -> bytes:
    """The prefix of the production-hour index (of one hour, when given)."""
    return BY_HOUR + (b"" if hour_start is None else u64(hour_start))


def by_hour(hour_start: int, bundle_id: int) -> bytes:
    """The production-hour index entry of a bundle."""
    return BY_HOUR + u64(hour_start) + u64(bundle_id)


def by_origin_prefix(device_id: str) -> bytes:
    """The prefix of the storage-origin index of generation device `device_id`."""
    return BY_ORIGIN + lp(device_id)


def by_origin(device_id: str, hour_start: int, bundle_id: int) -> bytes:
    """The origin index entry of a storage certificate: the generation device and hour it came from, then
    its id."""
    return BY_ORIGIN + lp(device_id) + u64(hour_start) + u64(bundle_id)


def by_status_prefix(status: int) -> bytes:
    """The prefix of the index of bundles in `status`."""
    return BY_STATUS + bytes((status,))


def by_status(status: int, bundle_id: int) -> bytes:
    """The status index entry of a bundle."""
    return BY_STATUS + bytes((status,)) + u64(bundle_id)


def issued_prefix() -> bytes:
    """The prefix of every device-hour's issued total."""
    return ISSUED


def issued(device_id: str, hour_start: int) -> bytes:
    """The key of the Wh issued for a device-hour."""
    return ISSUED + lp(device_id) + u64(hour_start)


def history(bundle_id: int) -> bytes:
    """The key of bundle `bundle_id`'s history."""
    return HISTORY + u64(bundle_id)


def retirement(retirement_id: int) -> bytes:
    """The key of retirement `retirement_id`."""
    return RETIREMENT + u64(retirement_id)


def claim(beneficiary: bytes, hour_start: int) -> bytes:
    """The key of the Wh `beneficiary` claimed for production hour `hour_start`."""
    return CLAIM + beneficiary + u64(hour_start)


def lot_prefix(battery_id: str) -> bytes:
    """The prefix of battery `battery_id`'s storage lots (in sequence order)."""
    return LOT + lp(battery_id)


def lot(battery_id: str, seq: int) -> bytes:
    """The key of the battery's lot `seq`."""
    return LOT + lp(battery_id) + u64(seq)


def lot_by_source_prefix(device_id: str) -> bytes:
    """The prefix of the lots holding generation of device `device_id`."""
    return LOT_BY_SOURCE + lp(device_id)


def lot_by_source(device_id: str, hour_start: int, battery_id: str, seq: int) -> bytes:
    """The source index entry of a lot: source device and hour, then battery and lot sequence."""
    return LOT_BY_SOURCE + lp(device_id) + u64(hour_start) + lp(battery_id) + u64(seq)


def storage(battery_id: str) -> bytes:
    """The key of battery `battery_id`'s lot FIFO and counters."""
    return STORAGE + lp(battery_id)


def storage_done(battery_id: str, hour_start: int) -> bytes:
    """The key of the charge and discharge storage accounting processed for a battery-hour."""
    return STORAGE_DONE + lp(battery_id) + u64(hour_start)


def counter(name: str) -> bytes:
    """The key of the domain's named counter `name` (also the prefix of the collections named by a counter
    name)."""
    return COUNTER + lp(name)


def oversight_prefix() -> bytes:
    """The prefix of every standing oversight."""
    return OVERSIGHT


def oversight(device_id: str) -> bytes:
    """The key of the certifier's standing oversight of `device_id`."""
    return OVERSIGHT + lp(device_id)


def pending_delivery_prefix(hour_start: int | None = None, seller: bytes = b"") -> bytes:
    """The pending deliveries (of the production hour, of the seller in it)."""
    head = counter(PENDING_DELIVERY)
    return head if hour_start is None else head + u64(hour_start) + seller


def pending_delivery(hour_start: int, seller: bytes, delivery_id: int) -> bytes:
    """The key of a pending delivery: production hour, seller, delivery id."""
    return counter(PENDING_DELIVERY) + u64(hour_start) + seller + u64(delivery_id)


def clear_sky_hold_prefix() -> bytes:
    """The prefix of every clear-sky hold."""
    return counter(CLEAR_SKY_HOLD)


def clear_sky_hold(device_id: str, hour_start: int) -> bytes:
    """The key of the clear-sky hold of a device-hour."""
    return counter(CLEAR_SKY_HOLD) + lp(device_id) + u64(hour_start)


def claim_age_prefix() -> bytes:
    """The prefix of the claims' production-hour index."""
    return counter(CLAIM_AGE)


def claim_age(hour_start: int, beneficiary: bytes) -> bytes:
    """The production-hour index entry of a beneficiary-hour's claim."""
    return counter(CLAIM_AGE) + u64(hour_start) + beneficiary


def clear_sky_hold_age_prefix() -> bytes:
    """The prefix of the clear-sky holds' production-hour index."""
    return counter(CLEAR_SKY_HOLD_AGE)


def clear_sky_hold_age(hour_start: int, device_id: str) -> bytes:
    """The production-hour index entry of the clear-sky hold of a device-hour."""
    return counter(CLEAR_SKY_HOLD_AGE) + u64(hour_start) + lp(device_id)


def scr_prefix() -> bytes:
    """The prefix of every storage charge record."""
    return counter(SCR)


def scr(scr_id: int) -> bytes:
    """The key of storage charge record `scr_id`."""
    return counter(SCR) + u64(scr_id)


def sdr_prefix() -> bytes:
    """The prefix of every storage discharge record."""
    return counter(SDR)


def sdr(sdr_id: int) -> bytes:
    """The key of storage discharge record `sdr_id`."""
    return counter(SDR) + u64(sdr_id)


def acceptance_prefix() -> bytes:
    """The prefix of every transfer acceptance."""
    return counter(ACCEPT)


def acceptance(member: bytes) -> bytes:
    """The key of `member`'s transfer acceptance."""
    return counter(ACCEPT) + member


def recurring_prefix() -> bytes:
    """The prefix of every standing instruction."""
    return counter(RECURRING)


def recurring(action_id: int) -> bytes:
    """The key of standing instruction `action_id`."""
    return counter(RECURRING) + u64(action_id)


def recurring_due_prefix() -> bytes:
    """The prefix of the standing instructions' due index."""
    return counter(RECURRING_DUE)


def recurring_due(next_hour: int, action_id: int) -> bytes:
    """The due index entry of a standing instruction: next hour first, so due ones scan in time order."""
    return counter(RECURRING_DUE) + u64(next_hour) + u64(action_id)


def registry_info() -> bytes:
    """The key of the registry's EnergyTag description."""
    return counter(REGISTRY) + b"info"


def archive_commitment_prefix() -> bytes:
    """The prefix of every archive commitment (in height order): COUNTER lp(ARCHIVE), as the contract
    spells it for clients."""
    return ARCHIVE_COMMITMENT_PREFIX


def archive_commitment(height: int) -> bytes:
    """The key of the archive commitment of block `height` (gridwire/contract/certificates.py)."""
    return ARCHIVE_COMMITMENT_PREFIX + u64(height)


def residual_retired_prefix(hour_start: int | None = None) -> bytes:
    """The prefix of the archived retired Wh per production hour and region (of one hour, when given)."""
    head = counter(RESIDUAL_RETIRED)
    return head if hour_start is None else head + u64(hour_start)


def residual_retired(hour_start: int, region: str) -> bytes:
    """The key of the retired Wh of production hour `hour_start` in `region` whose bundles left live state."""
    return counter(RESIDUAL_RETIRED) + u64(hour_start) + lp(region)


def retirement_by_owner_prefix(owner: bytes | None = None, hour_start: int | None = None) -> bytes:
    """The prefix of the retirements' owner index (of one owner, and one production hour, when given)."""
    head = counter(RETIREMENTS_BY_OWNER)
    if owner is None:
        return head
    return head + owner + (b"" if hour_start is None else u64(hour_start))


def retirement_by_owner(owner: bytes, hour_start: int, retirement_id: int) -> bytes:
    """The owner index entry of a retirement: owner, production hour, retirement id."""
    return counter(RETIREMENTS_BY_OWNER) + owner + u64(hour_start) + u64(retirement_id)
