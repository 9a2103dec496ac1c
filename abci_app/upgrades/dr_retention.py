"""The upgrade "dr-retention": settled demand-response events' enrolments leave live state after the
retention, through a pruning index of settled events.

This version keeps every settled event whose enrolments are still live in a pruning index
(keys.DR_SETTLED: end ‖ id, written by keeper.put_dr_event) and removes those enrolments
`grid.dr_retention_seconds` after the event's settlement became due (abci_app/grid/prune.py). The
previous version kept every enrolment for ever and wrote no such index: on a chain it ran, the
invariant settled_dr_events_indexed would fail and pruning would never see the events settled
before, and nodes switching versions at different heights would prune differently. So a chain the
previous version ran plans this upgrade: every node switches at its height, where the migration
writes the index entry of every stored settled event, in key order, and nothing else (an entry
already present is written again, unchanged). Genesis import builds the index itself; a chain that
began on this version never plans it. Consensus rules: state only, key order, no clock.

The same version records in each new retirement the Wh it retired (Retirement.end_wh, the
certificates' ids); a retirement stored before keeps none (0), which every reader takes as "no
range recorded": the migration does not guess ranges for them.

Its work is one read of every stored event (a few a day per feeder), in the block at the plan's
height; the pruning that follows is bounded per block and catches up over the next blocks.
"""

from __future__ import annotations

from abci_app.governance.upgrades import DR_RETENTION
from abci_app.grid import keys
from abci_app.grid.records import DrEvent
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration

__all__ = ["MIGRATION"]


def _apply(store: Branch, block: BlockInfo) -> list[Event]:
    """Index every stored settled event that is not archived under its end (the runner emits upgrade_applied)."""
    prefix = keys.dr_event_prefix()
    for _k, v in list(store.iter_range(prefix, prefix_end(prefix))):
        event = DrEvent.decode(v)
        if event.settled and not event.archived:
            store.set(keys.dr_settled(event.end, event.event_id), b"")
    return []


MIGRATION = Migration(DR_RETENTION, _apply)
