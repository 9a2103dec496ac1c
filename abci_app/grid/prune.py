"""Bounded demand-response state: a settled event's enrolments leave live state after the retention, provably.

Every event keeps an enrolment per enrolled device (up to `grid.max_enrolments_per_event`); a
utility's feeders running events every day would keep millions of them for ever. Retention T =
`grid.dr_retention_seconds` (governed; 35 days, as the market's).

A settled event E is due when its settlement became due T ago: E.end + `grid.dr_settlement_grace_seconds`
+ T ≤ block time. Settled events wait in the pruning index (keys.DR_SETTLED, by end then id, written
by keeper.put_dr_event). An end-block hook, after settlement, takes the due events in index order and
removes each one's enrolments in key order; an event whose enrolments are all gone is marked
`archived` and leaves the index. The event record itself stays: it is small (a few a day per
feeder), it keeps the event's id taken (a new event cannot reuse it), and it says what was paid and
that the enrolments are archived, so `/dr_enrolments/<event>` answers DR_ENROLMENTS_ARCHIVED.

Work per block is bounded: at most `grid.dr_prune_per_block` enrolments removed and events marked;
an event with more enrolments than that goes on in the next block. Everything is decided from state
and block time in key order, and a block with nothing due writes nothing.

Commitment. The enrolments a block removes (each state key with the value it held, in removal order)
are committed to under ARCHIVE u64(height) as gridwire.archive's root and count, and published in the
block's `grid_archived` event (its `archive`: the packed records), from which an auditor proves an
enrolment against the app hash (clients/archive.py GRID, `gridctl dr archived`), as for the market's
and certificates' records.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import islice

from abci_app.archive import ArchiveBatch
from abci_app.grid import events, keeper, keys
from abci_app.grid.params import DR_GRACE, PRUNE_PER_BLOCK, RETENTION
from abci_app.params import domain_param
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["end_block"]


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Archive the enrolments of settled events past their retention (module doc), at most
    `grid.dr_prune_per_block` steps; when any enrolment left live state, store the block's archive
    commitment and emit grid_archived with the records. A block with nothing due writes nothing."""
    ended_by = block.time - domain_param(store, DR_GRACE) - domain_param(store, RETENTION)
    if ended_by < 0:
        return []
    budget = domain_param(store, PRUNE_PER_BLOCK)
    out = ArchiveBatch(store)
    archived = 0
    for event_id in keeper.settled_dr_events(store, ended_by, budget):
        prefix = keys.dr_enrolment_prefix(event_id)
        rows = list(islice(store.iter_range(prefix, prefix_end(prefix)), budget))
        for k, _v in rows:
            out.remove(k)
        budget -= len(rows)
        if budget <= 0:
            break  # the event may have more: the next block goes on (and marks it once none is left)
        event = keeper.get_dr_event(store, event_id)
        if event is None:  # pragma: no cover - the index holds stored events (invariant settled_dr_events_indexed)
            continue
        keeper.put_dr_event(store, replace(event, archived=True))
        archived += 1
        budget -= 1
        if budget <= 0:
            break
    return out.commit(
        events.GRID_ARCHIVED,
        keys.archive_commitment(block.height),
        block.height,
        enrolments=len(out.records),
        events=archived,
    )
