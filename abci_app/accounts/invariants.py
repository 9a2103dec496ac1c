"""Money is conserved: minted − burned equals the sum of all balances."""

from __future__ import annotations

from abci_app.accounts.keeper import iter_balances, supply
from abci_app.store.branch import KVReader

__all__ = ["money_conserved"]


def money_conserved(store: KVReader) -> str | None:
    """None if the invariant holds, else a description of the violation."""
    minted, burned = supply(store, "minted"), supply(store, "burned")
    total = sum(b for _a, b in iter_balances(store))
    if minted - burned != total:
        return f"minted {minted} - burned {burned} != sum of balances {total}"
    return None
