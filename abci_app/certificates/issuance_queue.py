"""The issuance queue: which ready device-hours the end-block hook takes in this block.

The queue is the devices domain's index of pending device-hours (devices/keys.PENDING:
u64(hour start) lp(device) → ''), written by the generation feed when a reading adds flow to
a device-hour and cleared by issuance when it takes one. It is durable state, committed in the
app hash and carried by genesis export/import byte for byte (the devices genesis section
"pending_hours"), and its key order is the queue's order: oldest production hour first, then
device id. Nothing else is stored: a device-hour not taken in a block simply stays pending.

Per block at most `certificates.max_issuance_per_block` ready device-hours are taken (each
issues at most one bundle or accounts for one battery-hour); the rest carry over to the next
blocks in the same order, so 9,600 device-hours made ready at once are issued over
⌈9,600 ÷ cap⌉ blocks. Within an hour the generators (and other non-battery devices) are taken
before the batteries, and an hour's batteries only once every ready generator of that hour
is taken — in this block or an earlier one — so a battery still consumes the certificates of
its hour issued before it, as when everything was issued in one block.

The scan is bounded too: at most EXAMINE_FACTOR × the cap pending entries are examined per
block (ready or not). Right after an hour ends a million PV devices' device-hours are pending
and most are not ready until their devices report past the hour (or the issuance grace
passes); an unbounded scan would read every one of them in every block until then. With the
bound, entries that are not ready yet at the front of the queue can hold the ones behind them
back, but only until the grace makes them ready: issuance is delayed by at most the grace,
never skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from abci_app.certificates.params import MAX_ISSUANCE
from abci_app.devices import keeper as devices
from abci_app.params import domain_param
from abci_app.store.branch import KVReader
from abci_app.types import BlockInfo

__all__ = ["BATTERY", "EXAMINE_FACTOR", "due"]

BATTERY = 4
EXAMINE_FACTOR = 4  # pending entries examined per block, per device-hour the cap lets it take


def due(store: KVReader, block: BlockInfo, ready: Callable[[int, str], bool]) -> list[tuple[int, str]]:
    """The (hour start, device id) pairs to take in this block: pending device-hours that
    ended by block time and are `ready`, in queue order (see the module doc), at most
    `certificates.max_issuance_per_block` of them, from at most EXAMINE_FACTOR times as many
    entries examined. Deterministic: a function of the state."""
    left = domain_param(store, MAX_ISSUANCE)
    examine = EXAMINE_FACTOR * left
    out: list[tuple[int, str]] = []
    hour: int | None = None
    batteries: list[tuple[int, str]] = []

    def close_hour() -> None:
        nonlocal left
        taken = batteries[:left]
        out.extend(taken)
        left -= len(taken)
        batteries.clear()

    for h, device_id in devices.iter_pending_hours(store, block.time):
        if examine <= 0:
            # the scan's bound: this hour's batteries wait, as when the cap cuts its generators
            return out
        examine -= 1
        if h != hour:
            if hour is not None:
                close_hour()
                if left <= 0:
                    return out
            hour = h
        if not ready(h, device_id):
            continue
        device = devices.get_device(store, device_id)
        if device is not None and device.kind == BATTERY:
            batteries.append((h, device_id))
            continue
        if left <= 0:
            # this hour's generators did not all fit: its batteries wait for a later block
            return out
        out.append((h, device_id))
        left -= 1
    if hour is not None and left > 0:
        close_hour()
    return out
