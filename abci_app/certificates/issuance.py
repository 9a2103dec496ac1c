"""The end-block hook: automatic issuance, storage accounting and expiry.

Issuance. A device-hour the devices feed marked pending is ready when its data is
complete (the device's last accepted reading ends at or after the hour's end: readings
never overlap, so no more energy can arrive for it) or when the governed grace
`certificates.issuance_grace_seconds` after the hour's end has passed. Then the device
owner gets one bundle for the not-yet-issued Wh (verified generation − issued), so a
device-hour is never issued twice and a late reading issues only the difference.
Only a renewable generator that a certifier commissioned for the whole hour, with a device
certificate from a still admitted, unrevoked device CA (devices/commissioning.py), is
issued; a device-hour outside its attestation is dropped from the pending set unissued.
Renewable generators are issued first, then batteries are accounted for (storage.py), in
hour order, so a battery consumes the certificates of its hour issued in the same block.
At most `certificates.max_issuance_per_block` ready device-hours are taken per block, oldest
first; the others stay queued for the next blocks (issuance_queue.py).

Eligible energy (`eligible_generation`, the one place that decides what of a device-hour's
recorded generation may be issued). Only a generator issues: a device of a generating
kind (pv, wind; devices/feed.py GENERATOR_KINDS). Any other kind issues nothing, whatever
energy_source it declares, even if genesis or older state recorded flow for it: a meter
measures energy from anywhere, including a generator that is certified already, so one
unit of energy is certified once. Batteries re-issue only through storage (storage.py).
A generator's production hour that starts before its declared commissioning_date (unix
seconds) is not eligible at all, the hour the device was commissioned in included (its
energy cannot be placed within the hour): that energy is never issued, and a
`generation_withheld` event (reason before_commissioning) says so each time the hour is
processed. Readings before the device's registration are refused by the devices domain,
so no hour before registration has any flow.

Clear-sky hold. A PV on a site with a location (RegisterSite's optional latitude and
longitude) can produce at most the clear-sky bound of the site's location and production
hour (devices/clearsky.py: nameplate × a committed integer irradiance table / 1000, plus a
10 % margin). Its eligible generation for an hour is at most that bound plus what the
certifier released: the recorded generation above it is held, in a ClearSkyHold record of
the device-hour (status held; a generation_withheld event, reason above_clear_sky), until
a certifier (role certifier) releases it (ReleaseHeldGeneration: issued at once, and a
later excess from late readings is held again) or rejects it (RejectHeldGeneration: never
issued, and the hour's later excess stays rejected). A site without a location, and a
wind generator, have no bound: their energy is never held.
A bundle whose production hour is already past the expiry age is issued expired.
A device-hour under the certifier's standing oversight (handlers.py: the device was
suspended or revoked from an hour at or before it, and not reinstated) is issued in that
status instead, never active: a late reading, an hour not yet issued when the certifier
acted, or any later hour while the key is compromised. Its Wh count in the issued tally
like any other, so the device-hour is still never issued twice.

Pending deliveries. Right after issuance, the pending deliveries of delivery versus payment
are completed from the sellers' active bundles, oldest first and bounded per block, and
dropped once their hour's issuance is final (dvp.py).

Standing instructions. Then the owners' due recurring transfers and cancellations run
(recurring.py), bounded per block.

Expiry. Active (and locked or reserved) bundles whose production hour ended `certificates.expiry_seconds` ago or
more become expired; a cursor past the last hour examined keeps the work per block small
(bundles issued for an hour already past the age are issued expired). At most
MAX_EXPIRY_PER_BLOCK bundles are examined per block, in (hour, id) order: when that cuts an
hour, the cursor stays on it and the counter `expiry_next_id` says where to resume.
"""

from __future__ import annotations

from itertools import islice

from abci_app.certificates import dvp, events, issuance_queue, keeper, keys, ops, recurring, storage
from abci_app.certificates.keeper import EventSink, Sink
from abci_app.certificates.params import EXPIRY, GRACE, period
from abci_app.certificates.records import (
    ACTIVE,
    EXPIRED,
    LOCKED,
    NO_BUNDLE,
    RESERVED,
    STATUS_NAMES,
    Bundle,
    ClearSkyHold,
    HoldStatus,
)
from abci_app.devices import clearsky
from abci_app.devices import keeper as devices
from abci_app.devices.commissioning import commissioned_over
from abci_app.devices.feed import is_renewable
from abci_app.devices.records import Device
from abci_app.params import domain_param
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, Event

