"""Grid invariants: the demand-response escrow holds exactly what the events not yet settled have left
of their budgets (budget − rewards already paid, while settlement is carried over blocks); the pruning
index holds exactly the settled events whose enrolments are live; an archived event is settled and
has no enrolment left."""

from __future__ import annotations

from abci_app.accounts.keeper import balance
from abci_app.grid import keys
from abci_app.grid.records import DrEvent
from abci_app.index_check import index_mismatch
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = ["archived_dr_events_hold_no_enrolments", "dr_escrow_matches_open_budgets", "settled_dr_events_indexed"]


def _events(store: KVReader) -> list[DrEvent]:
    prefix = keys.dr_event_prefix()
    return [DrEvent.decode(v) for _k, v in store.iter_range(prefix, prefix_end(prefix))]


def dr_escrow_matches_open_budgets(store: KVReader) -> str | None:
    """The DR escrow account holds exactly the unpaid budgets of the unsettled events (see the
    module docstring); the difference, else None."""
    open_budgets = sum(e.budget - e.paid for e in _events(store) if not e.settled)
    held = balance(store, keys.DR_ESCROW)
    if held != open_budgets:
        return f"DR escrow holds {held}, open event budgets total {open_budgets}"
    return None


def settled_dr_events_indexed(store: KVReader) -> str | None:
    """The pruning index (keys.DR_SETTLED) names exactly the settled events not yet archived, each
    under its end; the mismatch, else None."""
    records = {keys.dr_settled(e.end, e.event_id) for e in _events(store) if e.settled and not e.archived}
    prefix = keys.dr_settled_prefix()
    index = {k for k, _v in store.iter_range(prefix, prefix_end(prefix))}
    return index_mismatch(records, index, "settled DR event", "pruning")


def archived_dr_events_hold_no_enrolments(store: KVReader) -> str | None:
    """An archived event is settled and its enrolments have all left live state; the first that is
    not, else None."""
    for e in _events(store):
        if not e.archived:
            continue
        if not e.settled:
            return f"DR event {e.event_id!r} is archived but not settled"
        prefix = keys.dr_enrolment_prefix(e.event_id)
        if next(iter(store.iter_range(prefix, prefix_end(prefix))), None) is not None:
            return f"DR event {e.event_id!r} is archived but still has enrolments in live state"
    return None
