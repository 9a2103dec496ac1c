"""Client side of the governance domain: message builders (no abci_app imports).

A proposal is a `SubmitProposal` with one action; each builder below makes one.
"""

from __future__ import annotations

from collections.abc import Sequence

from gridledger.governance.v1 import governance_pb2

__all__ = [
    "admit_org",
    "cancel_upgrade",
    "change_param",
    "remove_org",
    "schedule_upgrade",
    "set_capabilities",
    "update_validator",
    "vote",
]

G = governance_pb2


def admit_org(title: str, org_id: str, name: str, root_ca_der: bytes, capabilities: Sequence[str]) -> G.SubmitProposal:
    """Propose admitting an org with its root CA (DER) and the roles its members may hold."""
    action = G.AdmitOrg(org_id=org_id, name=name, root_ca_der=root_ca_der, capabilities=list(capabilities))
    return G.SubmitProposal(title=title, admit_org=action)


def admit_device_ca(title: str, ca_id: str, name: str, org_id: str, ca_der: bytes) -> G.SubmitProposal:
    """Propose admitting a device CA (DER) under `ca_id`: an org's own (`org_id`) or a maker's ('')."""
    action = G.AdmitDeviceCa(ca_id=ca_id, name=name, org_id=org_id, ca_der=ca_der)
    return G.SubmitProposal(title=title, admit_device_ca=action)


def revoke_device_ca(title: str, ca_id: str) -> G.SubmitProposal:
    """Propose revoking a device CA: the devices it certified are no longer certified."""
    return G.SubmitProposal(title=title, revoke_device_ca=G.RevokeDeviceCa(ca_id=ca_id))


def remove_org(title: str, org_id: str) -> G.SubmitProposal:
    """Propose removing an org (its members can no longer sign)."""
    return G.SubmitProposal(title=title, remove_org=G.RemoveOrg(org_id=org_id))


def update_validator(title: str, pub_key_ed25519: bytes, power: int) -> G.SubmitProposal:
    """Propose a validator's voting power (0 removes it)."""
    return G.SubmitProposal(
        title=title, update_validator=G.UpdateValidator(pub_key_ed25519=pub_key_ed25519, power=power)
    )


def set_capabilities(title: str, org_id: str, capabilities: Sequence[str]) -> G.SubmitProposal:
    """Propose the roles an org's members may hold."""
    action = G.SetOrgCapabilities(org_id=org_id, capabilities=list(capabilities))
    return G.SubmitProposal(title=title, set_org_capabilities=action)


def change_param(title: str, name: str, value: int) -> G.SubmitProposal:
    """Propose a governed parameter's new value (within its declared bounds)."""
    return G.SubmitProposal(title=title, change_param=G.ChangeParam(name=name, value=value))


def schedule_upgrade(title: str, name: str, height: int, info: str) -> G.SubmitProposal:
    """Propose a software upgrade `name` at block `height` (every node must run a version
    implementing it from that height; `info` tells operators where to get it)."""
    return G.SubmitProposal(title=title, schedule_upgrade=G.ScheduleUpgrade(name=name, height=height, info=info))


def cancel_upgrade(title: str, name: str) -> G.SubmitProposal:
    """Propose cancelling the pending upgrade plan `name` before its height."""
    return G.SubmitProposal(title=title, cancel_upgrade=G.CancelUpgrade(name=name))


def vote(proposal_id: int, approve: bool) -> G.Vote:
    """The signer's org votes on a proposal."""
    return G.Vote(proposal_id=proposal_id, approve=approve)
