"""Who may be the supplier of last resort: the account settlement charges for feed-in and
for imbalance surplus, so it must be a settlement org's treasury, not any member.

Eligible: an enrolled member, not revoked, its certificate valid at block time, holding the
issuer role in an active org that still has the issuer capability (what `require_role(ISSUER)`
asks of a signer). Checked when the operator publishes tariffs (SetTariffs) and again at
each settlement: a supplier that lost it since is charged nothing, what it owes is recorded
on the members' statements (`Statement.unreceived`).
"""

from __future__ import annotations

from abci_app.identity.keeper import get_member, get_org
from abci_app.identity.roles import Role
from abci_app.store.branch import KVReader

__all__ = ["SUPPLIER_ROLE", "supplier_problem"]

SUPPLIER_ROLE = Role.ISSUER


def supplier_problem(store: KVReader, address: bytes, now: int) -> str | None:
    """Why `address` cannot be the supplier of last resort at block time `now` (None: it can)."""
    member = get_member(store, address)
    if member is None:
        return f"supplier {address.hex()} is not an enrolled member"
    if member.revoked:
        return f"supplier {address.hex()} has been revoked"
    if not member.not_before <= now <= member.not_after:
        return f"supplier {address.hex()}'s certificate is not valid at {now}"
    if not member.has_role(SUPPLIER_ROLE.value):
        return f"supplier {address.hex()} lacks the {SUPPLIER_ROLE.value} role"
    org = get_org(store, member.org_id)
    if org is None or not org.active or not org.allows(SUPPLIER_ROLE.value):
        return f"supplier's org {member.org_id} is not an active org with the {SUPPLIER_ROLE.value} capability"
    return None
