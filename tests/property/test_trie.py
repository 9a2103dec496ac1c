"""Property tests of the state commitment trie: history independence, persistence and proofs."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.store.backend import MemoryBackend
from abci_app.store.commitment import EMPTY_ROOT, ZERO, Proof, Trie, leaf_hash, verify_proof
from abci_app.store.state import CommittedState


def _sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _nibble(kh: bytes, depth: int) -> int:
    b = kh[depth // 2]
    return b >> 4 if depth % 2 == 0 else b & 0x0F


def reference_root(items: dict[bytes, bytes]) -> bytes:
    """The root by the definition, computed from scratch: {key hash: value hash} → root.

    A leaf sits at the shortest nibble prefix of its key hash that no other key shares; a
    node is SHA-256(0x01 || its 16 children), an empty child is 32 zero bytes.
    """

    def node(entries: list[tuple[bytes, bytes]], depth: int) -> bytes:
        children = []
        for nib in range(16):
            sub = [e for e in entries if _nibble(e[0], depth) == nib]
            if not sub:
                children.append(ZERO)
            elif len(sub) == 1:
                children.append(leaf_hash(sub[0][0], sub[0][1]))
            else:
                children.append(node(sub, depth + 1))
        return _sha(b"\x01" + b"".join(children))

    return node(sorted(items.items()), 0)


# -- state level: real keys through CommittedState ------------------------------------------------

KEYS = [bytes((p,)) + bytes((i,)) for p in range(3) for i in range(12)] + [b"", b"\x00", b"long" * 40]
key_st = st.sampled_from(KEYS)
value_st = st.binary(min_size=0, max_size=12)
# A block: key → new value, or None (delete).
block_st = st.dictionaries(key_st, st.none() | value_st, max_size=20)
blocks_st = st.lists(block_st, min_size=1, max_size=8)


def _fresh_root(final: dict[bytes, bytes]) -> bytes:
    state = CommittedState(MemoryBackend())
    return state.stage(dict(final))


def _run_blocks(blocks: list[dict[bytes, bytes | None]]) -> tuple[MemoryBackend, CommittedState, dict[bytes, bytes]]:
    backend = MemoryBackend()
    state = CommittedState(backend)
    model: dict[bytes, bytes] = {}
    for height, writes in enumerate(blocks, start=1):
        state.stage(writes)
        state.commit(height)
        for k, v in writes.items():
            if v is None:
                model.pop(k, None)
            else:
                model[k] = v
    return backend, state, model


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks_st)
def test_incremental_root_is_history_independent(blocks: list[dict[bytes, bytes | None]]) -> None:
    """After any sequence of blocks, the incremental root equals a from-scratch build and the definition."""
    backend, state, model = _run_blocks(blocks)
    root = state.app_hash
    assert root == _fresh_root(model)
    assert root == reference_root({_sha(k): _sha(v) for k, v in model.items()})
    if not model:
        assert root == EMPTY_ROOT
    # The stored nodes are exactly those of a fresh build: deletes leave no stale nodes behind.
    # (Only exception: once every key is deleted an empty root node may stay stored; its hash
    # is EMPTY_ROOT, the same as no root at all.)
    fresh_backend = MemoryBackend()
    fresh = CommittedState(fresh_backend)
    fresh.stage(dict(model))
    fresh.commit(1)
    stored = dict(backend._nodes)
    if not model and stored.get(b"") == bytes(16):
        del stored[b""]
    assert stored == fresh_backend._nodes


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks_st)
def test_reopen_gives_the_same_root(blocks: list[dict[bytes, bytes | None]]) -> None:
    """A CommittedState reopened on the backend has the same root, and further blocks agree with a fresh build."""
    backend, state, model = _run_blocks(blocks)
    reopened = CommittedState(backend)
    assert reopened.trie.committed_root == state.app_hash
    assert reopened.app_hash == state.app_hash
    assert reopened.height == len(blocks)
    # Continue on the reopened state: nodes loaded lazily from the backend behave like cached ones.
    extra = {KEYS[0]: None, KEYS[5]: b"after reopen", KEYS[-1]: b"x"}
    reopened.stage(extra)
    after = reopened.commit(len(blocks) + 1)
    state.stage(extra)
    assert state.commit(len(blocks) + 1) == after
    for k, v in extra.items():
        if v is None:
            model.pop(k, None)
        else:
            model[k] = v
    assert after == _fresh_root(model)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks_st, value_st)
def test_proofs_of_presence_and_absence(blocks: list[dict[bytes, bytes | None]], other: bytes) -> None:
    """Every key's proof verifies its committed value (or its absence); tampered claims and proofs fail."""
    backend, state, model = _run_blocks(blocks)
    root = state.app_hash
    reopened = CommittedState(backend)
    for key in KEYS:
        proof = state.prove(key)
        assert reopened.prove(key) == proof
        value = model.get(key)
        assert verify_proof(root, key, value, proof)
        if value is not None:
            assert not verify_proof(root, key, None, proof)  # claims absence of a present key
            assert not verify_proof(root, key, value + b"!", proof)  # tampered value
            if other != value:
                assert not verify_proof(root, key, other, proof)
        else:
            assert not verify_proof(root, key, other, proof)  # claims presence of an absent key
            if proof.other_key_hash:
                # An absence proof through another key's leaf: tampering with that leaf fails.
                bad = replace(proof, other_value_hash=_sha(proof.other_value_hash))
                assert not verify_proof(root, key, None, bad)
                assert not verify_proof(root, key, None, replace(proof, other_key_hash=b"", other_value_hash=b""))
        # Tampering with any level breaks the proof; so does checking against another root.
        levels = list(proof.levels)
        last = bytearray(levels[-1])
        last[0] ^= 1
        levels[-1] = bytes(last)
        assert not verify_proof(root, key, value, replace(proof, levels=tuple(levels)))
        assert not verify_proof(_sha(root), key, value, proof)
        assert not verify_proof(root, key, value, Proof(()))


