"""State access for proposals and the validator set."""

from __future__ import annotations

from collections.abc import Iterator

from abci_app.governance import keys
from abci_app.governance.records import Proposal, Status
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "due_proposal_ids",
    "get_proposal",
    "iter_proposals",
    "iter_validators",
    "next_proposal_id",
    "put_proposal",
    "set_validator",
]


def get_proposal(store: KVReader, proposal_id: int) -> Proposal | None:
    """The proposal with `proposal_id`, or None."""
    raw = store.get(keys.proposal(proposal_id))
    return None if raw is None else Proposal.decode(raw)


def put_proposal(store: Branch, p: Proposal) -> None:
    """Store the proposal and keep its deadline index in step: indexed while VOTING (so expiry finds it),
    unindexed once decided."""
    store.set(keys.proposal(p.id), p.encode())
    index = keys.proposal_deadline(p.deadline, p.id)
    if p.status == Status.VOTING:
        store.set(index, b"")
    else:
        store.delete(index)


def next_proposal_id(store: Branch) -> int:
    """Allocate the next proposal id (1, 2, ...): never reused, also after a proposal is decided."""
    raw = store.get(keys.proposal_seq())
    n = 1 if raw is None else int.from_bytes(raw, "big") + 1
    store.set(keys.proposal_seq(), n.to_bytes(8, "big"))
    return n


def iter_proposals(store: KVReader) -> Iterator[Proposal]:
    """Every stored proposal, in id order."""
    for _k, v in store.iter_range(keys.proposal_prefix(), prefix_end(keys.proposal_prefix())):
        yield Proposal.decode(v)


def due_proposal_ids(store: KVReader, now: int) -> list[int]:
    """Ids of open proposals whose deadline is at or before `now`, in deadline order."""
    start = keys.proposal_deadline_prefix()
    end = keys.proposal_deadline(now + 1, 0)
    return [int.from_bytes(k[9:17], "big") for k, _v in store.iter_range(start, end)]


def set_validator(store: Branch, pub_key: bytes, power: int) -> None:
    """Set a validator's voting power; power 0 removes it."""
    if power == 0:
        store.delete(keys.validator(pub_key))
    else:
        store.set(keys.validator(pub_key), power.to_bytes(8, "big"))


def iter_validators(store: KVReader) -> Iterator[tuple[bytes, int]]:
    """Every (Ed25519 public key, power) of the validator set, in key byte order."""
    for k, v in store.iter_range(keys.validator_prefix(), prefix_end(keys.validator_prefix())):
        yield k[1:], int.from_bytes(v, "big")
