"""A retirement's export: everything an auditor needs to check a retirement offline, with
nothing but the genesis file (the bridge's `CertificatesApi.ExportRetirement` builds one;
`verify_retirement_export` checks it).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from gridledger.api.v1 import certificates_api_pb2
from gridledger.certificates.v1 import certificates_pb2
from gridledger.state.v1 import state_pb2
from gridwire.contract.certificates import retirement_key
from gridwire.proof import Proof, verify_proof

from clients.lightclient import (
    ED25519_TYPE,
    TrustStep,
    Validator,
    header_hash,
    validator_set_hash,
    verify_commit,
    verify_trust_path,
)
from clients.proof import ProofError

__all__ = ["build_export", "retirement_key", "verify_retirement_export"]


def build_export(  # noqa: PLR0917 - the pieces of one export, checked together
    answer: dict[str, Any],
    record: bytes,
    key: bytes,
    height: int,
    app_hash: bytes,
    signed: dict[str, Any],
    validators: list[dict[str, Any]],
    steps: list[TrustStep],
) -> certificates_api_pb2.RetirementExport:
    """The export of a proven `/retirement/<id>` answer: the record, its proof, the signed header
    of block height + 1 with its validators, and the trust steps from the genesis set."""
    ops = (answer.get("proofOps") or {}).get("ops") or []
    proof = state_pb2.TrieProof.FromString(base64.b64decode(ops[0].get("data") or ""))
    signed_header = signed["signed_header"]
    header = signed_header["header"]
    chain_id = str(header["chain_id"])
    return certificates_api_pb2.RetirementExport(
        retirement=certificates_pb2.Retirement.FromString(record),
        record=record,
        key=key,
        height=height,
        proof=proof,
        app_hash=app_hash,
        chain_id=chain_id,
        signed_header_json=_json({"header": header, "commit": signed_header["commit"]}),
        validators_json=_json(validators),
        header_hash=header_hash(header),
        trust_steps=[
            certificates_api_pb2.TrustStep(
                signed_header_json=_json({"header": step.header, "commit": step.commit}),
                validators_json=_json([_validator_json(v) for v in step.validators]),
            )
            for step in steps
        ],
    )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _validator_json(v: Validator) -> dict[str, Any]:
    """A validator in the `validators` RPC's JSON form (what `Validator.from_json` reads)."""
    return {
        "address": v.address.hex().upper(),
        "pub_key": {"type": ED25519_TYPE, "value": base64.b64encode(v.pub_key).decode()},
        "voting_power": str(v.power),
    }


def verify_retirement_export(
    export: certificates_api_pb2.RetirementExport, trusted_validator_set_hash: bytes
) -> certificates_pb2.Retirement:
    """Check a retirement export offline and return its retirement. Guarantees: the export's
    trust steps lead from the trusted validator set (the genesis file's) to the exported
    header's set by the light client's rules (`clients.lightclient.verify_trust_path`: the
    first step signed by the trusted set, heights increasing, each step adjacent to the one
    before and signed by the set it named next, or signed by more than 1/3 of its set's power,
    and always by more than 2/3 of its own set, all for the export's chain id), the last
    step's own or next set being the exported header's; without steps, the exported header's
    set is the trusted one. More than 2/3 of that set's power signed the header of block
    height + 1 (which hashes to the signed block id and carries app_hash); the record is what
    the state under app_hash holds at the retirement's key; and the retirement is that record.
    Raises ProofError (clients.proof) otherwise.

    This proves history offline: an unbroken chain of signatures from the genesis set, with
    no trusting period and no clock. The light client's trusting period protects only live
    clients, against long-range attacks (validators that left long ago signing a fork with
    their old keys); an auditor holding the genesis file checks what was signed, whenever."""
    try:
        signed = json.loads(export.signed_header_json)
        validators = [Validator.from_json(v) for v in json.loads(export.validators_json)]
        header, commit = signed["header"], signed["commit"]
        steps = [_trust_step(s) for s in export.trust_steps]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProofError(f"malformed export: {exc}") from exc
    walked = verify_trust_path(export.chain_id, trusted_validator_set_hash, steps)
    if walked is None:
        if validator_set_hash(validators) != trusted_validator_set_hash:
            raise ProofError("the export's validator set is not the trusted one")
    else:
        last = walked[0]
        if last.height > export.height + 1 or (last.height == export.height + 1 and last.hash != export.header_hash):
            raise ProofError(f"trust step {last.height} does not lead to the exported header {export.height + 1}")
        if validator_set_hash(validators) not in (last.validators_hash, last.next_validators_hash):
            raise ProofError("the trust steps do not end at the exported header's validator set")
    checked = verify_commit(export.chain_id, header, commit, validators)
    if checked.height != export.height + 1 or checked.hash != export.header_hash:
        raise ProofError(f"the header is not block {export.height + 1} with the exported hash")
    if checked.app_hash != export.app_hash:
        raise ProofError("the header does not carry the exported app hash")
    record = certificates_pb2.Retirement.FromString(export.record)
    if export.key != retirement_key(record.retirement_id) or record != export.retirement:
        raise ProofError("the record is not the exported retirement at its own key")
    p = export.proof
    if not verify_proof(
        export.app_hash, export.key, export.record, Proof(tuple(p.levels), p.other_key_hash, p.other_value_hash)
    ):
        raise ProofError("the Merkle proof does not match the app hash")
    return record


def _trust_step(step: certificates_api_pb2.TrustStep) -> TrustStep:
    signed = json.loads(step.signed_header_json)
    header, commit = signed["header"], signed["commit"]
    if not isinstance(header, dict) or not isinstance(commit, dict):
        raise TypeError("a trust step's header and commit must be JSON objects")
    validators = tuple(Validator.from_json(v) for v in json.loads(step.validators_json))
    return TrustStep(header, commit, validators)
