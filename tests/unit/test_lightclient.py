"""The light client against a synthetic chain served by a fake node: voting-power threshold,
validator-set changes followed through next_validators_hash, a forged set refused, skipping
verification (more than 1/3 of the trusted power, bisection when too little of it signed) only
within the trusting period. (The encodings are checked against real CometBFT in
tests/integration/test_lightclient.py.)"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from nacl.signing import SigningKey

from clients.lightclient import (
    LightClient,
    NotEnoughTrustError,
    UntrustedHeaderError,
    Validator,
    genesis_validator_set_hash,
    header_hash,
    simple_merkle_root,
    validator_set_hash,
    verify_commit_trusting,
    vote_sign_bytes,
)

CHAIN = "synthetic-1"
GENESIS_TIME = 1_800_000_000


def _keys(n: int, seed: int) -> list[SigningKey]:
    return [SigningKey(bytes([seed, i]) * 16) for i in range(n)]


def _set(keys: list[SigningKey]) -> tuple[tuple[Validator, SigningKey], ...]:
    pairs = [(Validator(bytes(k.verify_key), 10), k) for k in keys]
    return tuple(sorted(pairs, key=lambda p: (-p[0].power, p[0].address)))


def _vjson(v: Validator) -> dict[str, Any]:
    return {
        "address": v.address.hex().upper(),
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": base64.b64encode(v.pub_key).decode()},
        "voting_power": str(v.power),
        "power": str(v.power),
    }


def _time(h: int) -> str:
    return dt.datetime.fromtimestamp(GENESIS_TIME + h, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"


class FakeNode:
    """Serves `commit` and `validators` for a chain whose validator set at height h is sets(h)."""

    def __init__(self, height: int, sets: Any, signers: Any = None) -> None:
        self.sets = sets
        self.signers = signers or (lambda h, pairs: pairs)  # which validators sign block h
        self.headers: dict[int, dict[str, Any]] = {}
        self.calls: list[tuple[str, int]] = []
        last_id = {"hash": "", "parts": {"total": 0, "hash": ""}}
        for h in range(1, height + 2):
            header = {
                "version": {"block": "11", "app": "1"},
                "chain_id": CHAIN,
                "height": str(h),
                "time": _time(h),
                "last_block_id": last_id,
                "last_commit_hash": "AA" * 32,
                "data_hash": "BB" * 32,
                "validators_hash": validator_set_hash([v for v, _ in sets(h)]).hex().upper(),
                "next_validators_hash": validator_set_hash([v for v, _ in sets(h + 1)]).hex().upper(),
                "consensus_hash": "CC" * 32,
                "app_hash": f"{h:064X}",
                "last_results_hash": "DD" * 32,
                "evidence_hash": "EE" * 32,
                "proposer_address": sets(h)[0][0].address.hex().upper(),
            }
            self.headers[h] = header
            last_id = {"hash": header_hash(header).hex().upper(), "parts": {"total": 1, "hash": "11" * 32}}

    def commit(self, height: int) -> dict[str, Any]:
        self.calls.append(("commit", height))
        header = self.headers[height]
        block_id = {"hash": header_hash(header).hex().upper(), "parts": {"total": 1, "hash": "11" * 32}}
        signing = {v.address for v, _ in self.signers(height, self.sets(height))}
        sigs = []
        for v, key in self.sets(height):
            ts = _time(height + 1)
            if v.address in signing:
                raw = key.sign(vote_sign_bytes(CHAIN, height, 0, block_id, ts)).signature
                sigs.append({"block_id_flag": 2, "validator_address": v.address.hex().upper(), "timestamp": ts,
                             "signature": base64.b64encode(raw).decode()})  # fmt: skip
            else:
                sigs.append({"block_id_flag": 1, "validator_address": "", "timestamp": _time(0), "signature": None})
        commit = {"height": str(height), "round": 0, "block_id": block_id, "signatures": sigs}
        return {"signed_header": {"header": header, "commit": commit}, "canonical": True}

    def call(self, method: str, **params: Any) -> Any:
        assert method == "validators"
        height = int(params["height"])
        self.calls.append(("validators", height))
        vals = [_vjson(v) for v, _ in self.sets(height)]
        return {"validators": vals, "total": str(len(vals)), "count": str(len(vals))}


def _genesis(pairs: tuple[tuple[Validator, SigningKey], ...]) -> dict[str, Any]:
    return {
        "chain_id": CHAIN,
        "genesis_time": _time(0),
        "initial_height": "1",
        "validators": [_vjson(v) for v, _ in pairs],
    }


def _client(node: FakeNode, genesis_set: Any, **kwargs: Any) -> LightClient:
    kwargs.setdefault("clock", lambda: GENESIS_TIME + 100)
    return LightClient.from_genesis(node, _genesis(genesis_set), **kwargs)  # type: ignore[arg-type]


A = _set(_keys(4, 1))
B = _set(_keys(3, 2))


def test_simple_merkle_root_shape() -> None:
    """RFC 6962 shape: the split is at the largest power of two below the count."""
    import hashlib

    def h(b: bytes) -> bytes:
        return hashlib.sha256(b).digest()

    leaves = [b"a", b"b", b"c"]
    left = h(b"\x01" + h(b"\x00a") + h(b"\x00b"))
    assert simple_merkle_root(leaves) == h(b"\x01" + left + h(b"\x00c"))
    assert simple_merkle_root([]) == h(b"")


def test_three_of_four_signers_suffice_two_do_not() -> None:
    node = FakeNode(6, lambda h: A, signers=lambda h, pairs: pairs[:3])
    assert _client(node, A).verified_app_hash(5) == (5).to_bytes(32, "big")
    node = FakeNode(6, lambda h: A, signers=lambda h, pairs: pairs[:2])
    with pytest.raises(UntrustedHeaderError, match="not more than 2/3"):
        _client(node, A).verified_app_hash(5)


def test_validator_set_change_is_followed() -> None:
    """Set A signs heights 1-3, set B from 4 on: the client follows header 3's next_validators_hash."""
    node = FakeNode(8, lambda h: A if h <= 3 else B)
    light = _client(node, A)
    assert light.verified_header(8).app_hash == (8).to_bytes(32, "big")
    assert light.verified_header(2).height == 2  # below: by last_block_id hashes


