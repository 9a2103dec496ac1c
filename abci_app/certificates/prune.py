"""Bounded certificates state: final records leave live state after their retention, provably.

Retention T = `certificates.retention_seconds` (governed; 90 days by default) and, for a retired
bundle, B = min(`certificates.retired_bundle_retention_seconds`, T) (governed; a day by default).
An end-block hook, after issuance, expiry and the other steps (issuance.py), removes:

- the retired bundles of retirements made B ago or more (`time` + B ≤ block time), in retirement
  id order (ids are allocated in block order, so id order is time order; the sweep stops at the
  first younger one), each bundle still retired by its retirement: the bundle record, its owner,
  device-hour, hour, status and origin index entries and its history. The retirement record
  stays: it names the bundle, its device-hour, source, region, Wh, owner and beneficiary, and is
  the provable claim for the rest of T. Retired bundles are most of what a PV device-day leaves
  in state (about 300 of a retired device-hour's 420 bytes), so they leave first;
- the issued tallies of the device-hours of retirements made before the devices' pruning
  watermark, in the same order, each when all of its Wh are pruned (below): a retirement made
  at t retired Wh of an hour that had ended by t, so by then no reading of that hour can come;
- retirements made T ago or more (with their owner index entries), in the same order, each with
  its retired bundle if B's sweep left it (it never does while B ≤ T: that sweep runs first and
  is always ahead), and then the device-hour's issued tally when final (below);
- expired, withdrawn and revoked bundles (with their index entries and history) of production
  hours that reached the expiry age T ago or more: hours h with h + period + expiry + T ≤ block
  time, and only hours the expiry step has fully examined (below its cursor), in (hour, id)
  order. By then every bundle of the hour is final except suspended ones (a certifier may still
  reinstate them), storage-consumed ones (their storage charge record names them: storage
  lineage) and retired ones whose retirement the first sweep has not reached: those stay.

A pruned bundle's volume is added to its device-hour's pruned tally (the ISSUED value grows to
u64 issued, u64 pruned), so the volume invariants still account for every issued Wh: live
bundles + pruned = issued. When all of a device-hour's Wh are pruned and the hour ended before
the devices' pruning watermark (devices/prune.py: no reading of the hour can arrive any more,
so it can never be issued again), the ISSUED entry is removed too: when its last bundle leaves
or, for a bundle that left at B (before the watermark passed its hour), when the watermark
passes the retirement of a bundle of it (or that retirement leaves at T); otherwise it stays,
16 bytes.

A retired bundle's Wh, when it leaves, are added to its production hour's and region's archived
retired Wh (COUNTER lp("residual_retired") u64(hour) lp(region)), so the residual mix of the hour
(matching.residual) still counts them issued and claimed.

Clear-sky holds (issuance.py), hourly-matching claims (matching.py) and those archived retired Wh
leave by the same rule: those of a production hour that ended before the devices' pruning
watermark, the first two each with its production-hour index entry (the last are keyed by hour
first: their own index). A hold's hour can never be issued again, and the certifier could no
longer decide it (HOLD_LAPSED, handlers.py: the recorded generation it would release may be
gone), whatever its status. A claim's hour has no metered consumption left to match it against:
the matching queries refuse such hours (RECORD_ARCHIVED), and a later retirement for one adds no
claim (ops.retire); /residual refuses them too, its archived retired Wh gone. They are swept
in hour order after the other sweeps, holds first, from their indexes, which are their own
cursors.

Work per block is bounded: at most `certificates.prune_per_block` retirements, bundle-hour
rows, holds and claims are examined (governed, 1,000 by default: a million PV devices' rows due each block, with
room to catch up; about 8 keys removed per bundle). Four cursors, all counters, say where the sweeps
resume: `archive_retired_bundle` (the last retirement id whose bundle was archived),
`archive_tally` (the last retirement id whose device-hour's tally was examined), both read as at
least the next, `archive_retirement` (the last retirement id archived), and `archive_hour` /
`archive_hour_id` (the production hour and the first bundle id in it not yet examined). Everything is decided
from state and block time in key order: a proposer cannot make a node prune differently, and a
block with nothing due writes nothing (a chain younger than its retention hashes as before).

Commitment. The records a block removes (each state key with the value it held, in removal
order) are committed to in state under COUNTER lp("archive") u64(height) as
gridwire.archive's binary Merkle root and count (40 bytes), and published, outside consensus,
in the block's `certificates_archived` event (its `archive`: the packed records in order),
which CometBFT keeps in the block results. An auditor proves a pruned record from that archive
(clients/archive.py): record → audit path → the commitment's root and count → the commitment
key's trie proof → the app hash of a signed header.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from abci_app.archive import ArchiveBatch
from abci_app.certificates import events, keeper, keys
from abci_app.certificates.params import EXPIRY, PRUNE_PER_BLOCK, RETENTION, RETIRED_BUNDLE_RETENTION, period
from abci_app.certificates.records import EXPIRED, RETIRED, REVOKED, WITHDRAWN, Bundle, Retirement
from abci_app.devices import keeper as devices
from abci_app.keys import u64
from abci_app.params import domain_param
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, Event

__all__ = [
    "ARCHIVE_HOUR",
    "ARCHIVE_HOUR_ID",
    "ARCHIVE_RETIRED_BUNDLE",
    "ARCHIVE_RETIREMENT",
    "ARCHIVE_TALLY",
    "archived_retired_bundle",
    "archived_retirement",
    "end_block",
]

ARCHIVE_RETIREMENT = "archive_retirement"  # counter: the last retirement id archived
ARCHIVE_RETIRED_BUNDLE = "archive_retired_bundle"  # counter: the last retirement id whose bundle was archived
ARCHIVE_TALLY = "archive_tally"  # counter: the last retirement id whose device-hour's tally was examined
ARCHIVE_HOUR = "archive_hour"  # counter: the production hour the hour sweep resumes at
ARCHIVE_HOUR_ID = "archive_hour_id"  # counter: the first bundle id of that hour not yet examined
_AGED_OUT = (EXPIRED, WITHDRAWN, REVOKED)


class _Removal(ArchiveBatch):
    """The records one block removes, in removal order, and what kinds they were."""

    def __init__(self, store: Branch) -> None:
        super().__init__(store)
        self.retirements = 0
        self.bundles = 0
        self.issued = 0
        self.holds = 0
        self.claims = 0
        self.residuals = 0

    def bundle(self, b: Bundle) -> None:
        store = self.store
        for key in (
            keys.bundle(b.bundle_id),
            keys.history(b.bundle_id),
            keys.by_owner(b.owner, b.hour_start, b.bundle_id),
            keys.by_device(b.device_id, b.hour_start, b.start_wh),
            keys.by_hour(b.hour_start, b.bundle_id),
            keys.by_status(b.status, b.bundle_id),
        ):
            self.remove(key)
        if b.origin_device:
            self.remove(keys.by_origin(b.origin_device, b.origin_hour, b.bundle_id))
        self.bundles += 1
        if b.status == RETIRED and not devices.may_be_pruned(store, b.hour_start):
            # the residual mix of its hour still counts it as claimed (an hour before the watermark
            # has no mix any more: /residual refuses it)
            keeper.add_residual_retired(store, b.hour_start, b.grid_region, keeper.volume(b))
        issued = keeper.issued_wh(store, b.device_id, b.hour_start)
        pruned = keeper.pruned_wh(store, b.device_id, b.hour_start) + keeper.volume(b)
        keeper.set_issued_tally(store, b.device_id, b.hour_start, issued, pruned)
        self.tally_if_final(b.device_id, b.hour_start)

    def tally_if_final(self, device_id: str, hour_start: int) -> None:
        """Remove the device-hour's issued tally when every Wh of it is pruned and no reading of its
        hour can arrive any more (the hour ended before the devices' pruning watermark), so it can
        never be issued again."""
        store = self.store
        key = keys.issued(device_id, hour_start)
        if store.get(key) is None or hour_start + period(store) > devices.pruned_before(store):
            return
        if keeper.pruned_wh(store, device_id, hour_start) >= keeper.issued_wh(store, device_id, hour_start):
            self.remove(key)
            self.issued += 1


def archived_retirement(store: KVReader) -> int:
    """Retirements with an id up to this one have left live state (0: none yet)."""
    return keeper.peek_counter(store, ARCHIVE_RETIREMENT)


def archived_retired_bundle(store: KVReader) -> int:
    """The bundles of retirements with an id up to this one have left live state (0: none yet); never
    below archived_retirement."""
    return max(keeper.peek_counter(store, ARCHIVE_RETIRED_BUNDLE), archived_retirement(store))


def _retired_bundle(store: Branch, r: Retirement, out: _Removal) -> None:
    b = keeper.get_bundle(store, r.bundle_id)
    if b is not None and b.status == RETIRED and b.retirement_id == r.retirement_id:
        out.bundle(b)


def _tally_step(store: Branch, r: Retirement, out: _Removal) -> None:
    out.tally_if_final(r.device_id, r.hour_start)


def _sweep(  # noqa: PLR0917 - internal
    store: Branch,
    cursor: str,
    before: int,
    step: Callable[[Branch, Retirement, _Removal], None],
    out: _Removal,
    budget: int,
) -> int:
    """Apply `step` to each retirement made before or at `before` after the `cursor` counter (read as
    at least archived_retirement), oldest id first; the budget left."""
    done = max(keeper.peek_counter(store, cursor), archived_retirement(store))
    last = 0
    # read before stepping: a step may delete the very rows the range covers
    for _k, v in list(islice(store.iter_range(keys.retirement(done + 1), prefix_end(keys.RETIREMENT)), budget)):
        r = Retirement.decode(v)
        if r.time > before:
            break
        step(store, r, out)
        last = r.retirement_id
        budget -= 1
    if last:
        keeper.set_counter(store, cursor, last)
    return budget


def _retirement(store: Branch, r: Retirement, out: _Removal) -> None:
    """Archive retirement `r` with its owner index entry, then its bundle if still there and its
    device-hour's issued tally when final."""
    out.remove(keys.retirement(r.retirement_id))
    out.remove(keys.retirement_by_owner(r.owner, r.hour_start, r.retirement_id))
    out.retirements += 1
    _retired_bundle(store, r, out)
    out.tally_if_final(r.device_id, r.hour_start)


def _hours(store: Branch, block: BlockInfo, retention: int, out: _Removal, budget: int) -> int:
    """Archive the aged-out bundles of hours past expiry + retention that expiry has examined; the
    budget left."""
    expiry_cursor = store.get(keys.counter("expiry_cursor"))
    if expiry_cursor is None:
        return budget
    limit = block.time - domain_param(store, EXPIRY) - period(store) - retention
    limit = min(limit, int.from_bytes(expiry_cursor, "big") - 1)
    hour = keeper.peek_counter(store, ARCHIVE_HOUR)
    if limit < 0 or hour > limit:
        return budget
    first_id = keeper.peek_counter(store, ARCHIVE_HOUR_ID)
    rows_in = store.iter_range(keys.by_hour(hour, first_id), keys.by_hour_prefix() + u64(limit + 1))
    rows = list(islice(rows_in, budget + 1))
    more = len(rows) > budget
    rows = rows[:budget]
    if not rows:
        return budget
    for k, _v in rows:
        b = keeper.get_bundle(store, int.from_bytes(k[-8:], "big"))
        if b is not None and b.status in _AGED_OUT:
            out.bundle(b)
    last_hour = int.from_bytes(rows[-1][0][1:9], "big")
    if more:  # the sweep stays in this hour, after the last bundle examined
        keeper.set_counter(store, ARCHIVE_HOUR, last_hour)
        keeper.set_counter(store, ARCHIVE_HOUR_ID, int.from_bytes(rows[-1][0][-8:], "big") + 1)
        return 0
    keeper.set_counter(store, ARCHIVE_HOUR, last_hour + 1)
    if first_id:
        store.delete(keys.counter(ARCHIVE_HOUR_ID))
    return budget - len(rows)


def _behind_watermark(store: Branch, out: _Removal, budget: int) -> None:
    """Archive the clear-sky holds, then the claims, then the residual mix's archived retired Wh, of
    hours that ended before the devices' pruning watermark, oldest hour first, at most `budget` of
    them."""
    before = devices.pruned_before(store) - period(store) + 1  # hour + period <= watermark
    for hour, device_id in list(islice(keeper.iter_hold_ages(store, before), budget)):
        out.remove(keys.clear_sky_hold(device_id, hour))
        out.remove(keys.clear_sky_hold_age(hour, device_id))
        out.holds += 1
    for hour, beneficiary in list(islice(keeper.iter_claim_ages(store, before), budget - out.holds)):
        out.remove(keys.claim(beneficiary, hour))
        out.remove(keys.claim_age(hour, beneficiary))
        out.claims += 1
    left = budget - out.holds - out.claims
    for hour, region, _wh in list(islice(keeper.iter_residual_retired(store, before), left)):
        out.remove(keys.residual_retired(hour, region))
        out.residuals += 1


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Archive what is past its retention (module doc), at most `certificates.prune_per_block`
    rows; when anything left live state, store the block's archive commitment and emit
    certificates_archived with the records. A block with nothing due writes nothing."""
    retention = domain_param(store, RETENTION)
    bundle_retention = min(domain_param(store, RETIRED_BUNDLE_RETENTION), retention)
    out = _Removal(store)
    budget = domain_param(store, PRUNE_PER_BLOCK)
    budget = _sweep(store, ARCHIVE_RETIRED_BUNDLE, block.time - bundle_retention, _retired_bundle, out, budget)
    if budget > 0:  # a retirement made at t is of an hour that ended by t
        budget = _sweep(store, ARCHIVE_TALLY, devices.pruned_before(store), _tally_step, out, budget)
    if budget > 0:
        budget = _sweep(store, ARCHIVE_RETIREMENT, block.time - retention, _retirement, out, budget)
    if budget > 0:
        budget = _hours(store, block, retention, out, budget)
    if budget > 0:
        _behind_watermark(store, out, budget)
    return out.commit(
        events.CERTIFICATES_ARCHIVED,
        keys.archive_commitment(block.height),
        block.height,
        retirements=out.retirements,
        bundles=out.bundles,
        issued=out.issued,
        holds=out.holds,
        claims=out.claims,
        residuals=out.residuals,
    )