def test_empty_state_root() -> None:
    """The empty state's root is EMPTY_ROOT, and everything is provably absent from it."""
    state = CommittedState(MemoryBackend())
    assert state.trie.committed_root == EMPTY_ROOT
    assert reference_root({}) == EMPTY_ROOT
    assert state.stage({}) == EMPTY_ROOT
    assert state.commit(1) == EMPTY_ROOT
    proof = state.prove(b"anything")
    assert verify_proof(EMPTY_ROOT, b"anything", None, proof)
    assert not verify_proof(EMPTY_ROOT, b"anything", b"v", proof)
    # Writing then deleting everything returns to the empty root.
    state.stage({b"a": b"1", b"b": b"2"})
    assert state.commit(2) != EMPTY_ROOT
    state.stage({b"a": None, b"b": None})
    assert state.commit(3) == EMPTY_ROOT


# -- trie level: crafted key hashes with long shared prefixes (deep paths) -----------------------

# Key hashes that agree on long prefixes, so leaves are pushed down and collapsed many levels deep.
kh_st = st.builds(
    lambda head, mid, tail: bytes((head,)) * 3 + bytes((mid,)) + bytes(27) + bytes((tail,)),
    st.sampled_from([0x00, 0x0F, 0xF0]),
    st.sampled_from([0x00, 0x01, 0x10]),
    st.integers(0, 3),
)
op_st = st.tuples(kh_st, st.none() | st.integers(0, 5))  # (key hash, value id or delete)
ops_blocks_st = st.lists(st.lists(op_st, max_size=12), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops_blocks_st)
def test_deep_paths_match_the_definition(blocks: list[list[tuple[bytes, int | None]]]) -> None:
    """With key hashes sharing up to 62 nibbles, incremental updates/deletes across commits match the definition."""
    stored: dict[bytes, bytes] = {}
    trie = Trie(stored.get)
    model: dict[bytes, bytes] = {}
    for ops in blocks:
        for kh, value_id in ops:
            if value_id is None:
                trie.delete(kh)
                model.pop(kh, None)
            else:
                vh = _sha(bytes((value_id,)))
                trie.update(kh, vh)
                model[kh] = vh
        for path, node in trie.take_staged().items():
            if node is None:
                stored.pop(path, None)
            else:
                stored[path] = node
        assert trie.committed_root == reference_root(model)
        # A trie reloaded from the stored nodes agrees.
        assert Trie(stored.get).committed_root == trie.committed_root
    # Discarding a staged change restores the committed root.
    before = trie.committed_root
    trie.update(b"\x00" * 32, _sha(b"discard me"))
    trie.discard_staged()
    assert trie.root_hash() == before
