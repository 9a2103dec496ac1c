"""Hourly matching: consumption against claimed certificates, the 24/7 score, residual generation.

- Consumption of a member in an hour: the import Wh of the METER devices on the member's
  sites (whoever owns the meter), summed over the settlement intervals that start in the
  hour (devices `get_energy`, the current interval length) — what market settlement bills
  (market/retail.py). Sub-metered appliances, EV chargers, heat pumps and batteries behind
  the meter are not added again: their import is already in the site meter's. A site
  without a meter has no consumption here.
- Claimed: retired Wh of certificates whose production hour is this hour, with the member as
  beneficiary, for a consumption period that overlaps the hour (ops.counts_for: temporal
  matching within the hour; a retirement whose period misses its certificate's production
  hour counts for no hour).
- Covered share (basis points): min(claimed, consumption) × 10 000 // consumption, 0 when
  there is no consumption. The 24/7 score over hours [from, to): Σ min(claimed_h,
  consumption_h) × 10 000 // Σ consumption_h — always within [0, 10 000].
- Residual of a grid region and hour: issued certificates of that production hour in the
  region that nobody claimed (active, suspended or expired; not retired, consumed by
  storage or revoked).
"""

from __future__ import annotations

from dataclasses import dataclass

from abci_app.certificates import keeper
from abci_app.certificates.params import period
from abci_app.certificates.records import CONSUMED, RETIRED, REVOKED, WITHDRAWN
from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.params import domain_param
from abci_app.store.branch import KVReader

__all__ = [
    "MatchingView",
    "ResidualView",
    "ScoreView",
    "consumption",
    "matching",
    "member_meters",
    "residual",
    "score",
]

METER = 1  # gridledger.devices.v1.DeviceKind


@dataclass(frozen=True, slots=True)
class MatchingView:
    """A member's hour: metered consumption, certificates claimed for it, and the covered share in basis
    points."""

    member: bytes
    hour_start: int
    consumption_wh: int
    claimed_wh: int
    covered_bp: int


@dataclass(frozen=True, slots=True)
class ScoreView:
    """A member's hourly matching over [from_hour, to_hour): consumption, matched Wh (hour by hour) and the
    score in basis points."""

    member: bytes
    from_hour: int
    to_hour: int
    consumption_wh: int
    matched_wh: int
    score_bp: int


@dataclass(frozen=True, slots=True)
class ResidualView:
    """A region's certificates of one hour by fate; residual_wh is what nobody claimed."""

    grid_region: str
    hour_start: int
    issued_wh: int = 0
    claimed_wh: int = 0  # retired
    consumed_by_storage_wh: int = 0
    revoked_wh: int = 0
    residual_wh: int = 0  # active + suspended + expired: generation nobody claimed


def member_meters(store: KVReader, member: bytes) -> list[str]:
    """Ids of the METER devices on the sites the member owns, in site then device key order
    (through the devices domain's sites-by-owner index: only the member's sites are read)."""
    out: list[str] = []
    for site_id in devices.iter_owner_sites(store, member):
        for device_id in devices.iter_site_devices(store, site_id):
            dev = devices.get_device(store, device_id)
            if dev is not None and dev.kind == METER:
                out.append(device_id)
    return out


def consumption(store: KVReader, member: bytes, hour_start: int, meters: list[str] | None = None) -> int:
    """Metered import Wh of the meters on the member's sites in the hour (`meters`: the
    member's `member_meters`, when the caller already has them)."""
    length = domain_param(store, SETTLEMENT_INTERVAL)
    first = hour_start + (-hour_start) % length
    total = 0
    for device_id in member_meters(store, member) if meters is None else meters:
        for k in range(first, hour_start + period(store), length):
            e = devices.get_energy(store, device_id, k)
            if e is not None:
                total += e.import_wh
    return total


def matching(store: KVReader, member: bytes, hour_start: int, meters: list[str] | None = None) -> MatchingView:
    """The member's metered consumption in the hour, the certificates retired for it then, and the matched
    share in basis points (min(claimed, used) / used; 0 without consumption)."""
    used = consumption(store, member, hour_start, meters)
    got = keeper.claimed(store, member, hour_start)
    bp = min(got, used) * 10_000 // used if used else 0
    return MatchingView(member, hour_start, used, got, bp)


def score(store: KVReader, member: bytes, from_hour: int, to_hour: int) -> ScoreView:
    """The 24/7 score over the hours starting in [from_hour, to_hour) (aligned to the period)."""
    used = matched = 0
    meters = member_meters(store, member)
    for h in range(from_hour, to_hour, period(store)):
        m = matching(store, member, h, meters)
        used += m.consumption_wh
        matched += min(m.claimed_wh, m.consumption_wh)
    bp = matched * 10_000 // used if used else 0
    return ScoreView(member, from_hour, to_hour, used, matched, bp)


def residual(store: KVReader, region: str, hour_start: int) -> ResidualView:
    """The region's certificates of the hour by fate (retired, consumed by storage, revoked or withdrawn)
    and what remains unclaimed: issued = the sum of those. Retired bundles that left live state
    count by their archived Wh (prune.py), so the view does not change when they leave."""
    archived = keeper.residual_retired_wh(store, hour_start, region)  # retired bundles that left live state
    by_status = {RETIRED: archived, CONSUMED: 0, REVOKED: 0}
    issued = archived
    for b in keeper.iter_hour_bundles(store, hour_start):
        if b.grid_region != region:
            continue
        v = keeper.volume(b)
        issued += v
        status = REVOKED if b.status == WITHDRAWN else b.status  # withdrawn by the issuing body: out, as revoked
        if status in by_status:
            by_status[status] += v
    unclaimed = issued - sum(by_status.values())
    return ResidualView(
        region, hour_start, issued, by_status[RETIRED], by_status[CONSUMED], by_status[REVOKED], unclaimed
    )
