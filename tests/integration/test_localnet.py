"""The 4-validator localnet: transfers through every node, one app hash everywhere, proven queries."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from clients.lightclient import LightClient
from clients.ops.localnet import Localnet
from clients.proof import ProofError, fetch_proven, verify_query_response
from tests.integration.support import Wallet, assert_same_app_hashes, balance

pytestmark = pytest.mark.integration

# sender i submits through node i; one sender per node keeps each sender's nonces in order
SENDERS = ("community-a/alice", "community-a/bob", "community-b/carol", "community-b/dave")
RECIPIENTS = ("utility/treasury", "community-b/dave", "community-a/alice", "community-a/bob")
ROUNDS = 9  # 36 transfers in all


@pytest.fixture(scope="module")
def transfers_done(net4: Localnet, wallet4: Wallet) -> dict[str, int]:
    """Send ROUNDS transfers from each sender through its own node; the expected balance of each ref."""
    c = net4.consortium()
    expected = dict(c.balances)
    hashes: list[tuple[int, str]] = []
    for k in range(ROUNDS):
        for i, (src, dst) in enumerate(zip(SENDERS, RECIPIENTS, strict=True)):
            amount = 100 * (i + 1) + k
            r = net4.rpc(i).broadcast_sync(wallet4.transfer(c.member(src), c.member(dst).address, amount))
            assert r.code == 0, r.log
            hashes.append((i, r.hash))
            expected[src] -= amount
            expected[dst] = expected.get(dst, 0) + amount
    last = 0
    for i, tx_hash in hashes:
        found = net4.rpc((i + 1) % net4.n).wait_tx(tx_hash)  # committed, as seen from another node
        assert int(found["tx_result"]["code"]) == 0, found["tx_result"]
        last = max(last, int(found["height"]))
    net4.wait_height(last + 1, timeout=30)  # every node has committed the last of them
    return expected


def test_every_node_has_the_same_app_hash_at_every_height(net4: Localnet, transfers_done: dict[str, int]) -> None:
    """After dozens of transfers through all four nodes, all headers 1..H carry identical app hashes on every node."""
    height = min(h for h in (net4.height(i) for i in range(net4.n)) if h is not None)
    assert height >= 3
    assert_same_app_hashes(net4, range(net4.n), height)


def test_committed_balances_are_equal_on_every_node(net4: Localnet, transfers_done: dict[str, int]) -> None:
    """Each node's app answers /balance with exactly the balance implied by the committed transfers."""
    c = net4.consortium()
    for i in range(net4.n):
        rpc = net4.rpc(i)
        for ref, amount in sorted(transfers_done.items()):
            assert balance(rpc, c.member(ref).address) == amount, (i, ref)


def test_proven_balance_verifies_on_every_node(net4: Localnet, transfers_done: dict[str, int]) -> None:
    """A /balance query with prove=true verifies against the next header's app hash on every node."""
    c = net4.consortium()
    alice = c.member("community-a/alice")
    genesis = json.loads((net4.node_home(0) / "config" / "genesis.json").read_text())
    for i in range(net4.n):
        light = LightClient.from_genesis(net4.rpc(i), genesis)  # 4 validators' signatures checked
        proven = fetch_proven(net4.rpc(i), f"/balance/{alice.address.hex()}", b"\x07" + alice.address, light)
        assert proven.value is not None
        assert int.from_bytes(proven.value, "big") == transfers_done["community-a/alice"]
        assert proven.height > 0


def test_proof_of_absence_verifies(net4: Localnet) -> None:
    """The balance of an address that never held money is proven absent against the header app hash."""
    genesis = json.loads((net4.node_home(0) / "config" / "genesis.json").read_text())
    light = LightClient.from_genesis(net4.rpc(2), genesis)
    proven = fetch_proven(net4.rpc(2), f"/balance/{'ab' * 20}", b"\x07" + b"\xab" * 20, light)
    assert proven.value is None


def test_tampered_value_fails_verification(net4: Localnet, transfers_done: dict[str, int]) -> None:
    """Flipping one byte of a proven value, or checking it against another height's app hash, raises ProofError."""
    c = net4.consortium()
    rpc = net4.rpc(1)
    bob = c.member("community-a/bob").address
    response = rpc.abci_query(f"/balance/{bob.hex()}", prove=True)
    height = int(response["height"])
    net4.wait_height(height + 2, [1])
    app_hash = rpc.app_hash_at(height + 1)
    verify_query_response(response, app_hash, b"\x07" + bob)  # the untampered answer verifies
    tampered = copy.deepcopy(response)
    value = bytearray(base64.b64decode(tampered["value"]))
    value[-1] ^= 0x01
    tampered["value"] = base64.b64encode(bytes(value)).decode()
    with pytest.raises(ProofError):
        verify_query_response(tampered, app_hash, b"\x07" + bob)
    other_hashes = {rpc.app_hash_at(h) for h in (1, 2)} - {app_hash}
    assert other_hashes
    for other in other_hashes:
        with pytest.raises(ProofError):
            verify_query_response(response, other, b"\x07" + bob)
