"""The upgrade "retired-bundles-first": retired bundles leave live state a day after their
retirement, and the retirements gain an owner index.

This version archives a retired bundle `certificates.retired_bundle_retention_seconds` after its
retirement (abci_app/certificates/prune.py) and keeps each retirement in its owner's index
(COUNTER lp("rbo") owner u64(hour) u64(id)), written by keeper.put_retirement, which
`/retirements/owner/<address>` lists and an EV session's claim counts against once the retired
bundles it would have read have left. The previous version kept retired bundles for the whole
retention and wrote no such index: on a chain it ran, the invariant retirements_indexed_by_owner
would fail, and nodes switching versions at different heights would prune differently. So a chain
the previous version ran plans this upgrade: every node switches at its height, where the
migration writes the owner index entry of every stored retirement, in id order, and nothing else
(an entry already present is written again, unchanged). Genesis import builds the index itself; a
chain that began on this version never plans it. Consensus rules: state only, key order, no clock.

Its work is not bounded per block: it reads every live retirement (at most the retention's worth)
once, in the block at the plan's height, as a one-off migration may.
"""

from __future__ import annotations

from abci_app.certificates import keeper
from abci_app.governance.upgrades import RETIRED_BUNDLES_FIRST
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration

__all__ = ["MIGRATION"]


def _apply(store: Branch, block: BlockInfo) -> list[Event]:
    """Index every stored retirement under its owner (the runner emits upgrade_applied)."""
    for r in list(keeper.iter_retirements(store)):
        keeper.index_retirement(store, r)
    return []


MIGRATION = Migration(RETIRED_BUNDLES_FIRST, _apply)