def test_a_forged_validator_set_is_refused() -> None:
    """The node claims set C (its own keys) took over at height 4, but header 3 named B."""
    c_set = _set(_keys(1, 3))
    node = FakeNode(8, lambda h: A if h <= 3 else B)
    liar = FakeNode(8, lambda h: A if h <= 3 else c_set)
    liar.headers = {h: (node.headers[h] if h <= 3 else liar.headers[h]) for h in liar.headers}
    with pytest.raises(UntrustedHeaderError, match="not the one the chain named"):
        _client(liar, A).verified_header(8)
    assert _client(node, A).verified_header(8).height == 8  # the honest chain verifies


def test_skips_within_the_trusting_period_only() -> None:
    node = FakeNode(50, lambda h: A)
    _client(node, A).verified_header(50)
    commits = [h for m, h in node.calls if m == "commit"]
    assert commits == [50]  # one jump: same validator set, trusted header fresh
    node.calls.clear()
    stale = _client(node, A, clock=lambda: GENESIS_TIME + 30 * 86400)
    stale.verified_header(50)
    assert [h for m, h in node.calls if m == "commit"] == list(range(1, 51))  # every header, in order


def test_wrong_genesis_is_refused() -> None:
    node = FakeNode(4, lambda h: A)
    with pytest.raises(UntrustedHeaderError, match="not the trusted validator set"):
        _client(node, B).verified_header(3)


def test_genesis_validator_set_hash_ignores_the_files_order() -> None:
    """A genesis file may list validators in any order; the trusted hash is the set's, in
    CometBFT's order (power descending, then address), like the headers' validators_hash."""
    pairs = _set(_keys(4, 9))
    in_order = validator_set_hash([v for v, _k in pairs])
    reversed_file = {"validators": [_vjson(v) for v, _k in reversed(pairs)]}
    assert genesis_validator_set_hash(reversed_file) == in_order
    assert validator_set_hash([v for v, _k in reversed(pairs)]) != in_order