__all__ = ["eligible_generation", "end_block", "issue_generation"]

PV, BATTERY = 2, 4
MAX_EXPIRY_PER_BLOCK = 2_000  # bundles the expiry step examines per block; the rest the next blocks
EXPIRY_NEXT_ID = "expiry_next_id"  # a counter (genesis "counters"): where expiry resumes in the cursor's hour


def clear_sky_bound(store: KVReader, device: Device, hour: int) -> int | None:
    """The clear-sky bound (Wh) of a PV's production hour at its site's location, or None
    (not a PV, or a site without a location: nothing is held)."""
    if device.kind != PV:
        return None
    site = devices.get_site(store, device.site_id)
    if site is None or site.location is None:
        return None
    latitude, longitude = site.location
    return clearsky.bound_wh(device.nameplate_w, latitude, longitude, hour, period(store))


def eligible_generation(store: KVReader, device: Device, hour: int) -> tuple[int, str]:
    """(Wh of the device-hour's recorded generation that may be issued, the reason the rest
    is withheld or ''). Eligible is the recorded export of a generator (pv, wind) for an
    hour starting at or after its commissioning_date, at most a PV's clear-sky bound plus
    what the certifier released of it; 0 for any other device or hour."""
    recorded = devices.hour_generation(store, device.device_id, hour)
    if not is_renewable(device):
        return 0, ""
    if hour < device.commissioning_date:
        return 0, events.REASON_BEFORE_COMMISSIONING
    bound = clear_sky_bound(store, device, hour)
    if bound is None:
        return recorded, ""
    hold = keeper.get_hold(store, device.device_id, hour)
    cap = bound + (0 if hold is None else hold.released_wh)
    if recorded <= cap:
        return recorded, ""
    return cap, events.REASON_ABOVE_CLEAR_SKY


def _hold(store: Branch, device: Device, hour: int, eligible: int, held: int) -> HoldStatus:
    """Record the device-hour's held Wh (a rejected hold stays rejected); its status."""
    old = keeper.get_hold(store, device.device_id, hour)
    released = 0 if old is None else old.released_wh
    status = HoldStatus.REJECTED if old is not None and old.status == HoldStatus.REJECTED else HoldStatus.HELD
    new = ClearSkyHold(device.device_id, hour, eligible - released, held, released, status)
    if new != old:
        keeper.put_hold(store, new)
    return status


def issue_generation(store: Branch, block: BlockInfo, device: Device, hour: int, sink: Sink) -> None:
    """Issue the device-hour's eligible generation (`eligible_generation`) not yet issued,
    to the device's owner (in the status a standing oversight holds the device-hour in, if
    any); the withheld rest is announced by a generation_withheld event, and what is above
    the clear-sky bound is recorded in the device-hour's ClearSkyHold."""
    eligible, reason = eligible_generation(store, device, hour)
    if reason:
        withheld = devices.hour_generation(store, device.device_id, hour) - eligible
        extra: dict[str, object] = {}
        if reason == events.REASON_ABOVE_CLEAR_SKY:
            extra["status"] = _hold(store, device, hour, eligible, withheld).name.lower()
        sink.emit(events.GENERATION_WITHHELD, device=device.device_id, hour=hour, wh=withheld, reason=reason, **extra)
    new = eligible - keeper.issued_wh(store, device.device_id, hour)
    if new <= 0:
        return
    held = keeper.held_status(store, device.device_id, hour)
    expired = hour + period(store) + domain_param(store, EXPIRY) <= block.time
    template = Bundle(
        bundle_id=NO_BUNDLE,
        device_id=device.device_id,
        hour_start=hour,
        start_wh=0,
        end_wh=0,
        owner=device.owner,
        status=held or (EXPIRED if expired else ACTIVE),
        energy_source=device.energy_source,
        technology=device.technology,
        country=device.country,
        grid_region=device.grid_region,
        commissioning_date=device.commissioning_date,
    )
    b = keeper.issue(store, block, template, new)
    attrs = {"bundle": b.bundle_id, "device": device.device_id, "hour": hour, "wh": new}
    if held is None:
        sink.emit(events.BUNDLE_ISSUED, **attrs, owner=device.owner.hex(), start_wh=b.start_wh)
        return
    name = STATUS_NAMES[held]
    reason = events.REASON_STANDING
    sink.emit(events.BUNDLE_ISSUED, **attrs, owner=device.owner.hex(), start_wh=b.start_wh, status=name, reason=reason)
    keeper.add_history(store, b.bundle_id, block, name, new)
    sink.emit(events.OVERSIGHT_EVENTS[held], **attrs, reason=reason)


