"""Account message handlers."""

from __future__ import annotations

from abci_app.accounts import events, keeper
from abci_app.accounts.errors import AccountsCode
from abci_app.accounts.messages import Burn, Mint, Transfer
from abci_app.auth import require_member, require_role
from abci_app.context import TxContext
from abci_app.errors import Code, TxError
from abci_app.identity.keeper import get_member, get_org
from abci_app.identity.roles import Role

__all__ = ["burn", "mint", "transfer"]


def _require_recipient(ctx: TxContext, address: bytes) -> None:
    member = get_member(ctx.store, address)
    if member is None:
        raise TxError(AccountsCode.UNKNOWN_ACCOUNT, f"recipient {address.hex()} is not an enrolled member")
    if member.revoked:
        raise TxError(Code.MEMBER_REVOKED, f"recipient {address.hex()} is revoked")
    org = get_org(ctx.store, member.org_id)
    if org is None or not org.active:
        raise TxError(Code.ORG_INACTIVE, f"recipient's org {member.org_id} has been removed")


def mint(ctx: TxContext, msg: Mint) -> None:
    """New money for an enrolled recipient; only a member holding the issuer role in an org
    with the issuer (settlement) capability."""
    require_role(ctx, Role.ISSUER)
    _require_recipient(ctx, msg.to)
    keeper.add(ctx.store, msg.to, msg.amount)
    keeper.add_supply(ctx.store, "minted", msg.amount)
    ctx.emit(events.MINT, issuer=ctx.signer_address.hex(), recipient=msg.to.hex(), amount=msg.amount)


def burn(ctx: TxContext, msg: Burn) -> None:
    """Burn: an issuer destroys `amount` of its own balance; the burned total grows by the same amount, so
    money stays conserved."""
    issuer = require_role(ctx, Role.ISSUER)
    keeper.subtract(ctx.store, issuer.address, msg.amount)
    keeper.add_supply(ctx.store, "burned", msg.amount)
    ctx.emit(events.BURN, issuer=issuer.address.hex(), amount=msg.amount)


def transfer(ctx: TxContext, msg: Transfer) -> None:
    """Transfer: a member moves `amount` of its balance to an enrolled, unrevoked member of an active org;
    the sum of balances is unchanged."""
    sender = require_member(ctx)
    _require_recipient(ctx, msg.to)
    keeper.subtract(ctx.store, sender.address, msg.amount)
    keeper.add(ctx.store, msg.to, msg.amount)
    ctx.emit(events.TRANSFER, sender=sender.address.hex(), recipient=msg.to.hex(), amount=msg.amount)
