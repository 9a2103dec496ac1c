"""State storage: bytes→bytes backends, per-block and per-tx branches, the Merkle commitment."""

from abci_app.store.backend import Backend, MemoryBackend
from abci_app.store.branch import Branch, KVReader
from abci_app.store.commitment import Trie
from abci_app.store.sqlite import SQLiteBackend
from abci_app.store.state import CommittedState

__all__ = ["Backend", "Branch", "CommittedState", "KVReader", "MemoryBackend", "SQLiteBackend", "Trie"]
