"""Chain-level facts kept in state: the chain id (set at InitChain) and the last block time."""

from __future__ import annotations

from abci_app import keys
from abci_app.store.branch import Branch, KVReader

__all__ = ["block_time_ns", "chain_id", "set_block_time_ns", "set_chain_id"]

_CHAIN_ID_KEY = keys.meta("chain_id")
_BLOCK_TIME_KEY = keys.meta("block_time_ns")


def chain_id(store: KVReader) -> str:
    raw = store.get(_CHAIN_ID_KEY)
    return "" if raw is None else raw.decode()


def set_chain_id(store: Branch, value: str) -> None:
    store.set(_CHAIN_ID_KEY, value.encode())


def block_time_ns(store: KVReader) -> int:
    """Time of the last finalized block (0 before the first)."""
    raw = store.get(_BLOCK_TIME_KEY)
    return 0 if raw is None else int.from_bytes(raw, "big")


def set_block_time_ns(store: Branch, time_ns: int) -> None:
    store.set(_BLOCK_TIME_KEY, time_ns.to_bytes(8, "big"))
