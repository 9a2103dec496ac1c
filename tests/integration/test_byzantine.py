"""One Byzantine validator on a real 4-validator localnet can neither halt nor fork the chain.

Node 3's app injects a poisonous tx into every proposal it makes (the issue's halt: a validly
signed self-enrolment whose certificate O is over 255 bytes). Before the per-tx guard, every
validator raised in FinalizeBlock and the chain stopped for good; now the tx is a failed
result with its own code, blocks keep committing and every app hash agrees.
"""

from __future__ import annotations

import hashlib

import pytest
from gridledger.identity.v1 import identity_pb2

from abci_app.errors import Code
from abci_app.identity.errors import IdentityCode
from clients.rpc import CometRPC
from clients.tx import sign_tx
from tests.chaos.chain import fetch_block
from tests.integration.conftest import NetFactory
from tests.integration.support import Wallet, assert_same_app_hashes, max_height, wait_until

pytestmark = pytest.mark.integration


def test_poisonous_proposals_neither_halt_nor_fork(localnet_factory: NetFactory) -> None:
    """The poisoned tx lands first as CERT_INVALID, then as a replay each time node 3 proposes;
    transfers keep committing; hashes agree."""
    net = localnet_factory("byzantine", n=4, start=False)
    c = net.consortium()
    rogue = c.cas["community-a"].issue("rogue", ["prosumer"], org_override="o" * 300)
    poison = sign_tx(rogue.key, net.chain_id, 1, [identity_pb2.EnrollMember(certificate_der=rogue.cert_der)])
    for i in range(3):
        net.start_pair(i)
    net.start_pair(3, app_env={"GRIDLEDGER_BYZANTINE_TXS": poison.hex()})
    net.wait_height(2, timeout=60)

    rpc = net.rpc(0)
    landed = rpc.wait_tx(hashlib.sha256(poison).hexdigest().upper(), timeout=60)
    wallet = Wallet(net.chain_id)
    alice, bob = c.member("community-a/alice"), c.member("community-a/bob")
    for _ in range(3):
        result = rpc.broadcast_commit(wallet.transfer(alice, bob.address, 1))
        assert result.code == 0, result.log
    top = wait_until(
        lambda: (h := max_height(net, range(4))) >= int(landed["height"]) + 8 and h, timeout=60, what="8 more blocks"
    )
    assert_same_app_hashes(net, range(4), top - 1)

    # Node 3 injects the poison into every block it proposes, so it lands more than once in
    # 8 blocks of 4 rotating proposers (the tx index keeps only the last landing). The first is
    # CERT_INVALID and uses the signer's nonce, so every later copy is a replay.
    results = _results_of(rpc, poison, top - 1)
    assert len(results) >= 2, results
    first_code, first_log = results[0]
    assert first_code == IdentityCode.CERT_INVALID, results
    assert "CERT_INVALID" in first_log
    assert all(code == Code.NONCE_TOO_LOW and "NONCE_TOO_LOW" in log for code, log in results[1:]), results
    assert all(net.apps[i].poll() is None for i in range(4)), "an app exited"


def _results_of(rpc: CometRPC, tx: bytes, up_to: int) -> list[tuple[int, str]]:
    """(code, log) of every landing of `tx` in blocks 1..`up_to`, oldest first."""
    blocks = [fetch_block(rpc, height) for height in range(1, up_to + 1)]
    return [(b.codes[i], b.logs[i]) for b in blocks for i, t in enumerate(b.txs) if t == tx]
