"""The registry of domain packages; the codec, dispatcher and query router read it."""

from __future__ import annotations

from abci_app.accounts import handlers as account_handlers
from abci_app.accounts import invariants as account_invariants
from abci_app.accounts import messages as account_messages
from abci_app.accounts import queries as account_queries
from abci_app.domain import Domain
from abci_app.governance import handlers as governance_handlers
from abci_app.governance import messages as governance_messages
from abci_app.governance import queries as governance_queries
from abci_app.identity import handlers as identity_handlers
from abci_app.identity import messages as identity_messages
from abci_app.identity import queries as identity_queries
from abci_app.store.branch import KVReader

__all__ = ["DOMAINS", "HANDLERS", "MESSAGE_CONVERTERS", "QUERIES", "check_invariants"]

DOMAINS: tuple[Domain, ...] = (
    Domain(
        "identity",
        identity_messages.FROM_PROTO,
        identity_handlers.HANDLERS,
        identity_queries.QUERIES,
    ),
    Domain(
        "governance",
        governance_messages.FROM_PROTO,
        governance_handlers.HANDLERS,
        governance_queries.QUERIES,
        begin_block=governance_handlers.expire_due_proposals,
    ),
    Domain(
        "accounts",
        account_messages.FROM_PROTO,
        account_handlers.HANDLERS,
        account_queries.QUERIES,
        invariants=(account_invariants.money_conserved,),
    ),
)


def _merge(tables: list[dict], what: str) -> dict:  # type: ignore[type-arg]
    merged: dict = {}  # type: ignore[type-arg]
    for table in tables:
        clash = merged.keys() & table.keys()
        if clash:
            raise RuntimeError(f"two domains register the same {what}: {sorted(map(str, clash))}")
        merged.update(table)
    return merged


def check_invariants(store: KVReader) -> list[str]:
    """Every registered invariant's violation (empty when all hold); for tests and audits."""
    return [f"{d.name}: {v}" for d in DOMAINS for inv in d.invariants if (v := inv(store)) is not None]


MESSAGE_CONVERTERS = _merge([dict(d.messages) for d in DOMAINS], "message")
HANDLERS = _merge([dict(d.handlers) for d in DOMAINS], "handler")
QUERIES = _merge([dict(d.queries) for d in DOMAINS], "query path")
