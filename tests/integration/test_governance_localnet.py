"""Governance on the 4-validator localnet: admit a new org, then a 5th validator that joins consensus."""

from __future__ import annotations

import base64

import pytest
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2

from abci_app.identity.errors import IdentityCode
from clients.pki import new_org_ca
from clients.rpc import CometRPC
from tests.integration.conftest import NetFactory
from tests.integration.support import (
    Wallet,
    assert_same_app_hashes,
    max_height,
    submit_proposal,
    vote_until_passed,
    wait_until,
)

pytestmark = pytest.mark.integration

FOUNDING_ADMINS = ("utility/admin", "gridop/admin", "certissuer/admin", "community-a/admin", "community-b/admin")


def _signers(rpc: CometRPC, height: int) -> set[str]:
    sigs = rpc.commit(height)["signed_header"]["commit"]["signatures"]
    return {str(s["validator_address"]).upper() for s in sigs if int(s["block_id_flag"]) == 2}  # 2 = COMMIT


def test_new_org_then_new_validator_by_governance(localnet_factory: NetFactory) -> None:
    """Org admins admit a new org by a >2/3 vote, its admin self-enrols, and a voted-in 5th validator signs blocks."""
    net = localnet_factory("gov", n=4, spare_nodes=1)
    c = net.consortium()
    wallet = Wallet(net.chain_id)
    rpc = net.rpc(0)
    admins = [c.member(ref) for ref in FOUNDING_ADMINS]

    # -- 1. admit "newco" ---------------------------------------------------------------------
    newco = new_org_ca("newco")
    newco_admin = newco.issue("admin.newco", ["admin"])
    enrol = identity_pb2.EnrollMember(certificate_der=newco_admin.cert_der)
    early = rpc.broadcast_commit(wallet.sign(newco_admin, enrol))
    assert early.code == IdentityCode.UNKNOWN_ORG  # no such org yet

    admit = governance_pb2.AdmitOrg(org_id="newco", name="New Co", root_ca_der=newco.cert_der)
    pid = submit_proposal(net, wallet, admins[0], "admit newco", admit_org=admit)
    # five founding orgs: yes * 3 > 2 * 5 needs four votes; the fifth finds the proposal closed
    vote_until_passed(net, wallet, admins, pid, needed=4)
    org = rpc.abci_query("/org/newco")
    assert int(org.get("code", 0)) == 0
    assert identity_pb2.Org.FromString(base64.b64decode(org["value"])).active

    # -- 2. the new org's admin enrols itself with a certificate from the new CA ----------------
    r = rpc.broadcast_commit(wallet.sign(newco_admin, enrol))
    assert r.code == 0, r.log
    member = rpc.abci_query(f"/member/{newco_admin.address.hex()}")
    assert int(member.get("code", 0)) == 0
    record = identity_pb2.Member.FromString(base64.b64decode(member["value"]))
    assert (record.org_id, list(record.roles)) == ("newco", ["admin"])
    # a certificate from the new CA claiming another org is refused
    forged = newco.issue("mallory", ["admin"], org_override="utility")
    bad = rpc.broadcast_commit(wallet.sign(forged, identity_pb2.EnrollMember(certificate_der=forged.cert_der)))
    assert bad.code == IdentityCode.CERT_FOREIGN_CA

    # -- 3. a 5th node joins as a full node and syncs ---------------------------------------------
    i = net.add_node()
    assert i == 4
    net.start_pair(i)
    net.wait_height(max_height(net, range(4)), [i], timeout=60)
    address = net.validator_address(i)
    assert address not in {v["address"].upper() for v in rpc.validators()}

    # -- 4. governance makes it a validator --------------------------------------------------------
    power = int(rpc.validators()[0]["voting_power"])
    update = governance_pb2.UpdateValidator(pub_key_ed25519=net.validator_pub_key(i), power=power)
    pid2 = submit_proposal(net, wallet, newco_admin, "validator for newco", update_validator=update)
    # six orgs now: yes * 3 > 2 * 6 needs five votes
    vote_until_passed(net, wallet, [newco_admin, *admins], pid2, needed=5)
    listed = governance_pb2.ValidatorList.FromString(base64.b64decode(rpc.abci_query("/validators")["value"]))
    assert net.validator_pub_key(i) in {v.pub_key_ed25519 for v in listed.validators}

    def in_set(node: int) -> bool:
        return address in {v["address"].upper() for v in net.rpc(node).validators()}

    wait_until(lambda: in_set(0) and in_set(i), timeout=30, what="the 5th validator in the CometBFT validator set")
    assert len(rpc.validators()) == 5

    # -- 5. it signs later blocks ---------------------------------------------------------------
    start = rpc.height()

    def signed_by_new_validator() -> bool:
        top = rpc.height()
        return any(address in _signers(rpc, h) for h in range(start, top + 1))

    wait_until(signed_by_new_validator, timeout=30, what="a commit signed by the 5th validator")
    top = min(h for h in (net.height(j) for j in range(net.n)) if h is not None)
    assert_same_app_hashes(net, range(net.n), top)
