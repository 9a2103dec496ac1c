"""The governance domain as the registry sees it."""

from __future__ import annotations

from gridledger.governance.v1 import governance_pb2

from abci_app.domain import Domain, MessageSpec
from abci_app.governance import events, genesis, handlers, keys, messages, params, queries
from abci_app.governance.errors import ERROR_RANGE, GovernanceCode

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="governance",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=GovernanceCode,
    messages=(
        MessageSpec(
            governance_pb2.SubmitProposal,
            messages.SubmitProposal,
            messages.submit_proposal_from_proto,
            handlers.submit_proposal,
        ),
        MessageSpec(governance_pb2.Vote, messages.Vote, messages.vote_from_proto, handlers.vote),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    params=params.PARAMS,
    begin_block=handlers.expire_due_proposals,
)