def _ready(store: Branch, block: BlockInfo, hour: int, device_id: str, grace: int) -> bool:
    end = hour + period(store)
    if block.time >= end + grace:
        return True
    last = devices.get_reading(store, device_id)
    return last is not None and last.end >= end


def _issue_pending(store: Branch, block: BlockInfo, sink: EventSink) -> None:
    grace = domain_param(store, GRACE)
    # at most certificates.max_issuance_per_block of them; the rest stay queued (issuance_queue.py)
    ready = issuance_queue.due(store, block, lambda hour, d: _ready(store, block, hour, d, grace))
    batteries: list[tuple[int, Device]] = []
    for hour, device_id in ready:
        devices.clear_pending(store, hour, device_id)
        device = devices.get_device(store, device_id)
        if device is None:  # pragma: no cover - devices are never deleted
            continue
        if device.kind == BATTERY:
            batteries.append((hour, device))
        elif is_renewable(device) and commissioned_over(store, device, hour, hour + period(store)):
            issue_generation(store, block, device, hour, sink)
    for hour, device in batteries:
        flow = devices.hour_flow(store, device.device_id, hour)
        storage.process_battery_hour(store, block, device, hour, (flow.charged_wh, flow.discharged_wh), sink=sink)


def _expire(store: Branch, block: BlockInfo, sink: EventSink) -> None:
    limit = block.time - domain_param(store, EXPIRY) - period(store)  # hours starting at or before limit expire
    if limit < 0:
        return
    cursor_key = keys.counter("expiry_cursor")
    raw = store.get(cursor_key)
    start = 0 if raw is None else int.from_bytes(raw, "big")
    if start > limit:
        return
    # within the cursor's hour, the first bundle id not yet examined (set when a block's cap
    # cut an hour: a year after a busy hour, its bundles expire over several blocks)
    id_key = keys.counter(EXPIRY_NEXT_ID)
    raw_id = store.get(id_key)
    first_id = 0 if raw_id is None else int.from_bytes(raw_id, "big")
    prefix = keys.by_hour_prefix()
    rows = store.iter_range(keys.by_hour(start, first_id), prefix + (limit + 1).to_bytes(8, "big"))
    due = list(islice(rows, MAX_EXPIRY_PER_BLOCK + 1))
    more = len(due) > MAX_EXPIRY_PER_BLOCK
    due = due[:MAX_EXPIRY_PER_BLOCK]
    for k, _v in due:
        b = keeper.get_bundle(store, int.from_bytes(k[-8:], "big"))
        if b is not None and b.status in (ACTIVE, LOCKED, RESERVED):  # locked or reserved ones expire too
            ops.set_status(store, block, b, EXPIRED, sink=sink, event=events.BUNDLE_EXPIRED)
    if not due:  # no write in a quiet block
        return
    last_hour = int.from_bytes(due[-1][0][1:9], "big")
    if more:  # the cursor stays in this hour, after the last bundle examined
        store.set(cursor_key, last_hour.to_bytes(8, "big"))
        store.set(id_key, (int.from_bytes(due[-1][0][-8:], "big") + 1).to_bytes(8, "big"))
        return
    store.set(cursor_key, (last_hour + 1).to_bytes(8, "big"))  # past the last hour examined
    if raw_id is not None:
        store.delete(id_key)


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Issue ready device-hours, account for batteries, complete pending deliveries, run due
    standing instructions (recurring.py), expire old bundles."""
    sink = EventSink()
    _issue_pending(store, block, sink)
    dvp.complete_pending(store, block, sink)
    recurring.run_due(store, block, sink)
    _expire(store, block, sink)
    return sink.events
