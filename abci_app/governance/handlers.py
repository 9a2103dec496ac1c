"""Governance: submit, vote, tally, execute; proposals expire at their deadline."""

from __future__ import annotations

from dataclasses import replace

from gridledger.governance.v1 import governance_pb2

from abci_app.auth import require_role
from abci_app.context import TxContext
from abci_app.errors import TxError
from abci_app.governance import events, keeper, upgrades
from abci_app.governance.errors import GovernanceCode
from abci_app.governance.messages import (
    Action,
    AdmitDeviceCa,
    AdmitOrg,
    CancelUpgrade,
    ChangeParam,
    RemoveOrg,
    RevokeDeviceCa,
    ScheduleUpgrade,
    SetOrgCapabilities,
    SubmitProposal,
    UpdateValidator,
    Vote,
    action_from_proto,
)
from abci_app.governance.params import MAX_UPGRADE_DELAY
from abci_app.governance.records import Proposal, Status, UpgradePlan
from abci_app.identity import keeper as identity
from abci_app.identity.errors import IdentityCode
from abci_app.identity.msp import parse_ca_cert
from abci_app.identity.records import DeviceCa, Org
from abci_app.identity.roles import Role
from abci_app.params import PARAM_BOUNDS, domain_param, load_params, save_params, set_domain_param
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event, OrgId, ValidatorUpdate

__all__ = ["expire_due_proposals", "submit_proposal", "vote"]


def _check_action(ctx: TxContext, action: Action) -> None:
    """Raise INVALID_PROPOSAL if `action` cannot be executed against the current state."""
    store = ctx.store
    if isinstance(action, AdmitOrg):
        if identity.get_org(store, action.org_id) is not None:
            raise TxError(IdentityCode.ORG_EXISTS, f"org {action.org_id!r} already exists")
        parse_ca_cert(action.root_ca_der)
    elif isinstance(action, RemoveOrg):
        org = identity.get_org(store, action.org_id)
        if org is None or not org.active:
            raise TxError(IdentityCode.UNKNOWN_ORG, f"no active org {action.org_id!r}")
        if len(identity.active_org_ids(store)) <= 1:
            raise TxError(GovernanceCode.INVALID_PROPOSAL, "cannot remove the last org")
    elif isinstance(action, UpdateValidator):
        current = dict(keeper.iter_validators(store))
        if action.power == 0 and action.pub_key not in current:
            raise TxError(GovernanceCode.INVALID_PROPOSAL, f"validator {action.pub_key.hex()} is not in the set")
        remaining = {k: p for k, p in current.items() if k != action.pub_key}
        if action.power == 0 and not remaining:
            raise TxError(GovernanceCode.INVALID_PROPOSAL, "cannot remove the last validator")
    elif isinstance(action, SetOrgCapabilities):
        org = identity.get_org(store, action.org_id)
        if org is None or not org.active:
            raise TxError(IdentityCode.UNKNOWN_ORG, f"no active org {action.org_id!r}")
    elif isinstance(action, AdmitDeviceCa):
        if identity.get_device_ca(store, action.ca_id) is not None:
            raise TxError(IdentityCode.DEVICE_CA_EXISTS, f"device CA {action.ca_id!r} was already admitted")
        if action.org_id:
            org = identity.get_org(store, action.org_id)
            if org is None or not org.active:
                raise TxError(IdentityCode.UNKNOWN_ORG, f"no active org {action.org_id!r}")
        parse_ca_cert(action.ca_der)
    elif isinstance(action, RevokeDeviceCa):
        ca = identity.get_device_ca(store, action.ca_id)
        if ca is None or ca.revoked:
            raise TxError(IdentityCode.UNKNOWN_DEVICE_CA, f"no admitted, unrevoked device CA {action.ca_id!r}")
    elif isinstance(action, ScheduleUpgrade | CancelUpgrade):
        _check_upgrade(ctx, action)
    elif action.name in PARAM_BOUNDS:
        load_params(store).with_value(action.name, action.value)
    else:
        set_domain_param(store.branch(), action.name, action.value)  # validates only


