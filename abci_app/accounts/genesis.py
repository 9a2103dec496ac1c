"""Accounts' genesis sections: `balances` and `supply`, and their export.

"balances": [{"address": "<40 hex>", "amount": 1000}]
"supply":   {"minted": 6000000, "burned": 250}        (optional; an export always has it)

A balance belongs to a genesis member or to a module account a domain declares
(`Domain.module_accounts`: the market's and the grid's escrow). Without `supply`, the
balances are what genesis mints; with it (a chain restarted from an export), the counters
are taken as they were, and minted − burned must equal the balances' total, so an export
can neither create nor lose money.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from abci_app.accounts import keeper, keys
from abci_app.codec_util import MAX_AMOUNT
from abci_app.domain import GenesisError
from abci_app.errors import TxError
from abci_app.identity.keeper import get_member
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address, BlockInfo

__all__ = ["MODULE_ACCOUNTS", "SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("balances", "supply")
SUPPLY_KINDS = ("minted", "burned")

# address → the domain whose module account it is (filled by the registry)
MODULE_ACCOUNTS: dict[bytes, str] = {}


def _amount(value: Any, where: str, *, positive: bool) -> int:
    low = 1 if positive else 0
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_AMOUNT:
        kind = "a positive" if positive else "a non-negative"
        raise GenesisError(f"{where}: expected {kind} integer up to {MAX_AMOUNT}")
    return value


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Credit each balance to a genesis member or module account; set the supply counters."""
    balances = sections.get("balances", [])
    if not isinstance(balances, list):
        raise GenesisError("balances: expected a list")
    total = 0
    seen: set[bytes] = set()
    for i, b in enumerate(balances):
        where = f"balances[{i}]"
        if not isinstance(b, dict):
            raise GenesisError(f"{where}: expected an object")
        try:
            address = Address(bytes.fromhex(str(b.get("address", ""))))
        except ValueError as exc:
            raise GenesisError(f"{where}.address: not hex") from exc
        amount = _amount(b.get("amount"), f"{where}.amount", positive=True)
        if address in seen:
            raise GenesisError(f"{where}: {address.hex()} has a balance already")
        seen.add(address)
        if address not in MODULE_ACCOUNTS and get_member(store, address) is None:
            raise GenesisError(f"{where}: {address.hex()} is neither a genesis member nor a module account")
        try:
            keeper.add(store, address, amount)
        except TxError as exc:
            raise GenesisError(f"{where}: {exc.log}") from exc
        total += amount
    supply = sections.get("supply")
    if supply is None:
        if total:
            try:
                keeper.add_supply(store, "minted", total)
            except TxError as exc:
                raise GenesisError(f"balances: {exc.log}") from exc
        return
    if not isinstance(supply, dict) or set(supply) - set(SUPPLY_KINDS):
        raise GenesisError(f"supply: expected an object with {' and '.join(SUPPLY_KINDS)}")
    counters = {kind: _amount(supply.get(kind, 0), f"supply.{kind}", positive=False) for kind in SUPPLY_KINDS}
    if counters["minted"] - counters["burned"] != total:
        raise GenesisError(
            f"supply: minted {counters['minted']} − burned {counters['burned']} is not the balances' total {total}"
        )
    for kind in SUPPLY_KINDS:
        if kind in supply:
            store.set(keys.supply(kind), counters[kind].to_bytes(8, "big"))


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every non-zero balance and the supply counters that exist."""
    return {
        "balances": [{"address": a.hex(), "amount": n} for a, n in keeper.iter_balances(store)],
        "supply": {k: keeper.supply(store, k) for k in SUPPLY_KINDS if store.get(keys.supply(k)) is not None},
    }
