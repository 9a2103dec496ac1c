"""Governance messages and proposal actions as frozen records."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.governance.v1 import governance_pb2

from abci_app.codec_util import bytes_field, text_field
from abci_app.errors import Code, TxError
from abci_app.governance.errors import GovernanceCode
from abci_app.governance.upgrades import MAX_INFO_BYTES, is_upgrade_name
from abci_app.identity.msp import is_org_id
from abci_app.identity.roles import parse_capabilities

__all__ = [
    "Action",
    "AdmitDeviceCa",
    "AdmitOrg",
    "CancelUpgrade",
    "ChangeParam",
    "RemoveOrg",
    "RevokeDeviceCa",
    "ScheduleUpgrade",
    "SetOrgCapabilities",
    "SubmitProposal",
    "UpdateValidator",
    "Vote",
    "action_from_proto",
    "submit_proposal_from_proto",
    "vote_from_proto",
]

MAX_VALIDATOR_POWER = 1_000_000_000_000
MAX_PROPOSAL_ID = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class AdmitOrg:
    org_id: str
    name: str
    root_ca_der: bytes
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemoveOrg:
    org_id: str


@dataclass(frozen=True, slots=True)
class UpdateValidator:
    pub_key: bytes
    power: int


@dataclass(frozen=True, slots=True)
class ChangeParam:
    name: str
    value: int


@dataclass(frozen=True, slots=True)
class SetOrgCapabilities:
    org_id: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AdmitDeviceCa:
    ca_id: str
    name: str
    org_id: str  # '' : a manufacturer's CA
    ca_der: bytes


@dataclass(frozen=True, slots=True)
class RevokeDeviceCa:
    ca_id: str


@dataclass(frozen=True, slots=True)
class ScheduleUpgrade:
    name: str
    height: int
    info: str


@dataclass(frozen=True, slots=True)
class CancelUpgrade:
    name: str


Action = (
    AdmitOrg
    | RemoveOrg
    | UpdateValidator
    | ChangeParam
    | SetOrgCapabilities
    | AdmitDeviceCa
    | RevokeDeviceCa
    | ScheduleUpgrade
    | CancelUpgrade
)


@dataclass(frozen=True, slots=True)
class SubmitProposal:
    title: str
    action: Action
    raw: bytes  # the protobuf message as signed, kept in the proposal record
    kind: str = ""  # the action's oneof field name (e.g. "admit_org")


@dataclass(frozen=True, slots=True)
class Vote:
    proposal_id: int
    approve: bool


def _org_id(text: str) -> str:
    if not is_org_id(text):
        raise TxError(Code.INVALID_ARGUMENT, f"org id {text[:40]!r} must match [a-z0-9-]{{2,32}}")
    return text


def _capabilities(names: list[str]) -> tuple[str, ...]:
    caps = parse_capabilities([text_field(n, "capability", 32) for n in names[:16]])
    if isinstance(caps, str) or len(names) > 16:
        raise TxError(Code.INVALID_ARGUMENT, caps if isinstance(caps, str) else "at most 16 capabilities")
    return caps


def action_from_proto(m: governance_pb2.SubmitProposal) -> Action:
    kind = m.WhichOneof("action")
    if kind == "admit_org":
        a = m.admit_org
        return AdmitOrg(
            _org_id(a.org_id),
            text_field(a.name, "name", 128),
            bytes_field(a.root_ca_der, "root_ca_der", 8_192),
            _capabilities(list(a.capabilities)),
        )
    if kind == "remove_org":
        return RemoveOrg(_org_id(m.remove_org.org_id))
    if kind == "update_validator":
        u = m.update_validator
        if len(u.pub_key_ed25519) != 32:
            raise TxError(Code.INVALID_ARGUMENT, "validator key must be a 32-byte Ed25519 public key")
        if not 0 <= u.power <= MAX_VALIDATOR_POWER:
            raise TxError(Code.INVALID_ARGUMENT, f"validator power must be in [0, {MAX_VALIDATOR_POWER}]")
        return UpdateValidator(bytes(u.pub_key_ed25519), u.power)
    if kind == "change_param":
        return ChangeParam(text_field(m.change_param.name, "name", 64), m.change_param.value)
    if kind == "set_org_capabilities":
        s = m.set_org_capabilities
        return SetOrgCapabilities(_org_id(s.org_id), _capabilities(list(s.capabilities)))
    if kind == "admit_device_ca":
        d = m.admit_device_ca
        return AdmitDeviceCa(
            _org_id(d.ca_id),
            text_field(d.name, "name", 128),
            "" if not d.org_id else _org_id(d.org_id),
            bytes_field(d.ca_der, "ca_der", 8_192),
        )
    if kind == "revoke_device_ca":
        return RevokeDeviceCa(_org_id(m.revoke_device_ca.ca_id))
    if kind == "schedule_upgrade":
        plan = m.schedule_upgrade
        return ScheduleUpgrade(_upgrade_name(plan.name), plan.height, text_field(plan.info, "info", MAX_INFO_BYTES))
    if kind == "cancel_upgrade":
        return CancelUpgrade(_upgrade_name(m.cancel_upgrade.name))
    raise TxError(GovernanceCode.INVALID_PROPOSAL, "proposal has no action")


def _upgrade_name(text: str) -> str:
    if not is_upgrade_name(text):
        raise TxError(Code.INVALID_ARGUMENT, f"upgrade name {text[:70]!r} must match [a-z0-9][a-z0-9._-]{{0,63}}")
    return text


def submit_proposal_from_proto(m: governance_pb2.SubmitProposal) -> SubmitProposal:
    return SubmitProposal(
        text_field(m.title, "title", 256),
        action_from_proto(m),
        m.SerializeToString(deterministic=True),
        m.WhichOneof("action") or "",
    )


def vote_from_proto(m: governance_pb2.Vote) -> Vote:
    if m.proposal_id > MAX_PROPOSAL_ID:
        raise TxError(Code.INVALID_ARGUMENT, f"proposal id must be at most {MAX_PROPOSAL_ID}")
    return Vote(m.proposal_id, m.approve)