def _check_upgrade(ctx: TxContext, action: ScheduleUpgrade | CancelUpgrade) -> None:
    """A plan's height is in the future and bounded, one plan at a time, a name runs once; a
    cancel names the pending plan."""
    store = ctx.store
    plan = upgrades.get_plan(store)
    if isinstance(action, CancelUpgrade):
        if plan is None or plan.name != action.name:
            pending = "no upgrade is planned" if plan is None else f"the pending plan is {plan.name!r}"
            raise TxError(GovernanceCode.UNKNOWN_UPGRADE_PLAN, f"no pending upgrade {action.name!r}: {pending}")
        return
    if upgrades.is_applied(store, action.name):
        raise TxError(GovernanceCode.UPGRADE_ALREADY_APPLIED, f"upgrade {action.name!r} ran already")
    if plan is not None:
        raise TxError(
            GovernanceCode.UPGRADE_PLAN_PENDING,
            f"upgrade {plan.name!r} is planned at height {plan.height}; cancel it first",
        )
    delay = domain_param(store, MAX_UPGRADE_DELAY)
    if not ctx.block.height < action.height <= ctx.block.height + delay:
        raise TxError(
            GovernanceCode.UPGRADE_HEIGHT_INVALID,
            f"upgrade height {action.height} must be above the current height {ctx.block.height} "
            f"and at most {delay} blocks ahead ({MAX_UPGRADE_DELAY})",
        )


def _execute(ctx: TxContext, action: Action, proposal_id: int) -> None:
    _check_action(ctx, action)
    store = ctx.store
    if isinstance(action, AdmitOrg):
        org = Org(OrgId(action.org_id), action.name, action.root_ca_der, True, ctx.block.time, action.capabilities)
        identity.put_org(store, org)
        ctx.emit(events.ORG_ADMITTED, org=org.org_id, name=org.name)
    elif isinstance(action, RemoveOrg):
        removed = identity.get_org(store, action.org_id)
        assert removed is not None
        identity.put_org(store, replace(removed, active=False))
        ctx.emit(events.ORG_REMOVED, org=removed.org_id)
    elif isinstance(action, UpdateValidator):
        keeper.set_validator(store, action.pub_key, action.power)
        ctx.validator_updates.append(ValidatorUpdate(action.pub_key, action.power))
        ctx.emit(events.VALIDATOR_UPDATED, pub_key=action.pub_key.hex(), power=action.power)
    elif isinstance(action, SetOrgCapabilities):
        target = identity.get_org(store, action.org_id)
        assert target is not None
        identity.put_org(store, replace(target, capabilities=action.capabilities))
        ctx.emit(events.CAPABILITIES_SET, org=target.org_id, capabilities=",".join(action.capabilities))
    elif isinstance(action, AdmitDeviceCa):
        ca = DeviceCa(action.ca_id, action.name, action.org_id, action.ca_der, ctx.block.time, 0)
        identity.put_device_ca(store, ca)
        ctx.emit(events.DEVICE_CA_ADMITTED, ca=ca.ca_id, name=ca.name, org=ca.org_id)
    elif isinstance(action, RevokeDeviceCa):
        revoked = identity.get_device_ca(store, action.ca_id)
        assert revoked is not None
        identity.put_device_ca(store, replace(revoked, revoked_at=max(ctx.block.time, 1)))
        ctx.emit(events.DEVICE_CA_REVOKED, ca=revoked.ca_id)
    elif isinstance(action, ScheduleUpgrade):
        upgrades.set_plan(store, UpgradePlan(action.name, action.height, action.info, proposal_id))
        ctx.emit(events.UPGRADE_SCHEDULED, name=action.name, height=action.height, info=action.info)
    elif isinstance(action, CancelUpgrade):
        cancelled = upgrades.get_plan(store)
        assert cancelled is not None
        upgrades.clear_plan(store)
        ctx.emit(events.UPGRADE_CANCELLED, name=cancelled.name, height=cancelled.height)
    elif isinstance(action, ChangeParam):
        if action.name in PARAM_BOUNDS:
            save_params(store, load_params(store).with_value(action.name, action.value))
        else:
            set_domain_param(store, action.name, action.value)
        ctx.emit(events.PARAM_CHANGED, name=action.name, value=action.value)


