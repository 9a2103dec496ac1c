"""Authorisation checks every handler makes before it touches state."""

from __future__ import annotations

from abci_app.context import TxContext
from abci_app.errors import Code, TxError
from abci_app.identity.errors import IdentityCode
from abci_app.identity.keeper import get_org
from abci_app.identity.records import Member
from abci_app.identity.roles import Role

__all__ = ["require_admin_of", "require_member", "require_role"]


def require_member(ctx: TxContext) -> Member:
    if ctx.signer is None:
        raise TxError(Code.UNKNOWN_SIGNER, f"signer {ctx.signer_address.hex()} is not an enrolled member")
    return ctx.signer


def require_role(ctx: TxContext, role: Role) -> Member:
    """The signer, if it holds `role` and its org still has that capability (a capability
    withdrawn by governance disables the role at once)."""
    member = require_member(ctx)
    if not member.has_role(role):
        raise TxError(Code.UNAUTHORIZED, f"signer {member.address.hex()} lacks the {role.value} role")
    org = get_org(ctx.store, member.org_id)
    if org is None or not org.allows(role.value):
        raise TxError(
            Code.UNAUTHORIZED,
            f"org {member.org_id} no longer has the {role.value} capability (withdrawn by governance)",
        )
    return member


def require_admin_of(ctx: TxContext, org_id: str) -> Member:
    member = require_role(ctx, Role.ADMIN)
    if member.org_id != org_id:
        raise TxError(IdentityCode.NOT_ADMIN_OF_ORG, f"signer is an admin of {member.org_id}, not of {org_id}")
    return member
