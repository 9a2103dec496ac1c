"""Certificate invariants, checked after every block by the test driver.

- issued_within_generation: for every device-hour, Wh issued ≤ the verified generation
  (export Wh of a renewable generator; discharged Wh of a battery for storage certificates).
  Hours before the devices' pruning watermark are skipped: their flow may have been pruned
  after issuance (devices/prune.py).
- bundles_tile_issued: the bundles of every device-hour tile [0, issued) exactly, so
  active + retired + suspended + revoked + consumed + expired = issued and no Wh is in two
  bundles; every stored bundle is in the device-hour index.
"""

from __future__ import annotations

from abci_app.certificates import keeper, keys
from abci_app.devices import keeper as devices
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = ["bundles_tile_issued", "issued_within_generation"]

BATTERY = 4


def issued_within_generation(store: KVReader) -> str | None:
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


def bundles_tile_issued(store: KVReader) -> str | None:
    expected = {(d, h): n for d, h, n in keeper.iter_issued(store)}
    covered: dict[tuple[str, int], int] = {}
    indexed = 0
    prefix = keys.by_device_prefix("")[:1]
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        indexed += 1
        b = keeper.get_bundle(store, int.from_bytes(v, "big"))
        if b is None or keys.by_device(b.device_id, b.hour_start, b.start_wh) != k:
            return f"index entry {k.hex()} points at a missing or moved bundle"
        dh = (b.device_id, b.hour_start)
        if b.start_wh != covered.get(dh, 0) or b.end_wh <= b.start_wh:
            return f"{dh}: bundle {b.bundle_id} [{b.start_wh}, {b.end_wh}) leaves a gap or overlaps"
        covered[dh] = b.end_wh
    if covered != expected:
        return f"bundles cover {len(covered)} device-hours differently from the issued tallies"
    stored = sum(1 for _ in store.iter_range(keys.bundle(0)[:1], prefix_end(keys.bundle(0)[:1])))
    if stored != indexed:
        return f"{stored} bundles stored but {indexed} indexed"
    return None
