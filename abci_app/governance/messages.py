"""Governance messages and proposal actions as frozen records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from abci_app.codec_util import text_field
from abci_app.errors import Code, TxError

__all__ = [
    "FROM_PROTO",
    "Action",
    "AdmitOrg",
    "ChangeParam",
    "RemoveOrg",
    "SubmitProposal",
    "UpdateValidator",
    "Vote",
    "action_from_proto",
]

MAX_VALIDATOR_POWER = 1_000_000_000_000


@dataclass(frozen=True, slots=True)
class AdmitOrg:
    org_id: str
    name: str
    root_ca_der: bytes


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


Action = AdmitOrg | RemoveOrg | UpdateValidator | ChangeParam


@dataclass(frozen=True, slots=True)
class SubmitProposal:
    title: str
    action: Action
    raw: bytes  # the protobuf message as signed, kept in the proposal record


@dataclass(frozen=True, slots=True)
class Vote:
    proposal_id: int
    approve: bool


def _org_id(text: str) -> str:
    ok = 2 <= len(text) <= 32 and all(c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in text)
    if not ok:
        raise TxError(Code.INVALID_ARGUMENT, f"org id {text!r} must match [a-z0-9-]{{2,32}}")
    return text


def action_from_proto(m: Any) -> Action:
    kind = m.WhichOneof("action")
    if kind == "admit_org":
        a = m.admit_org
        return AdmitOrg(_org_id(a.org_id), text_field(a.name, "name", 128), bytes(a.root_ca_der))
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
    raise TxError(Code.INVALID_PROPOSAL, "proposal has no action")


FROM_PROTO: dict[str, Callable[[Any], object]] = {
    "submit_proposal": lambda m: SubmitProposal(
        text_field(m.title, "title", 256), action_from_proto(m), m.SerializeToString(deterministic=True)
    ),
    "vote": lambda m: Vote(m.proposal_id, m.approve),
}
