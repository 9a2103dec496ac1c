"""Retirement exports across validator-set changes: the trust steps the bridge's light client
builds lead an offline checker holding only the genesis set to the exported header's set.
Synthetic chains from tests/unit/test_lightclient.py's fake node."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import pytest
from gridledger.api.v1 import certificates_api_pb2, reads_pb2
from gridledger.certificates.v1 import certificates_pb2
from gridledger.state.v1 import state_pb2
from gridwire.proof import ZERO, leaf_hash, nibble, node_hash

from clients.lightclient import LightClient, TrustStep, Validator, header_hash, validator_set_hash
from clients.proof import PROOF_OP_TYPE, ProofError
from clients.retirement_export import build_export, retirement_key, verify_retirement_export
from clients.servers.api_export import export_handler
from tests.unit.test_lightclient import CHAIN, A, FakeNode, _client, _keys, _set

# the genesis set A (4 validators) signs 1-10; M keeps two of A and adds two (11-20); C is
# M's two newcomers and two more (21 on): nothing of A is left
M = _set([k for _v, k in A[:2]] + _keys(2, 21))
C = _set([k for _v, k in M if k not in {k2 for _v2, k2 in A}] + _keys(2, 22))
GENESIS = validator_set_hash([v for v, _k in A])
RID = 7


def _sets(h: int) -> Any:
    return A if h <= 10 else M if h <= 20 else C


def _proven(node: FakeNode, height: int) -> tuple[dict[str, Any], bytes]:
    """A one-level trie holding retirement RID, its root put into header height + 1."""
    record = certificates_pb2.Retirement(retirement_id=RID, wh=100, purpose="audit").SerializeToString()
    kh = hashlib.sha256(retirement_key(RID)).digest()
    slots = [ZERO] * 16
    slots[nibble(kh, 0)] = leaf_hash(kh, hashlib.sha256(record).digest())
    level = b"".join(slots)
    node.headers[height + 1]["app_hash"] = node_hash(level).hex().upper()
    proof = state_pb2.TrieProof(levels=[level]).SerializeToString()
    return {"proofOps": {"ops": [{"data": base64.b64encode(proof).decode()}]}}, record


def _make_export(node: FakeNode, height: int, steps: list[TrustStep]) -> certificates_api_pb2.RetirementExport:
    answer, record = _proven(node, height)
    signed = node.commit(height + 1)
    validators = node.call("validators", height=str(height + 1))["validators"]
    app_hash = bytes.fromhex(node.headers[height + 1]["app_hash"])
    export = build_export(answer, record, retirement_key(RID), height, app_hash, signed, validators, steps)
    return certificates_api_pb2.RetirementExport.FromString(export.SerializeToString())  # as a file holds it


def _exported(height: int = 25) -> tuple[FakeNode, LightClient, certificates_api_pb2.RetirementExport]:
    node = FakeNode(30, _sets)
    light = _client(node, A)
    _proven(node, height)  # the header carries the trie's root before anyone reads it
    light.verified_header(height + 1)
    return node, light, _make_export(node, height, light.trust_path(height + 1))


def test_an_export_signed_by_a_new_set_verifies_with_its_trust_steps() -> None:
    _node, _light, export = _exported()
    assert verify_retirement_export(export, GENESIS).retirement_id == RID
    heights = [int(s.signed_header_json.split('"height":"')[1].split('"')[0]) for s in export.trust_steps]
    assert heights == sorted(set(heights))
    assert 0 < len(heights) < 15  # bisection, not every header
    assert heights[0] <= 10 and max(heights) <= 26  # noqa: PT018 - first signed by A, none after the header


def test_without_steps_it_does_not_verify() -> None:
    _node, _light, export = _exported()
    del export.trust_steps[:]
    with pytest.raises(ProofError, match="not the trusted one"):
        verify_retirement_export(export, GENESIS)


def test_steps_out_of_order_are_refused() -> None:
    _node, _light, export = _exported()
    steps = list(export.trust_steps)
    assert len(steps) == 3  # 6 (signed by A), 13 (by M: half of A's power), 26 (by C: half of M's)
    for order, why in (
        ([steps[0], steps[1], steps[0], steps[2]], "does not come after"),  # a height that does not increase
        ([steps[0], steps[2], steps[1]], "not more than 1/3"),  # C cannot follow A directly
        (steps[::-1], "not signed by the trusted validator set"),
    ):
        del export.trust_steps[:]
        export.trust_steps.extend(order)
        with pytest.raises(ProofError, match=why):
            verify_retirement_export(export, GENESIS)


def test_steps_that_stop_short_of_the_exported_set_are_refused() -> None:
    _node, _light, export = _exported()
    steps = [s for s in export.trust_steps if int(s.signed_header_json.split('"height":"')[1].split('"')[0]) <= 10]
    del export.trust_steps[:]
    export.trust_steps.extend(steps)
    with pytest.raises(ProofError, match="do not end at the exported header's validator set"):
        verify_retirement_export(export, GENESIS)


def test_a_step_of_another_chain_is_refused() -> None:
    _node, _light, export = _exported()
    step = export.trust_steps[-1]
    step.signed_header_json = step.signed_header_json.replace(f'"chain_id":"{CHAIN}"', '"chain_id":"other-1"')
    with pytest.raises(ProofError, match="other-1"):
        verify_retirement_export(export, GENESIS)


def test_a_step_signed_by_less_than_a_third_of_the_trusted_power_is_refused() -> None:
    """A liar's chain: from height 4 a set holding one of A's four keys (1/4 of its power) and
    three of its own signs everything, the export included; a step from header 3 (honestly
    signed by A) straight to the liar's header 21 does not verify."""
    forged = _set([A[0][1], *_keys(3, 23)])
    honest = FakeNode(30, lambda h: A)
    liar = FakeNode(30, lambda h: A if h <= 3 else forged)
    liar.headers = {h: (honest.headers[h] if h <= 3 else liar.headers[h]) for h in liar.headers}

    def step(h: int) -> TrustStep:
        signed = liar.commit(h)["signed_header"]
        vals = liar.call("validators", height=str(h))["validators"]
        return TrustStep(signed["header"], signed["commit"], tuple(Validator.from_json(v) for v in vals))

    _proven(liar, 20)  # header 21 carries the trie's root before it is signed
    export = _make_export(liar, 20, [step(3), step(21)])
    with pytest.raises(ProofError, match="10 of 40 power, not more than 1/3"):
        verify_retirement_export(export, GENESIS)
    with pytest.raises(ProofError):
        _client(liar, A).trust_path(21)  # the bridge does not build a path through it either


