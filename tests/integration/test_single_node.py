"""A real one-validator chain: CometBFT RPC in, the app over the ABCI socket, results and queries out."""

from __future__ import annotations

import base64
from functools import partial
from typing import Any

import pytest
from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2

from abci_app.accounts.errors import AccountsCode
from abci_app.errors import Code
from abci_app.pb import tx_pb2
from clients.ops.consortium import DEMO_BALANCE
from clients.ops.localnet import Localnet
from clients.rpc import CometRPC, RPCError
from tests.integration.conftest import SMALL_MAX_TX_BYTES
from tests.integration.support import Wallet, balance, wait_until

pytestmark = pytest.mark.integration


def _attrs(event: dict[str, object]) -> dict[str, str]:
    return {str(a["key"]): str(a["value"]) for a in event["attributes"]}  # type: ignore[attr-defined]


def test_broadcast_commit_transfer_commits_and_moves_money(chain1: Localnet, wallet1: Wallet) -> None:
    """A transfer sent with broadcast_tx_commit commits with code 0 and both balances change by its amount."""
    c = chain1.consortium()
    alice, bob = c.member("community-a/alice"), c.member("community-a/bob")
    rpc = chain1.rpc(0)
    before_a, before_b = balance(rpc, alice.address), balance(rpc, bob.address)
    r = rpc.broadcast_commit(wallet1.transfer(alice, bob.address, 1234))
    assert (r.code, r.log) == (0, "")
    assert r.height > 0
    assert balance(rpc, alice.address) == before_a - 1234
    assert balance(rpc, bob.address) == before_b + 1234


def test_broadcast_sync_then_wait_tx_commits(chain1: Localnet, wallet1: Wallet) -> None:
    """Transfers sent with broadcast_tx_sync pass CheckTx, then each is found in a block with code 0 and its events."""
    c = chain1.consortium()
    carol, dave = c.member("community-b/carol"), c.member("community-b/dave")
    rpc = chain1.rpc(0)
    before = balance(rpc, dave.address)
    hashes = []
    for amount in (1, 2, 3, 4, 5):
        r = rpc.broadcast_sync(wallet1.transfer(carol, dave.address, amount))
        assert r.code == 0, r.log
        hashes.append(r.hash)
    for tx_hash in hashes:
        found = rpc.wait_tx(tx_hash)
        assert int(found["tx_result"]["code"]) == 0
        transfer = [e for e in found["tx_result"]["events"] if e["type"] == "transfer"]
        assert len(transfer) == 1
        assert _attrs(transfer[0])["sender"] == carol.address.hex()
    assert balance(rpc, dave.address) == before + 15


def test_bad_signature_is_rejected_with_code_4(chain1: Localnet, wallet1: Wallet) -> None:
    """A tx whose signature does not match its body is refused by CheckTx with BAD_SIGNATURE and a log."""
    c = chain1.consortium()
    alice, bob = c.member("community-a/alice"), c.member("community-a/bob")
    tx = tx_pb2.Tx.FromString(wallet1.transfer(alice, bob.address, 1))
    sig = bytearray(tx.signature)
    sig[0] ^= 0x01
    tx.signature = bytes(sig)
    r = chain1.rpc(0).broadcast_sync(tx.SerializeToString())
    assert r.code == Code.BAD_SIGNATURE
    assert "signature" in r.log


def test_replayed_nonce_is_rejected_with_code_5(chain1: Localnet, wallet1: Wallet) -> None:
    """After a commit, the same bytes are refused by the tx cache and a new tx reusing the nonce gets NONCE_TOO_LOW."""
    c = chain1.consortium()
    bob, alice = c.member("community-a/bob"), c.member("community-a/alice")
    rpc = chain1.rpc(0)
    tx = wallet1.transfer(bob, alice.address, 7)
    assert rpc.broadcast_commit(tx).code == 0
    used = wallet1.last_nonce(bob)
    # The identical bytes never reach the app again: CometBFT's cache of committed txs refuses them.
    with pytest.raises(RPCError, match="already exists in cache"):
        rpc.broadcast_sync(tx)
    replay = rpc.broadcast_sync(wallet1.transfer(bob, alice.address, 8, nonce=used))
    assert replay.code == Code.NONCE_TOO_LOW
    assert f"nonce {used}" in replay.log


def test_garbage_bytes_are_rejected_with_code_1(chain1: Localnet) -> None:
    """Bytes that are not a tx envelope are refused with TX_MALFORMED and a log, and the node keeps going."""
    rpc = chain1.rpc(0)
    r = rpc.broadcast_sync(b"\xff\xfe this is not a protobuf tx \x00\x01")
    assert r.code == Code.TX_MALFORMED
    assert r.log
    height = rpc.height()
    chain1.wait_height(height + 1, timeout=30)


