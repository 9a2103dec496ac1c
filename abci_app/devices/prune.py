"""Bounded devices state: interval energy and hour flows are pruned once no reader needs them.

Readers and their windows (all measured back from block time):

- market settlement reads an interval's energy until it settles, `market.settlement_grace_seconds`
  after the interval ends;
- demand response reads, when an event settles (`grid.dr_settlement_grace_seconds` after it
  ends; events last at most a day), the same intervals on the `grid.dr_baseline_days` previous
  comparable days (`grid.dr_baseline_period_seconds` each);
- certificate issuance reads a device-hour's flow until it issues it, at the latest
  `certificates.issuance_grace_seconds` after the hour ends;
- forecasts read, for the fallback of an interval, the same interval on the
  `forecasts.fallback_days` previous days (`forecasts.fallback_period_seconds` each), also
  when they score an interval's forecast `forecasts.error_grace_seconds` after it ends.

Rule. The retention is R = max(`devices.energy_retention_seconds` (35 days), L + settlement
grace + L, DR grace + 1 day + baseline days × baseline period + L, issuance grace + hour,
fallback days × fallback period + forecast error grace + 2L), L the settlement interval.
The pruning horizon is block time − R, held back further to the oldest interval still
marked for settlement (keeper.iter_energy_sites) and the oldest device-hour still pending
issuance, so a late settlement or issuance (a halted chain, no tariffs yet) still finds its
data. The watermark `pruned_before` is the highest horizon pruning has used: records
starting before it may be gone, and none are recorded any more (a reading that old is past
every reader's window). A block with nothing older than the horizon writes nothing.

Work per block is bounded: an end-block hook deletes at most `devices.prune_per_block`
records (governed, 5,000 by default: at a million meters the records due each block, with room
to catch up after a halt; a cap below the daily volume would let state grow without end), oldest
first, taken from the time-ordered index AGE (u64 start, kind, device) that add_energy and
add_hour_flow write when they create a record; the index itself is the cursor (what is
left before the watermark is what is still to delete). Each device's state then stops
growing with age: at most R ÷ L interval records and R ÷ hour hour flows.
"""

from __future__ import annotations

from itertools import islice

from abci_app.certificates.params import GRACE, period
from abci_app.devices import events, keeper, keys
from abci_app.devices.params import ENERGY_RETENTION, PRUNE_PER_BLOCK, SETTLEMENT_INTERVAL
from abci_app.forecasts.params import ERROR_GRACE, FALLBACK_DAYS, FALLBACK_PERIOD
from abci_app.grid.params import BASELINE_DAYS, BASELINE_PERIOD, DR_GRACE, MAX_DR_SECONDS
from abci_app.keys import u64
from abci_app.market.params import SETTLEMENT_GRACE
from abci_app.params import domain_param
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, Event

__all__ = ["end_block", "horizon", "retention"]


def retention(store: KVReader) -> int:
    """R of the module doc: the governed retention, never below any reader's window."""
    length = domain_param(store, SETTLEMENT_INTERVAL)
    return max(
        domain_param(store, ENERGY_RETENTION),
        length + domain_param(store, SETTLEMENT_GRACE) + length,
        domain_param(store, DR_GRACE)
        + MAX_DR_SECONDS
        + domain_param(store, BASELINE_DAYS) * domain_param(store, BASELINE_PERIOD)
        + length,
        domain_param(store, GRACE) + period(store),
        domain_param(store, FALLBACK_DAYS) * domain_param(store, FALLBACK_PERIOD)
        + domain_param(store, ERROR_GRACE)
        + 2 * length,
    )


def horizon(store: KVReader, now: int) -> int:
    """now − R, held back to the oldest interval awaiting settlement and the oldest
    device-hour awaiting issuance."""
    h = now - retention(store)
    for prefix in (keys.site_energy_prefix(), keys.pending_prefix()):
        held = keeper.oldest_marked(store, prefix)
        if held is not None:
            h = min(h, held)
    return h


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """When the oldest record is before the horizon: raise the watermark to the horizon and
    delete at most `devices.prune_per_block` records before it, oldest first. A block with nothing to prune
    writes nothing."""
    first = keeper.oldest_marked(store, keys.age_prefix())
    if first is None:
        return []
    h = horizon(store, block.time)
    if first >= h:
        return []
    if h > keeper.pruned_before(store):
        keeper.set_pruned_before(store, h)
    batch = domain_param(store, PRUNE_PER_BLOCK)
    due = list(islice(store.iter_range(keys.age_prefix(), keys.age_prefix() + u64(h)), batch))
    for k, _v in due:
        start = int.from_bytes(k[1:9], "big")
        device_id = k[11:].decode()
        store.delete(keys.energy(device_id, start) if k[9] == keeper.AGE_ENERGY else keys.hour_flow(device_id, start))
        store.delete(k)
    return [Event.of(events.ENERGY_PRUNED, records=len(due), before=h)]
