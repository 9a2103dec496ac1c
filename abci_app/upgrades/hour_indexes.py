"""The upgrade "hour-indexes": clear-sky holds and hourly-matching claims stored by the previous
version are entered in their production-hour indexes.

This version keeps an index entry beside each clear-sky hold (COUNTER lp("clear_sky_hold_age")
u64(hour) lp(device)) and each claim (COUNTER lp("claim_age") u64(hour) beneficiary), written by
keeper.put_hold and keeper.add_claim. Certificates pruning walks these indexes to archive holds and
claims whose hour ended before the devices' pruning watermark (abci_app/certificates/prune.py), and
the invariant hour_indexes_complete holds each index equal to its records. The previous version
wrote no index (and pruned neither): on a chain it ran, its holds and claims would never be archived
and the invariant would fail. Genesis import rebuilds the indexes; a running chain needs this
migration, at a height its governance plans.

The migration writes the missing index entry of every stored hold, in key order (device, then
hour), then of every stored claim (beneficiary, then hour), from the keeper's iterators and
writers; it removes nothing and changes no record. An entry already present (a record this version
wrote) is left as it is, so a second run, or a run on a chain that began on this version, writes
nothing. Consensus rules: state only (no clock, no I/O), key order, integers.

Its work is not bounded per block, unlike pruning's: it reads every hold and claim (one read and at
most one write each) in the one block at the plan's height, once per chain, as a one-off migration
may.
"""

from __future__ import annotations

from abci_app.certificates import keeper
from abci_app.governance.upgrades import HOUR_INDEXES
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration

__all__ = ["MIGRATION"]


def _apply(store: Branch, block: BlockInfo) -> list[Event]:
    """Index every hold, then every claim, that has no index entry (the runner emits upgrade_applied)."""
    for hold in list(keeper.iter_holds(store)):
        keeper.index_hold(store, hold.device_id, hold.hour_start)
    for beneficiary, hour, _wh in list(keeper.iter_claims(store)):
        keeper.index_claim(store, beneficiary, hour)
    return []


MIGRATION = Migration(HOUR_INDEXES, _apply)
