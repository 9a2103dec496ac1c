"""Authorisation checks every handler makes before it touches state."""

from __future__ import annotations

from abci_app.context import TxContext
from abci_app.errors import Code, TxError
from abci_app.identity.records import Member
from abci_app.identity.roles import Role

__all__ = ["require_admin_of", "require_member", "require_role"]


def require_member(ctx: TxContext) -> Member:
    if ctx.signer is None:
        raise TxError(Code.UNKNOWN_SIGNER, f"signer {ctx.signer_address.hex()} is not an enrolled member")
    return ctx.signer


def require_role(ctx: TxContext, role: Role) -> Member:
    member = require_member(ctx)
    if not member.has_role(role):
        raise TxError(Code.UNAUTHORIZED, f"signer {member.address.hex()} lacks the {role.value} role")
    return member


def require_admin_of(ctx: TxContext, org_id: str) -> Member:
    member = require_role(ctx, Role.ADMIN)
    if member.org_id != org_id:
        raise TxError(Code.UNAUTHORIZED, f"signer is an admin of {member.org_id}, not of {org_id}")
    return member