def test_oversized_tx_is_rejected_with_code_2(chain1: Localnet, wallet1: Wallet) -> None:
    """A tx larger than params.max_tx_bytes (set to 2048 at genesis) is refused with TX_TOO_LARGE."""
    c = chain1.consortium()
    alice, bob = c.member("community-a/alice"), c.member("community-a/bob")
    tx = wallet1.transfer(alice, bob.address, 1, nonce=10**9, memo="x" * SMALL_MAX_TX_BYTES)
    assert len(tx) > SMALL_MAX_TX_BYTES
    r = chain1.rpc(0).broadcast_sync(tx)
    assert r.code == Code.TX_TOO_LARGE
    assert str(SMALL_MAX_TX_BYTES) in r.log


def test_failed_delivery_code_in_committed_result(chain1: Localnet, wallet1: Wallet) -> None:
    """A well-formed transfer beyond the sender's balance commits into a block with INSUFFICIENT_FUNDS."""
    c = chain1.consortium()
    dave, carol = c.member("community-b/dave"), c.member("community-b/carol")
    rpc = chain1.rpc(0)
    before = balance(rpc, dave.address)
    r = rpc.broadcast_commit(wallet1.transfer(dave, carol.address, DEMO_BALANCE * 10))
    assert r.code == AccountsCode.INSUFFICIENT_FUNDS
    assert balance(rpc, dave.address) == before


def test_committed_state_is_readable_through_abci_query(chain1: Localnet, wallet1: Wallet) -> None:
    """After a commit, /account, /member, /supply and /params answer with the committed values."""
    c = chain1.consortium()
    treasury, alice = c.member("utility/treasury"), c.member("community-a/alice")
    rpc = chain1.rpc(0)
    before = balance(rpc, treasury.address)
    r = rpc.broadcast_commit(wallet1.transfer(treasury, alice.address, 99))
    assert r.code == 0
    resp = rpc.abci_query(f"/account/{treasury.address.hex()}")
    assert int(resp.get("code", 0)) == 0
    assert int(resp["height"]) >= r.height
    view = accounts_pb2.AccountView.FromString(base64.b64decode(resp["value"]))
    assert view.address == treasury.address
    assert view.balance == before - 99
    assert view.nonce == wallet1.last_nonce(treasury)
    member = rpc.abci_query(f"/member/{alice.address.hex()}")
    assert int(member.get("code", 0)) == 0
    assert base64.b64decode(member["value"])
    supply = accounts_pb2.SupplyView.FromString(base64.b64decode(rpc.abci_query("/supply")["value"]))
    assert supply.minted == sum(c.balances.values())
    unknown = rpc.abci_query("/no-such-path")
    assert int(unknown["code"]) == Code.QUERY_UNKNOWN_PATH


def test_tx_search_finds_transfers_by_sender(chain1: Localnet, wallet1: Wallet) -> None:
    """The indexer finds a committed transfer by `transfer.sender` and `message.sender` event queries."""
    c = chain1.consortium()
    gateway = c.member("community-a/gateway")  # funded below; no other test sends from it
    treasury = c.member("utility/treasury")
    rpc = chain1.rpc(0)
    assert rpc.broadcast_commit(wallet1.sign(treasury, _mint(gateway.address, 50))).code == 0
    sent = rpc.broadcast_commit(wallet1.transfer(gateway, treasury.address, 21))
    assert sent.code == 0
    for query in (f"transfer.sender='{gateway.address.hex()}'", f"message.sender='{gateway.address.hex()}'"):
        # CometBFT indexes a block's txs asynchronously, shortly after broadcast_tx_commit returns.
        found = wait_until(partial(_indexed, rpc, query), timeout=10, what=f"tx_search {query}")
        assert int(found["total_count"]) == 1, query
        (tx,) = found["txs"]
        assert tx["hash"] == sent.hash
        assert int(tx["height"]) == sent.height
    by_recipient = _search(rpc, f"transfer.recipient='{treasury.address.hex()}'")
    assert sent.hash in {tx["hash"] for tx in by_recipient["txs"]}
    assert int(_search(rpc, f"transfer.recipient='{gateway.address.hex()}'")["total_count"]) == 0  # only minted to


def _search(rpc: CometRPC, query: str) -> dict[str, Any]:
    return dict(rpc.call("tx_search", query=query, prove=False, page="1", per_page="100", order_by="asc"))


def _indexed(rpc: CometRPC, query: str) -> dict[str, Any] | None:
    """tx_search results, or None while nothing matching is indexed yet."""
    found = _search(rpc, query)
    return found if int(found["total_count"]) > 0 else None


def _mint(to: bytes, amount: int) -> Message:
    return accounts_pb2.Mint(to=to, amount=amount)
