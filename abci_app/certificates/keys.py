"""Certificates state keys (prefixes 0x50-0x5F)."""

from __future__ import annotations

from gridwire.contract.certificates import RETIREMENT_PREFIX

from abci_app.keys import lp, u64

__all__ = [
    "KEY_PREFIXES",
    "acceptance",
    "acceptance_prefix",
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
    "clear_sky_hold",
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
    "retirement",
    "scr",
    "scr_prefix",
    "sdr",
    "sdr_prefix",
    "storage",
    "storage_done",
]

BUNDLE = b"\x50"  # u64(id) → Bundle
BY_OWNER = b"\x51"  # owner(20) u64(hour) u64(id) → ''
BY_DEVICE = b"\x52"  # lp(device) u64(hour) u64(start_wh) → u64(id)  (a device-hour's ranges in order)
BY_HOUR = b"\x53"  # u64(hour) u64(id) → ''
BY_STATUS = b"\x54"  # u8(status) u64(id) → ''
ISSUED = b"\x55"  # lp(device) u64(hour) → u64 Wh issued for the device-hour
HISTORY = b"\x56"  # u64(id) → BundleHistory
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
# The EnergyTag records (registry_keeper.py), sub-families of COUNTER too:
#   COUNTER lp("scr") u64(id) → StorageChargeRecord          (ids from the counter "scr")
#   COUNTER lp("sdr") u64(id) → StorageDischargeRecord       (ids from the counter "sdr")
#   COUNTER lp("accept") member(20) → TransferAcceptance
#   COUNTER lp("recurring") u64(id) → RecurringAction        (ids from the counter "recurring")
#   COUNTER lp("recurring_due") u64(next hour) u64(id) → ''  (the standing instructions by due hour)
#   COUNTER lp("registry") "info" → RegistryInfo
SCR = "scr"
SDR = "sdr"
ACCEPT = "accept"
RECURRING = "recurring"
RECURRING_DUE = "recurring_due"
REGISTRY = "registry"
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
    return BUNDLE + u64(bundle_id)


def by_owner_prefix(owner: bytes, hour_start: int | None = None) -> bytes:
    return BY_OWNER + owner + (b"" if hour_start is None else u64(hour_start))


def by_owner(owner: bytes, hour_start: int, bundle_id: int) -> bytes:
    return BY_OWNER + owner + u64(hour_start) + u64(bundle_id)


def by_device_prefix(device_id: str, hour_start: int | None = None) -> bytes:
    return BY_DEVICE + lp(device_id) + (b"" if hour_start is None else u64(hour_start))


def by_device(device_id: str, hour_start: int, start_wh: int) -> bytes:
    return BY_DEVICE + lp(device_id) + u64(hour_start) + u64(start_wh)


def by_hour_prefix(hour_start: int | None = None) -> bytes:
    return BY_HOUR + (b"" if hour_start is None else u64(hour_start))


def by_hour(hour_start: int, bundle_id: int) -> bytes:
    return BY_HOUR + u64(hour_start) + u64(bundle_id)


def by_origin_prefix(device_id: str) -> bytes:
    return BY_ORIGIN + lp(device_id)


def by_origin(device_id: str, hour_start: int, bundle_id: int) -> bytes:
    return BY_ORIGIN + lp(device_id) + u64(hour_start) + u64(bundle_id)


def by_status_prefix(status: int) -> bytes:
    return BY_STATUS + bytes((status,))


def by_status(status: int, bundle_id: int) -> bytes:
    return BY_STATUS + bytes((status,)) + u64(bundle_id)


def issued_prefix() -> bytes:
    return ISSUED


def issued(device_id: str, hour_start: int) -> bytes:
    return ISSUED + lp(device_id) + u64(hour_start)


def history(bundle_id: int) -> bytes:
    return HISTORY + u64(bundle_id)


def retirement(retirement_id: int) -> bytes:
    return RETIREMENT + u64(retirement_id)


def claim(beneficiary: bytes, hour_start: int) -> bytes:
    return CLAIM + beneficiary + u64(hour_start)


def lot_prefix(battery_id: str) -> bytes:
    return LOT + lp(battery_id)


def lot(battery_id: str, seq: int) -> bytes:
    return LOT + lp(battery_id) + u64(seq)


def lot_by_source_prefix(device_id: str) -> bytes:
    return LOT_BY_SOURCE + lp(device_id)


def lot_by_source(device_id: str, hour_start: int, battery_id: str, seq: int) -> bytes:
    return LOT_BY_SOURCE + lp(device_id) + u64(hour_start) + lp(battery_id) + u64(seq)


def storage(battery_id: str) -> bytes:
    return STORAGE + lp(battery_id)


def storage_done(battery_id: str, hour_start: int) -> bytes:
    return STORAGE_DONE + lp(battery_id) + u64(hour_start)


def counter(name: str) -> bytes:
    return COUNTER + lp(name)


def oversight_prefix() -> bytes:
    return OVERSIGHT


def oversight(device_id: str) -> bytes:
    return OVERSIGHT + lp(device_id)


def pending_delivery_prefix(hour_start: int | None = None, seller: bytes = b"") -> bytes:
    """The pending deliveries (of the production hour, of the seller in it)."""
    head = counter(PENDING_DELIVERY)
    return head if hour_start is None else head + u64(hour_start) + seller


def pending_delivery(hour_start: int, seller: bytes, delivery_id: int) -> bytes:
    return counter(PENDING_DELIVERY) + u64(hour_start) + seller + u64(delivery_id)


def clear_sky_hold_prefix() -> bytes:
    return counter(CLEAR_SKY_HOLD)


def clear_sky_hold(device_id: str, hour_start: int) -> bytes:
    return counter(CLEAR_SKY_HOLD) + lp(device_id) + u64(hour_start)


def scr_prefix() -> bytes:
    return counter(SCR)


def scr(scr_id: int) -> bytes:
    return counter(SCR) + u64(scr_id)


def sdr_prefix() -> bytes:
    return counter(SDR)


def sdr(sdr_id: int) -> bytes:
    return counter(SDR) + u64(sdr_id)


def acceptance_prefix() -> bytes:
    return counter(ACCEPT)


def acceptance(member: bytes) -> bytes:
    return counter(ACCEPT) + member


def recurring_prefix() -> bytes:
    return counter(RECURRING)


def recurring(action_id: int) -> bytes:
    return counter(RECURRING) + u64(action_id)


def recurring_due_prefix() -> bytes:
    return counter(RECURRING_DUE)


def recurring_due(next_hour: int, action_id: int) -> bytes:
    return counter(RECURRING_DUE) + u64(next_hour) + u64(action_id)


def registry_info() -> bytes:
    return counter(REGISTRY) + b"info"