def _commits(node: FakeNode) -> list[int]:
    return [h for m, h in node.calls if m == "commit"]


def _mixed(kept: tuple[tuple[Validator, SigningKey], ...], new_seed: int, new: int) -> Any:
    return _set([k for _v, k in kept] + _keys(new, new_seed))


@pytest.mark.parametrize(("kept", "commits"), [(2, [20]), (1, [20, 10])])
def test_skipping_needs_more_than_a_third_of_the_trusted_power(kept: int, commits: list[int]) -> None:
    """Set T (3 validators) signs heights 1-10, then a set keeping `kept` of them and two new
    ones. Keeping 2 of 3 (2/3 of T's power), header 20 is verified in one skip; keeping 1 of 3
    (exactly 1/3: not enough) the skip is refused, the client verifies header 10 halfway (still
    signed by T), whose next_validators_hash names the new set, and skips from there to 20
    (fetched once: the refused answer is reused)."""
    t = _set(_keys(3, 11))
    later = _mixed(t[:kept], 12, 2)
    node = FakeNode(20, lambda h: t if h <= 10 else later)
    light = _client(node, t)
    assert light.verified_header(20).app_hash == (20).to_bytes(32, "big")
    assert _commits(node) == commits


def test_bisection_across_complete_set_changes() -> None:
    """A signs 1-20, B 21-40, C from 41 (no validator in common): the client bisects to the
    changes, fetching each header at most once and far fewer than all 60."""
    c_set = _set(_keys(3, 13))
    node = FakeNode(60, lambda h: A if h <= 20 else B if h <= 40 else c_set)
    light = _client(node, A)
    assert light.verified_header(60).app_hash == (60).to_bytes(32, "big")
    commits = _commits(node)
    assert {20, 40} <= set(commits)  # the last header of each set names the next one
    assert len(commits) == len(set(commits)) < 25
    assert light.verified_header(33).height == 33  # below the newest trusted header: by hashes


def test_a_minority_of_the_trusted_set_cannot_skip_the_client_to_a_forged_chain() -> None:
    """From height 4 the node serves a chain signed by one of A's four keys (1/4 of A's power)
    and three keys of its own: no skip to it is accepted, bisection ends at header 3, and the
    set served for height 4 is not the one header 3 named."""
    forged = _mixed(A[:1], 14, 3)
    node = FakeNode(30, lambda h: A)
    liar = FakeNode(30, lambda h: A if h <= 3 else forged)
    liar.headers = {h: (node.headers[h] if h <= 3 else liar.headers[h]) for h in liar.headers}
    with pytest.raises(UntrustedHeaderError, match="not the one the chain named"):
        _client(liar, A).verified_header(30)
    assert max(h for m, h in liar.calls if m == "validators") == 4  # bisected down to 3 -> 4
    signed = liar.commit(30)["signed_header"]
    with pytest.raises(NotEnoughTrustError, match="10 of 40 power"):
        verify_commit_trusting(CHAIN, signed["header"], signed["commit"], [v for v, _k in A])


def test_an_expired_anchor_is_walked_until_a_header_is_fresh_then_skipped_from() -> None:
    """Trusting period 30 s, clock at t=100: headers up to t=70 are too old to skip from, so
    the client walks 1..71 header by header, then skips from 71 straight to 100."""
    node = FakeNode(100, lambda h: A)
    light = _client(node, A, trusting_period=dt.timedelta(seconds=30))
    assert light.verified_header(100).height == 100
    assert _commits(node) == [*range(1, 72), 100]


def test_a_header_from_the_future_is_not_skipped_to() -> None:
    node = FakeNode(50, lambda h: A)
    with pytest.raises(UntrustedHeaderError, match="from the future"):
        _client(node, A, clock=lambda: GENESIS_TIME + 20).verified_header(50)
