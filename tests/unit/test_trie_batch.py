"""The trie's batched block merge: same roots, stored nodes and proofs as one write at a time,
after a discarded block, and on a trie reopened from its stored nodes (loaded lazily)."""

from __future__ import annotations

import hashlib

import pytest

from abci_app.store.backend import CorruptStateError, MemoryBackend
from abci_app.store.commitment import EMPTY_ROOT, ZERO, Trie, leaf_hash, verify_proof
from abci_app.store.state import CommittedState


def _sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _definition_root(items: dict[bytes, bytes]) -> bytes:
    """The root computed from scratch by the definition ({key hash: value hash} → root)."""

    def node(entries: list[tuple[bytes, bytes]], depth: int) -> bytes:
        children = []
        for nib in range(16):
            sub = [e for e in entries if (e[0][depth // 2] >> (4 if depth % 2 == 0 else 0)) & 15 == nib]
            if not sub:
                children.append(ZERO)
            elif len(sub) == 1:
                children.append(leaf_hash(*sub[0]))
            else:
                children.append(node(sub, depth + 1))
        return _sha(b"\x01" + b"".join(children))

    return node(sorted(items.items()), 0)


def _blocks() -> list[dict[bytes, bytes | None]]:
    """Blocks that insert, update, delete (down to collapsing nodes) and delete absent keys."""
    keys = [b"k%d" % i for i in range(600)]
    return [
        dict.fromkeys(keys[:400], b"v0"),
        {**dict.fromkeys(keys[::3], b"v1"), **dict.fromkeys(keys[1:400:2]), **dict.fromkeys(keys[400:500], b"new")},
        {**dict.fromkeys(keys[:450]), b"absent": None, keys[599]: b"late"},
        dict.fromkeys(keys),
    ]


def _commit(trie: Trie, stored: dict[bytes, bytes]) -> None:
    for path, raw in trie.take_staged().items():
        if raw is None:
            stored.pop(path, None)
        else:
            stored[path] = raw


def test_a_batched_block_equals_one_write_at_a_time() -> None:
    """Each block merged as one batch gives the root, stored nodes and proofs of its writes applied singly."""
    batched_nodes: dict[bytes, bytes] = {}
    single_nodes: dict[bytes, bytes] = {}
    batched, single = Trie(batched_nodes.get), Trie(single_nodes.get)
    model: dict[bytes, bytes] = {}
    for writes in _blocks():
        root = batched.apply(writes)
        for key in sorted(writes, reverse=True):  # another order: the shape must not depend on it
            value = writes[key]
            if value is None:
                single.delete(_sha(key))
                model.pop(key, None)
            else:
                single.update(_sha(key), _sha(value))
                model[key] = value
        assert root == single.root_hash() == _definition_root({_sha(k): _sha(v) for k, v in model.items()})
        _commit(batched, batched_nodes)
        _commit(single, single_nodes)
        assert batched_nodes == single_nodes
        for key in (b"k0", b"k1", b"k3", b"k450", b"k599", b"absent"):
            assert batched.prove(key) == single.prove(key)
            assert verify_proof(root, key, model.get(key), batched.prove(key))
    assert batched.committed_root == EMPTY_ROOT


def test_a_discarded_block_leaves_no_trace() -> None:
    """A block staged then discarded changes neither the committed proofs nor the next block's root and nodes."""
    blocks = _blocks()
    plain = CommittedState(MemoryBackend())
    tried = CommittedState(MemoryBackend())
    for height, writes in enumerate(blocks[:2], start=1):
        for state in (plain, tried):
            state.stage(writes)
            state.commit(height)
    before = {k: tried.prove(k) for k in (b"k0", b"k2", b"k450")}
    # A block that would delete most keys (collapsing nodes) and add others, discarded.
    tried.stage({**blocks[2], b"other": b"x"})
    assert {k: tried.prove(k) for k in before} == before
    tried.discard_staged()
    assert tried.trie.root_hash() == plain.trie.committed_root
    final = {b"k0": b"again", b"k450": None, b"fresh": b"f"}
    assert tried.stage(final) == plain.stage(final)
    assert tried.commit(3) == plain.commit(3)
    assert tried.backend._nodes == plain.backend._nodes  # type: ignore[attr-defined]
    for key in (b"k0", b"k2", b"k450", b"fresh", b"other"):
        assert tried.prove(key) == plain.prove(key)


def test_a_reopened_trie_loads_nodes_lazily_to_the_same_results() -> None:
    """A trie reopened on stored nodes proves, merges and collapses exactly like the one that built them."""
    backend = MemoryBackend()
    built = CommittedState(backend)
    blocks = _blocks()
    for height, writes in enumerate(blocks[:2], start=1):
        built.stage(writes)
        built.commit(height)
    reopened = CommittedState(backend)
    assert reopened.prove(b"k3") == built.prove(b"k3")  # loads one path only
    # The next block deletes most keys: nodes loaded on demand are changed and collapsed.
    assert reopened.stage(blocks[2]) == built.stage(blocks[2])
    nodes_reopened = reopened.trie.take_staged()
    assert nodes_reopened == built.trie.take_staged()
    for key in (b"k0", b"k3", b"k599", b"k5"):
        assert reopened.prove(key) == built.prove(key)


def test_deletes_of_absent_keys_store_nothing_in_an_empty_trie() -> None:
    """An empty trie stays without a root node when a block only deletes keys it never had."""
    stored: dict[bytes, bytes] = {}
    trie = Trie(stored.get)
    assert trie.apply({b"a": None, b"b": None}) == EMPTY_ROOT
    assert trie.take_staged() == {}


def test_a_truncated_stored_node_is_reported() -> None:
    """A stored node cut short is reported as damage (a corrupt state at the root), never decoded into a wrong tree."""
    state = CommittedState(MemoryBackend())
    state.stage({b"k%d" % i: b"v" for i in range(40)})
    state.commit(1)
    nodes = state.backend._nodes  # type: ignore[attr-defined]
    inner = next(p for p in sorted(nodes) if p)
    nodes[inner] = nodes[inner][:-5]
    with pytest.raises(ValueError, match="truncated"):
        Trie(nodes.get).committed_leaves()
    nodes[b""] = nodes[b""][:-5]
    with pytest.raises(CorruptStateError, match="damaged"):
        CommittedState(state.backend)
