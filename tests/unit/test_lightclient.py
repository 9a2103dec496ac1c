"""The light client against a synthetic chain served by a fake node: voting-power threshold,
validator-set changes followed through next_validators_hash, a forged set refused, skipping
only within the trusting period. (The encodings are checked against real CometBFT in
tests/integration/test_lightclient.py.)"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from nacl.signing import SigningKey

from clients.lightclient import (
    LightClient,
    UntrustedHeaderError,
    Validator,
    genesis_validator_set_hash,
    header_hash,
    simple_merkle_root,
    validator_set_hash,
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
