"""Hourly matching: consumption against claimed certificates, the 24/7 score, residual generation.

- Consumption of a member in an hour: the import Wh of the member's devices (batteries
  excepted: their charging is storage, not consumption) summed over the settlement
  intervals that start in the hour (devices `get_energy`, the current interval length).
- Claimed: retired Wh whose consumption period falls in the hour with the member as
  beneficiary (a period spanning hours is split by seconds, remainder to the last hour).
- Covered share (basis points): min(claimed, consumption) × 10 000 // consumption, 0 when
  there is no consumption. The 24/7 score over hours [from, to): Σ min(claimed_h,
  consumption_h) × 10 000 // Σ consumption_h — always within [0, 10 000].
- Residual of a grid region and hour: issued certificates of that production hour in the
  region that nobody claimed (active, suspended or expired; not retired, consumed by
  storage or revoked).
"""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates import keeper
from abci_app.certificates.params import period
from abci_app.certificates.records import CONSUMED, RETIRED, REVOKED
from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.params import domain_param
from abci_app.store.branch import KVReader

__all__ = ["consumption", "matching", "residual", "score"]

BATTERY = 4


def consumption(store: KVReader, member: bytes, hour_start: int) -> int:
    """Metered import Wh of the member's non-battery devices in the hour."""
    length = domain_param(store, SETTLEMENT_INTERVAL)
    first = hour_start + (-hour_start) % length
    total = 0
    for device_id in devices.iter_owner_devices(store, member):
        dev = devices.get_device(store, device_id)
        if dev is None or dev.kind == BATTERY:
            continue
        for k in range(first, hour_start + period(store), length):
            e = devices.get_energy(store, device_id, k)
            if e is not None:
                total += e.import_wh
    return total


def matching(store: KVReader, member: bytes, hour_start: int) -> pb.Matching:
    used = consumption(store, member, hour_start)
    got = keeper.claimed(store, member, hour_start)
    bp = min(got, used) * 10_000 // used if used else 0
    return pb.Matching(member=member, hour_start=hour_start, consumption_wh=used, claimed_wh=got, covered_bp=bp)


def score(store: KVReader, member: bytes, from_hour: int, to_hour: int) -> pb.Score:
    """The 24/7 score over the hours starting in [from_hour, to_hour) (aligned to the period)."""
    used = matched = 0
    for h in range(from_hour, to_hour, period(store)):
        m = matching(store, member, h)
        used += m.consumption_wh
        matched += min(m.claimed_wh, m.consumption_wh)
    bp = matched * 10_000 // used if used else 0
    return pb.Score(
        member=member, from_hour=from_hour, to_hour=to_hour, consumption_wh=used, matched_wh=matched, score_bp=bp
    )


def residual(store: KVReader, region: str, hour_start: int) -> pb.Residual:
    out = pb.Residual(grid_region=region, hour_start=hour_start)
    for b in keeper.iter_hour_bundles(store, hour_start):
        if b.grid_region != region:
            continue
        v = keeper.volume(b)
        out.issued_wh += v
        if b.status == RETIRED:
            out.claimed_wh += v
        elif b.status == CONSUMED:
            out.consumed_by_storage_wh += v
        elif b.status == REVOKED:
            out.revoked_wh += v
        else:
            out.residual_wh += v
    return out
