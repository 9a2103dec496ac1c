"""Small builders shared by the unit and property tests: signed txs, messages and state reads."""

from __future__ import annotations

from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1 import governance_pb2

from abci_app.pb import abci, state_pb2
from abci_app.store.commitment import Proof
from clients.pki import Identity
from clients.tx import sign_tx
from tests.support.driver import AppDriver

__all__ = [
    "account_nonce",
    "balance",
    "burn",
    "mint",
    "proof_of",
    "proposal",
    "signed",
    "submit",
    "transfer",
    "vote",
]


def signed(
    driver: AppDriver,
    who: Identity,
    *msgs: Message,
    nonce: int | None = None,
    chain_id: str | None = None,
    timeout_height: int = 0,
    memo: str = "",
) -> bytes:
    """A tx signed by `who` with the next nonce the driver tracks for it (or the given one)."""
    n = driver.next_nonce(who.public_key) if nonce is None else nonce
    return sign_tx(
        who.key,
        driver.chain_id if chain_id is None else chain_id,
        n,
        list(msgs),
        timeout_height=timeout_height,
        memo=memo,
    )


def transfer(to: Identity | bytes, amount: int) -> Message:
    address = to if isinstance(to, bytes) else to.address
    return accounts_pb2.Transfer(to=address, amount=amount)


def mint(to: Identity | bytes, amount: int) -> Message:
    address = to if isinstance(to, bytes) else to.address
    return accounts_pb2.Mint(to=address, amount=amount)


def burn(amount: int) -> Message:
    return accounts_pb2.Burn(amount=amount)


def vote(proposal_id: int, approve: bool = True) -> Message:
    return governance_pb2.Vote(proposal_id=proposal_id, approve=approve)


def submit(title: str = "proposal", **action: object) -> Message:
    """`submit(change_param=governance_pb2.ChangeParam(...))` → a SubmitProposal message."""
    return governance_pb2.SubmitProposal(title=title, **action)  # type: ignore[arg-type]


def balance(driver: AppDriver, who: Identity | bytes) -> int:
    address = who if isinstance(who, bytes) else who.address
    resp = driver.query(f"/balance/{address.hex()}")
    return int.from_bytes(resp.value, "big") if resp.code == 0 else 0


def account_nonce(driver: AppDriver, who: Identity) -> int:
    resp = driver.query(f"/account/{who.address.hex()}")
    assert resp.code == 0, resp.log
    return int(accounts_pb2.AccountView.FromString(resp.value).nonce)


def proposal(driver: AppDriver, proposal_id: int) -> governance_pb2.Proposal:
    resp = driver.query(f"/proposal/{proposal_id}")
    assert resp.code == 0, resp.log
    return governance_pb2.Proposal.FromString(resp.value)


def proof_of(resp: abci.ResponseQuery) -> Proof:
    """The trie proof carried by a query answered with prove=true."""
    assert len(resp.proof_ops.ops) == 1
    pb = state_pb2.TrieProof.FromString(resp.proof_ops.ops[0].data)
    return Proof(tuple(pb.levels), pb.other_key_hash, pb.other_value_hash)
