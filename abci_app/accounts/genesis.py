"""Accounts' genesis sections: `balances` and `supply`, and their export.

"balances": [{"address": "<40 hex>", "amount": 1000}]
"supply":   {"minted": 6000000, "burned": 250}        (optional; an export always has it)

A balance belongs to a genesis member or to a module account a domain declares
(`Domain.module_accounts`: the market's and the grid's escrow). Without `supply`, the
balances are what genesis mints; with it (a chain restarted from an export), the counters
are taken as they were, and minted − burned must equal the balances' total, so an export
can neither create nor lose money. The sections are `gridledger.accounts.v1.GenesisState` in
protobuf's JSON mapping (amounts as numbers or strings; an export writes strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.accounts.v1 import genesis_pb2 as gpb

from abci_app.accounts import keeper, keys
from abci_app.codec_util import MAX_AMOUNT
from abci_app.domain import GenesisError
from abci_app.errors import TxError
from abci_app.genesis_fields import hex_address, parse_top_sections, sections_json
from abci_app.identity.keeper import get_member
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["MODULE_ACCOUNTS", "SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("balances", "supply")
SUPPLY_KINDS = ("minted", "burned")

# address → the domain whose module account it is (filled by the registry)
MODULE_ACCOUNTS: dict[bytes, str] = {}


def _amount(value: int, where: str, *, positive: bool) -> int:
    if value > MAX_AMOUNT or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise GenesisError(f"{where}: expected {kind} integer up to {MAX_AMOUNT}")
    return value


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Credit each balance to a genesis member or module account; set the supply counters."""
    state = parse_top_sections(sections, gpb.GenesisState())
    total = 0
    seen: set[bytes] = set()
    for i, b in enumerate(state.balances):
        where = f"balances[{i}]"
        address = hex_address(b.address, f"{where}.address")
        amount = _amount(b.amount, f"{where}.amount", positive=True)
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
    if not state.HasField("supply"):
        if total:
            try:
                keeper.add_supply(store, "minted", total)
            except TxError as exc:
                raise GenesisError(f"balances: {exc.log}") from exc
        return
    supply = state.supply
    counters = {kind: _amount(getattr(supply, kind), f"supply.{kind}", positive=False) for kind in SUPPLY_KINDS}
    if counters["minted"] - counters["burned"] != total:
        raise GenesisError(
            f"supply: minted {counters['minted']} − burned {counters['burned']} is not the balances' total {total}"
        )
    for kind in SUPPLY_KINDS:
        if supply.HasField(kind):
            store.set(keys.supply(kind), counters[kind].to_bytes(8, "big"))


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every non-zero balance and the supply counters that exist."""
    state = gpb.GenesisState(
        balances=[gpb.GenesisBalance(address=a.hex(), amount=n) for a, n in keeper.iter_balances(store)],
        supply=gpb.Supply(
            **{k: keeper.supply(store, k) for k in SUPPLY_KINDS if store.get(keys.supply(k)) is not None}
        ),
    )
    return sections_json(state)
