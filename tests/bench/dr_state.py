"""The demand-response state a utility's feeders leave, in process, and its pruning.

Each event keeps one enrolment per enrolled device (at most `grid.max_enrolments_per_event`,
1,000) after it settled; they stayed for ever until abci_app/grid/prune.py. This part stores
`enrolments` settled enrolments spread over events of at most 1,000 each (written through the
grid's keeper, as settlement leaves them: measured, rewarded, settled), measures their bytes in
live state, runs the grid's end-block hook from the moment they are due (end + settlement grace +
`grid.dr_retention_seconds`) block after block until every event is archived (at most
`grid.dr_prune_per_block` steps a block), and reports the hook's CPU per enrolment, its worst
block, and what stays per event (the event record, marked archived, and the block's archive
commitment). The projection: a million enrolled devices each in one event a day, live at the
retention against a year kept for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import abci_app.registry  # noqa: F401 - publishes the domains' parameters
from abci_app.grid import hooks, keeper
from abci_app.grid.params import DR_GRACE, MAX_ENROLMENTS, PARAMS, PRUNE_PER_BLOCK, RETENTION
from abci_app.grid.records import PAYING, DrEnrolment, DrEvent
from abci_app.params import domain_param, set_domain_param
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo

__all__ = ["dr_state_costs"]

GRID_KEYS = (b"\x60", b"\x70")  # every grid key (prefixes 0x60-0x6F)
PER_EVENT = PARAMS[MAX_ENROLMENTS].high  # the most enrolments an event may have (1,000)
START = 1_767_225_600 + 86_400
END = START + 3_600
MILLION = 1_000_000
CLOCK = time.process_time


def _grid_bytes(store: Branch) -> int:
    return sum(len(k) + len(v) for k, v in store.iter_range(*GRID_KEYS))


def _settled(store: Branch, enrolments: int) -> int:
    """Settled events holding `enrolments` settled enrolments (at most PER_EVENT each); the events."""
    operator = Address(b"\x02" * 20)
    events = -(-enrolments // PER_EVENT)
    for e in range(events):
        event_id = f"peak-{e:05d}"
        mine = range(e * PER_EVENT, min(enrolments, (e + 1) * PER_EVENT))
        for i in mine:
            owner = Address((i + 16).to_bytes(20, "big"))
            keeper.put_dr_enrolment(
                store,
                DrEnrolment(
                    event_id, f"heat-pump-{i:07d}", owner, baseline_wh=1_800, actual_wh=1_100, reduction_wh=700,
                    reward=70, settled=True, sealed_until=START - 900, measured=True, claim=70,
                ),
            )  # fmt: skip
        keeper.put_dr_event(
            store,
            DrEvent(
                event_id, f"feeder-{e % 50}", START, END, 700 * len(mine), 100, operator, 70 * len(mine),
                settled=True, paid=70 * len(mine), announced_at=START - 900, stage=PAYING,
                total_claim=70 * len(mine),
            ),
        )  # fmt: skip
    return events


def dr_state_costs(enrolments: int, log: Callable[[str], None], *, per_block: int | None = None) -> dict[str, Any]:
    """`enrolments` settled enrolments in live state, then pruned by the grid's hook once due,
    at most `per_block` steps a block (the governed default unless given)."""
    store = Branch(MemoryBackend())
    if per_block is not None:
        set_domain_param(store, PRUNE_PER_BLOCK, per_block, genesis=True)
    cap = domain_param(store, PRUNE_PER_BLOCK)
    events = _settled(store, enrolments)
    live = _grid_bytes(store)
    due = END + domain_param(store, DR_GRACE) + domain_param(store, RETENTION)
    blocks: list[float] = []
    while keeper.settled_dr_events(store, END, 1) and len(blocks) <= 2 * (enrolments + events) // cap + 5:
        block = BlockInfo("bench", 1_000 + len(blocks), (due + 5 * len(blocks)) * 1_000_000_000)
        started = CLOCK()
        hooks.end_block(store, block)
        blocks.append(CLOCK() - started)
    if keeper.settled_dr_events(store, END, 1) or next(iter(store.iter_range(b"\x64", b"\x65")), None) is not None:
        raise RuntimeError("DR pruning bench: enrolments were left in live state")
    left = _grid_bytes(store)
    per_enrolment = (live - left) / enrolments
    days = domain_param(store, RETENTION) / 86_400
    out = {
        "enrolments": enrolments,
        "events": events,
        "per_block": cap,
        "bytes_per_enrolment": round(per_enrolment, 1),
        "bytes_left_per_event": round(left / events, 1),
        "blocks": len(blocks),
        "us_per_enrolment": round(sum(blocks) * 1e6 / enrolments, 1),
        "worst_block_ms": round(max(blocks) * 1000, 1),
        "retention_days": days,
        # a million enrolled devices, each in one event a day (1,000 events of 1,000 enrolments)
        "million_devices_gb": round(MILLION * per_enrolment * days / 1e9, 2),
        "million_devices_gb_year_unpruned": round(MILLION * per_enrolment * 365 / 1e9, 2),
        "million_devices_events_gb_year": round(MILLION / PER_EVENT * left / events * 365 / 1e9, 3),
    }
    log(
        f"  demand response: {enrolments:,} settled enrolments in {events} events, {out['bytes_per_enrolment']} B "
        f"each live; pruned in {out['blocks']} blocks of at most {cap:,} steps ({out['us_per_enrolment']} µs per "
        f"enrolment, worst block {out['worst_block_ms']} ms), {out['bytes_left_per_event']} B left per event; a "
        f"million devices in an event a day: {out['million_devices_gb']} GB at the {days:g}-day retention, "
        f"{out['million_devices_gb_year_unpruned']} GB a year kept for ever"
    )
    return out
