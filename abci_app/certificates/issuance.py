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
A bundle whose production hour is already past the expiry age is issued expired.
A device-hour under the certifier's standing oversight (handlers.py: the device was
suspended or revoked from an hour at or before it, and not reinstated) is issued in that
status instead, never active: a late reading, an hour not yet issued when the certifier
acted, or any later hour while the key is compromised. Its Wh count in the issued tally
like any other, so the device-hour is still never issued twice.

Pending deliveries. Right after issuance, the pending deliveries of delivery versus payment
are completed from the sellers' active bundles, oldest first and bounded per block, and
dropped once their hour's issuance is final (dvp.py).

Expiry. Active bundles whose production hour ended `certificates.expiry_seconds` ago or
more become expired; a cursor past the last hour examined keeps the work per block small
(bundles issued for an hour already past the age are issued expired).
"""

from __future__ import annotations

from abci_app.certificates import dvp, events, keeper, keys, ops, storage
from abci_app.certificates.keeper import EventSink
from abci_app.certificates.params import EXPIRY, GRACE, period
from abci_app.certificates.records import ACTIVE, EXPIRED, NO_BUNDLE, STATUS_NAMES, Bundle
from abci_app.devices import keeper as devices
from abci_app.devices.commissioning import commissioned_over
from abci_app.devices.feed import is_renewable
from abci_app.devices.records import Device
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["end_block", "issue_generation"]

BATTERY = 4


def issue_generation(store: Branch, block: BlockInfo, device: Device, hour: int, sink: EventSink) -> None:
    """Issue the device-hour's verified generation not yet issued, to the device's owner
    (in the status a standing oversight holds the device-hour in, if any)."""
    new = devices.hour_generation(store, device.device_id, hour) - keeper.issued_wh(store, device.device_id, hour)
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
    ready = [
        (hour, d) for hour, d in devices.iter_pending_hours(store, block.time) if _ready(store, block, hour, d, grace)
    ]
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
    prefix = keys.by_hour_prefix()
    due = list(store.iter_range(prefix + start.to_bytes(8, "big"), prefix + (limit + 1).to_bytes(8, "big")))
    for k, _v in due:
        b = keeper.get_bundle(store, int.from_bytes(k[-8:], "big"))
        if b is not None and b.status == ACTIVE:
            ops.set_status(store, block, b, EXPIRED, sink=sink, event=events.BUNDLE_EXPIRED)
    if due:  # the cursor moves past the last hour examined (no write in a quiet block)
        store.set(cursor_key, (int.from_bytes(due[-1][0][1:9], "big") + 1).to_bytes(8, "big"))


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Issue ready device-hours, account for batteries, complete pending deliveries, expire old bundles."""
    sink = EventSink()
    _issue_pending(store, block, sink)
    dvp.complete_pending(store, block, sink)
    _expire(store, block, sink)
    return sink.events
