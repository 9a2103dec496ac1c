"""The grid's end-block hook: (1) demand-response settlement carried over blocks (handlers.py), then
(2) settled events' enrolments past the retention leave live state, provably (prune.py)."""

from __future__ import annotations

from abci_app.grid import prune
from abci_app.grid.handlers import settle_dr_events
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["end_block"]


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Settle what is due, then prune what is past its retention (module doc)."""
    return settle_dr_events(store, block) + prune.end_block(store, block)
