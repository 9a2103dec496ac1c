"""The upgrade "proposal-kinds": proposal records gain `action_kind` (the action's name).

Before it, a stored Proposal does not say what it does without decoding its serialised action;
the migration re-encodes every stored proposal with the field filled from its action, and from
then on governance writes it on every new proposal (abci_app/governance/handlers.py). Old
proposals read exactly as before, plus the new field.
"""

from __future__ import annotations

from dataclasses import replace

from google.protobuf.message import DecodeError
from gridledger.governance.v1 import governance_pb2

from abci_app.governance import keeper
from abci_app.governance.upgrades import PROPOSAL_KINDS
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration

__all__ = ["MIGRATION", "action_kind"]


def action_kind(action: bytes) -> str:
    """The oneof field name of a serialised SubmitProposal ('' if it has none or does not decode)."""
    try:
        return governance_pb2.SubmitProposal.FromString(action).WhichOneof("action") or ""
    except DecodeError:
        return ""


def _apply(store: Branch, block: BlockInfo) -> list[Event]:
    """Re-encode every proposal without `action_kind`, in id order (the runner emits upgrade_applied)."""
    for proposal in list(keeper.iter_proposals(store)):
        if not proposal.action_kind:
            keeper.put_proposal(store, replace(proposal, action_kind=action_kind(proposal.action)))
    return []


MIGRATION = Migration(PROPOSAL_KINDS, _apply)
