"""Export a committed state as genesis and import it into an empty store, then compare.

A domain's genesis section is faithful when the import rebuilds its key range byte for byte
(records, indexes and counters alike): a chain restarted from an export then behaves as the
old chain would have. `differences` names the keys where the two stores disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from abci_app.domain import Domain
from abci_app.genesis import apply_genesis, export_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, ValidatorUpdate

__all__ = ["differences", "export_and_import", "import_exported"]


class _Empty:
    def get(self, key: bytes) -> bytes | None:
        return None

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


def export_and_import(
    state: KVReader, *, chain_id: str = "gridledger-export", time_ns: int = 0
) -> tuple[dict[str, Any], Branch]:
    """The exported app_state (after a JSON round trip, as a genesis file carries it) and a
    fresh store that imported it with the same validator set."""
    exported = json.loads(json.dumps(export_genesis(state)))
    return exported, import_exported(state, exported, chain_id=chain_id, time_ns=time_ns)


def import_exported(
    state: KVReader, exported: dict[str, Any], *, chain_id: str = "gridledger-export", time_ns: int = 0
) -> Branch:
    """A fresh store that imported the app_state `exported` (an export of `state`, possibly edited)
    with `state`'s validator set; GenesisError names what it refuses."""
    validators = [ValidatorUpdate(pub_key, power) for pub_key, power in iter_validators(state)]
    fresh = Branch(_Empty())
    apply_genesis(fresh, BlockInfo(chain_id, 1, time_ns), json.dumps(exported).encode(), validators)
    return fresh


def _range(store: KVReader, prefix: int) -> dict[bytes, bytes]:
    start = bytes([prefix])
    end = bytes([prefix + 1]) if prefix < 0xFF else None
    return dict(store.iter_range(start, end))


def differences(domain: Domain, before: KVReader, after: KVReader, *, skip: frozenset[int] = frozenset()) -> list[str]:
    """Every key under the domain's prefixes (except `skip`) that is missing, extra or
    different after the import, as readable lines (empty when the section is faithful)."""
    lines: list[str] = []
    for prefix in sorted(domain.key_prefixes - skip):
        old, new = _range(before, prefix), _range(after, prefix)
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                what = "missing" if key not in new else "extra" if key not in old else "differs"
                lines.append(f"{domain.name} 0x{prefix:02x} {key.hex()}: {what}")
    return lines
