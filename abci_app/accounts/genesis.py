"""Accounts' genesis section: `balances` (minted at genesis) and its export.

"balances": [{"address": "<40 hex>", "amount": 1000}]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from abci_app.accounts import keeper
from abci_app.domain import GenesisError
from abci_app.errors import TxError
from abci_app.identity.keeper import get_member
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address, BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("balances",)


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Credit each balance to a genesis member and count it as minted."""
    balances = sections.get("balances", [])
    if not isinstance(balances, list):
        raise GenesisError("balances: expected a list")
    for i, b in enumerate(balances):
        where = f"balances[{i}]"
        if not isinstance(b, dict):
            raise GenesisError(f"{where}: expected an object")
        try:
            address = Address(bytes.fromhex(str(b.get("address", ""))))
        except ValueError as exc:
            raise GenesisError(f"{where}.address: not hex") from exc
        amount = b.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise GenesisError(f"{where}.amount: expected a positive integer")
        if get_member(store, address) is None:
            raise GenesisError(f"{where}: {address.hex()} is not a genesis member")
        try:
            keeper.add(store, address, amount)
            keeper.add_supply(store, "minted", amount)
        except TxError as exc:
            raise GenesisError(f"{where}: {exc.log}") from exc


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every non-zero balance (re-imported, they mint the same circulating supply)."""
    return {"balances": [{"address": a.hex(), "amount": n} for a, n in keeper.iter_balances(store)]}
