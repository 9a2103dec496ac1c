"""The accounts domain as the registry sees it."""

from __future__ import annotations

from gridledger.accounts.v1 import accounts_pb2

from abci_app.accounts import events, genesis, handlers, invariants, keys, messages, queries
from abci_app.accounts.errors import ERROR_RANGE, AccountsCode
from abci_app.domain import Domain, MessageSpec

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="accounts",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=AccountsCode,
    messages=(
        MessageSpec(accounts_pb2.Mint, messages.Mint, messages.mint_from_proto, handlers.mint),
        MessageSpec(accounts_pb2.Burn, messages.Burn, messages.burn_from_proto, handlers.burn),
        MessageSpec(accounts_pb2.Transfer, messages.Transfer, messages.transfer_from_proto, handlers.transfer),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    invariants=(invariants.money_conserved,),
)
