"""Identity message handlers: authorise, apply, emit."""

from __future__ import annotations

from dataclasses import replace

from abci_app.auth import require_admin_of
from abci_app.context import TxContext
from abci_app.crypto import address_of
from abci_app.errors import Code, TxError
from abci_app.identity import events, keeper
from abci_app.identity.errors import IdentityCode
from abci_app.identity.messages import EnrollMember, GrantRole, RevokeMember, RevokeRole
from abci_app.identity.msp import check_validity, parse_member_cert, verify_issued_by
from abci_app.identity.records import Member
from abci_app.identity.roles import Role

__all__ = ["enroll_member", "grant_role", "revoke_member", "revoke_role"]


def enroll_member(ctx: TxContext, msg: EnrollMember) -> None:
    """Enrol (or renew) the certified key. Guarantees: the certificate chains to the org's
    root CA, is valid at block time, is not revoked, and names only roles within the org's
    capabilities; roles granted on chain survive a renewal."""
    mc = parse_member_cert(msg.certificate_der)
    # Authorisation: the certified key enrols itself (the CA's signature is the consent),
    # or an admin of the same org enrols it.
    if ctx.signer_key != mc.public_key:
        require_admin_of(ctx, mc.org_id)
    org = keeper.get_org(ctx.store, mc.org_id)
    if org is None:
        raise TxError(IdentityCode.UNKNOWN_ORG, f"no org {mc.org_id!r}")
    if not org.active:
        raise TxError(Code.ORG_INACTIVE, f"org {mc.org_id!r} has been removed")
    verify_issued_by(mc.cert, org.root_ca_der)
    check_validity(mc, ctx.block.time)
    if keeper.is_cert_revoked(ctx.store, mc.org_id, mc.serial):
        raise TxError(IdentityCode.CERT_REVOKED, f"certificate serial {mc.serial.hex()} is revoked")
    beyond = [r for r in mc.roles if not org.allows(r)]
    if beyond:
        raise TxError(
            IdentityCode.CERT_ROLE_NOT_ALLOWED,
            f"certificate names roles {beyond} beyond org {org.org_id}'s capabilities {list(org.capabilities)}",
        )
    address = address_of(mc.public_key)
    existing = keeper.get_member(ctx.store, address)
    roles = set(mc.roles)
    if existing is not None:
        if existing.revoked:
            raise TxError(Code.MEMBER_REVOKED, f"member {address.hex()} is revoked")
        if existing.cert_serial == mc.serial or existing.org_id != mc.org_id:
            raise TxError(IdentityCode.ALREADY_ENROLLED, f"member {address.hex()} is already enrolled")
        roles |= set(existing.roles)  # a renewed certificate keeps roles granted on chain
    member = Member(
        address=address,
        public_key=mc.public_key,
        org_id=org.org_id,
        roles=tuple(sorted(roles)),
        cert_serial=mc.serial,
        not_before=mc.not_before,
        not_after=mc.not_after,
        revoked=False,
        common_name=mc.common_name,
        enrolled_at=ctx.block.time,
    )
    keeper.put_member(ctx.store, member)
    ctx.emit(
        events.MEMBER_ENROLLED,
        org=org.org_id,
        member=address.hex(),
        roles=",".join(member.roles),
        serial=mc.serial.hex(),
        renewal=existing is not None,
    )


def _target(ctx: TxContext, address: bytes) -> Member:
    member = keeper.get_member(ctx.store, address)
    if member is None:
        raise TxError(IdentityCode.UNKNOWN_MEMBER, f"no member {address.hex()}")
    require_admin_of(ctx, member.org_id)
    if member.revoked:
        raise TxError(Code.MEMBER_REVOKED, f"member {address.hex()} is already revoked")
    return member


def revoke_member(ctx: TxContext, msg: RevokeMember) -> None:
    """RevokeMember: an admin of the member's org revokes it and its certificate, for good (the key can no
    longer sign and the certificate never enrols again)."""
    member = _target(ctx, msg.member)
    keeper.put_member(ctx.store, replace(member, revoked=True))
    keeper.revoke_cert(ctx.store, member.org_id, member.cert_serial)
    ctx.emit(events.MEMBER_REVOKED, org=member.org_id, member=member.address.hex(), reason=msg.reason)


def _role(text: str) -> Role:
    role = Role.parse(text)
    if role is None:
        raise TxError(Code.INVALID_ARGUMENT, f"unknown role {text!r}; roles: {[r.value for r in Role]}")
    return role


def grant_role(ctx: TxContext, msg: GrantRole) -> None:
    """Grant a role to a member of the signer's org. Guarantees: only an admin of that org,
    and only a role within the org's capabilities (no admin can widen its own org's power)."""
    member = _target(ctx, msg.member)
    role = _role(msg.role)
    org = keeper.get_org(ctx.store, member.org_id)
    if org is None or not org.allows(role.value):
        caps = [] if org is None else list(org.capabilities)
        raise TxError(
            IdentityCode.ROLE_NOT_ALLOWED,
            f"role {role.value} is beyond org {member.org_id}'s capabilities {caps}; only governance changes them",
        )
    roles = tuple(sorted(set(member.roles) | {role.value}))
    keeper.put_member(ctx.store, replace(member, roles=roles))
    ctx.emit(events.ROLE_GRANTED, org=member.org_id, member=member.address.hex(), role=role.value)


def revoke_role(ctx: TxContext, msg: RevokeRole) -> None:
    """RevokeRole: an admin of the member's org takes a role the unrevoked member holds (ROLE_NOT_HELD
    otherwise)."""
    member = _target(ctx, msg.member)
    role = _role(msg.role)
    if role.value not in member.roles:
        raise TxError(IdentityCode.ROLE_NOT_HELD, f"member {member.address.hex()} does not hold {role.value}")
    roles = tuple(r for r in member.roles if r != role.value)
    keeper.put_member(ctx.store, replace(member, roles=roles))
    ctx.emit(events.ROLE_REVOKED, org=member.org_id, member=member.address.hex(), role=role.value)
