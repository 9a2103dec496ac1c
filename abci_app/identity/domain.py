"""The identity domain as the registry sees it."""

from __future__ import annotations

from gridledger.identity.v1 import identity_pb2

from abci_app.domain import Domain, MessageSpec
from abci_app.identity import events, genesis, handlers, keys, messages, queries
from abci_app.identity.errors import ERROR_RANGE, IdentityCode

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="identity",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=IdentityCode,
    messages=(
        MessageSpec(
            identity_pb2.EnrollMember, messages.EnrollMember, messages.enroll_member_from_proto, handlers.enroll_member
        ),
        MessageSpec(
            identity_pb2.RevokeMember, messages.RevokeMember, messages.revoke_member_from_proto, handlers.revoke_member
        ),
        MessageSpec(identity_pb2.GrantRole, messages.GrantRole, messages.grant_role_from_proto, handlers.grant_role),
        MessageSpec(
            identity_pb2.RevokeRole, messages.RevokeRole, messages.revoke_role_from_proto, handlers.revoke_role
        ),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
)