def submit_proposal(ctx: TxContext, msg: SubmitProposal) -> None:
    admin = require_role(ctx, Role.ADMIN)
    _check_action(ctx, msg.action)
    pid = keeper.next_proposal_id(ctx.store)
    proposal = Proposal(
        id=pid,
        proposer=admin.address,
        proposer_org=admin.org_id,
        title=msg.title,
        action=msg.raw,
        submitted_at=ctx.block.time,
        deadline=ctx.block.time + ctx.params.voting_period_seconds,
        status=Status.VOTING,
        yes_orgs=(),
        no_orgs=(),
        result="",
        # the new record layout, from the height at which its upgrade ran
        action_kind=msg.kind if upgrades.is_applied(ctx.store, upgrades.PROPOSAL_KINDS) else "",
    )
    keeper.put_proposal(ctx.store, proposal)
    ctx.emit(
        events.PROPOSAL_SUBMITTED,
        proposal_id=pid,
        proposer=admin.address.hex(),
        org=admin.org_id,
        action=type(msg.action).__name__,
        deadline=proposal.deadline,
    )


def vote(ctx: TxContext, msg: Vote) -> None:
    admin = require_role(ctx, Role.ADMIN)
    proposal = keeper.get_proposal(ctx.store, msg.proposal_id)
    if proposal is None:
        raise TxError(GovernanceCode.UNKNOWN_PROPOSAL, f"no proposal {msg.proposal_id}")
    if proposal.status != Status.VOTING or ctx.block.time >= proposal.deadline:
        raise TxError(GovernanceCode.PROPOSAL_CLOSED, f"proposal {msg.proposal_id} is {proposal.status.name.lower()}")
    org = admin.org_id
    if org in proposal.yes_orgs or org in proposal.no_orgs:
        raise TxError(GovernanceCode.ALREADY_VOTED, f"org {org} has already voted on proposal {msg.proposal_id}")
    if msg.approve:
        proposal = replace(proposal, yes_orgs=tuple(sorted((*proposal.yes_orgs, org))))
    else:
        proposal = replace(proposal, no_orgs=tuple(sorted((*proposal.no_orgs, org))))
    ctx.emit(events.PROPOSAL_VOTE, proposal_id=proposal.id, org=org, approve=msg.approve)
    keeper.put_proposal(ctx.store, _tally(ctx, proposal))


def _tally(ctx: TxContext, proposal: Proposal) -> Proposal:
    active = set(identity.active_org_ids(ctx.store))
    n = len(active)
    yes = len(active.intersection(proposal.yes_orgs))
    no = len(active.intersection(proposal.no_orgs))
    num, den = ctx.params.quorum_numerator, ctx.params.quorum_denominator
    if yes * den > num * n:
        action = action_from_proto(governance_pb2.SubmitProposal.FromString(proposal.action))
        # Execute on a branch: a failed execution leaves no writes, and the vote still counts.
        outer = ctx.store
        ctx.store = outer.branch()
        try:
            _execute(ctx, action, proposal.id)
        except TxError as exc:
            ctx.store = outer
            ctx.emit(events.PROPOSAL_FAILED, proposal_id=proposal.id, code=int(exc.code), reason=exc.log)
            return replace(proposal, status=Status.FAILED, result=exc.log)
        ctx.store.merge_into(outer)
        ctx.store = outer
        ctx.emit(events.PROPOSAL_PASSED, proposal_id=proposal.id)
        return replace(proposal, status=Status.PASSED, result="executed")
    if (n - no) * den <= num * n:
        ctx.emit(events.PROPOSAL_REJECTED, proposal_id=proposal.id)
        return replace(proposal, status=Status.REJECTED, result="threshold unreachable")
    return proposal


def expire_due_proposals(store: Branch, block: BlockInfo) -> list[Event]:
    """Close every open proposal whose voting deadline has passed (run before a block's txs)."""
    out: list[Event] = []
    for pid in keeper.due_proposal_ids(store, block.time):
        proposal = keeper.get_proposal(store, pid)
        if proposal is None or proposal.status != Status.VOTING:
            continue
        keeper.put_proposal(store, replace(proposal, status=Status.EXPIRED, result="deadline passed"))
        out.append(Event.of(events.PROPOSAL_EXPIRED, proposal_id=pid))
    return out