def test_an_export_signed_by_the_genesis_set_needs_no_steps() -> None:
    node = FakeNode(30, lambda h: A)
    light = _client(node, A)
    _proven(node, 5)
    assert light.trust_path(6) == []
    export = _make_export(node, 5, [])
    assert verify_retirement_export(export, GENESIS).retirement_id == RID
    with pytest.raises(ProofError, match="not the trusted one"):
        verify_retirement_export(export, validator_set_hash([v for v, _k in M]))


def test_a_client_started_from_a_trusted_hash_has_no_path_to_genesis() -> None:
    node = FakeNode(30, _sets)
    light = LightClient.from_trusted_hash(node, CHAIN, 12, header_hash(node.headers[12]))  # type: ignore[arg-type]
    with pytest.raises(ProofError):
        light.trust_path(26)


class _Bridge:
    """What the ExportRetirement handler uses of the bridge: the node and its light client."""

    def __init__(self, node: FakeNode, verifier: Any, answer: dict[str, Any]) -> None:
        self.verifier = verifier
        self.rpc = self
        self._node = node
        self._answer = answer

    def abci_query(self, path: str, *, prove: bool = False) -> dict[str, Any]:
        assert path == f"/retirement/{RID}" and prove  # noqa: PT018
        return self._answer

    def commit(self, height: int) -> dict[str, Any]:
        return self._node.commit(height)

    def validators(self, height: int) -> list[dict[str, Any]]:
        return list(self._node.call("validators", height=str(height))["validators"])

    async def node(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    async def node_or_abort(self, context: Any, fn: Any, *args: Any) -> Any:
        return fn(*args)


class _Context:
    async def abort(self, code: Any, details: str) -> None:
        raise AssertionError(f"aborted {code}: {details}")


@pytest.mark.parametrize(("sets", "steps"), [(_sets, 3), (lambda h: A, 0)])
def test_the_bridge_exports_the_steps_its_light_client_finds(sets: Any, steps: int) -> None:
    """The ExportRetirement handler with a light client from the genesis file: three steps
    after two set changes, none while the genesis set signs; both verify offline."""
    node = FakeNode(30, sets)
    proof, record = _proven(node, 25)
    key = base64.b64encode(retirement_key(RID)).decode()
    proof["proofOps"]["ops"][0].update(type=PROOF_OP_TYPE, key=key)
    answer = {"code": 0, "key": key, "value": base64.b64encode(record).decode(), "height": "25", **proof}
    bridge = _Bridge(node, _client(node, A), answer)
    export = asyncio.run(export_handler(bridge)(reads_pb2.ByNumber(id=RID), _Context()))  # type: ignore[arg-type]
    assert len(export.trust_steps) == steps
    assert verify_retirement_export(export, GENESIS).retirement_id == RID
