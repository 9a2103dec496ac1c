"""Demand-response escrow holds exactly what the events not yet settled have left of their
budgets (budget − rewards already paid, while settlement is carried over blocks)."""

from __future__ import annotations

from abci_app.accounts.keeper import balance
from abci_app.grid import keys
from abci_app.grid.records import DrEvent
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = ["dr_escrow_matches_open_budgets"]


def dr_escrow_matches_open_budgets(store: KVReader) -> str | None:
    """The DR escrow account holds exactly the unpaid budgets of the unsettled events (see the
    module docstring); the difference, else None."""
    prefix = keys.dr_event_prefix()
    open_budgets = 0
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        event = DrEvent.decode(v)
        if not event.settled:
            open_budgets += event.budget - event.paid
    held = balance(store, keys.DR_ESCROW)
    if held != open_budgets:
        return f"DR escrow holds {held}, open event budgets total {open_budgets}"
    return None
