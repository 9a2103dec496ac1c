"""A light client for CometBFT v0.38: headers a client can trust without trusting the node.

A header is accepted only when its commit carries valid Ed25519 precommit signatures of more
than 2/3 of the voting power of a validator set the client already trusts, and the header's
hash (recomputed here from its fields) is the block id those validators signed. The trust
starts from the genesis file's validators (or a trusted height and header hash) and follows
validator-set changes through each verified header's `next_validators_hash`.

Verification skips ahead the way CometBFT's light client does (its "skipping verification"
with bisection): while the trusted header is younger than the trusting period, a later header
is accepted directly when its commit carries valid precommits from more than 1/3 of the
trusted validator set's power (the trust level: under the light client assumption fewer than
1/3 of a trusted set is faulty within the trusting period, so at least one honest validator
vouches for it) and from more than 2/3 of its own validator set. If too little of the trusted
set signed (the validators changed too much), the client verifies the header halfway there
first and tries again from it, so a gap costs O(log n) headers per validator-set turnover, and
an unchanged set costs one header. Adjacent headers need 2/3 of the set their parent named.

A trusted header older than the trusting period is never skipped from: the client then walks
every header after it in order (one `commit` and one `validators` request per height, each
commit's signatures checked) until it reaches a header inside the trusting period, and skips
from there. From a genesis file on a chain older than the trusting period (7 days by default)
that is a walk over nearly the whole chain; such a client should rather start from a trusted
height and header hash obtained out of band (`LightClient.from_trusted_hash`, gridctl's
`--trusted-height/--trusted-hash`). Everything the node sends is treated as untrusted input.

Offline, the same rules let a checker holding only the genesis file trust a header signed
by a later validator set: `LightClient.trust_path` records the headers (with commits and
validator sets) leading from the genesis set to that header's set, and `verify_trust_path`
walks them with no trusting period and no clock. That proves history, an unbroken chain of
signatures from the genesis set; the trusting period protects only live clients, against
long-range attacks by validators that left long ago (retirement exports carry such paths).

    light = LightClient.from_genesis(rpc, json.loads(Path("genesis.json").read_text()))
    app_hash = light.verified_app_hash(height + 1)
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import timestamp_pb2, wrappers_pb2
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from tendermint.crypto import keys_pb2
from tendermint.types import types_pb2, validator_pb2
from tendermint.version import types_pb2 as version_pb2

from clients.proof import ProofError
from clients.rpc import CometRPC, RPCError

__all__ = [
    "BLOCK_ID_FLAG_COMMIT",
    "LightClient",
    "NotEnoughTrustError",
    "SignedHeader",
    "TrustStep",
    "UntrustedHeaderError",
    "Validator",
    "genesis_validator_set_hash",
    "header_hash",
    "header_seconds",
    "simple_merkle_root",
    "validator_set_hash",
    "verify_commit",
    "verify_commit_trusting",
    "verify_trust_path",
    "vote_sign_bytes",
]

BLOCK_ID_FLAG_COMMIT = 2
PRECOMMIT_TYPE = 2  # SignedMsgType SIGNED_MSG_TYPE_PRECOMMIT
ED25519_TYPE = "tendermint/PubKeyEd25519"
DEFAULT_TRUSTING_PERIOD = dt.timedelta(days=7)
MAX_CLOCK_DRIFT = 10  # seconds a header may be ahead of the local clock (CometBFT's default)


class UntrustedHeaderError(ProofError):
    """A header, commit or validator set from the node failed verification."""


class NotEnoughTrustError(UntrustedHeaderError):
    """Too little of the trusted validator set signed a non-adjacent header to skip to it
    (not evidence of an attack: the set changed; verify a header in between first)."""


# -- CometBFT hashing and encodings ------------------------------------------------------


def simple_merkle_root(items: Sequence[bytes]) -> bytes:
    """CometBFT's simple Merkle root (RFC 6962 style): leaf = H(0x00‖item), inner =
    H(0x01‖left‖right), split at the largest power of two below the count; empty = H("")."""
    if not items:
        return hashlib.sha256(b"").digest()
    if len(items) == 1:
        return hashlib.sha256(b"\x00" + items[0]).digest()
    split = 1 << ((len(items) - 1).bit_length() - 1)
    left, right = simple_merkle_root(items[:split]), simple_merkle_root(items[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def _timestamp(text: str) -> timestamp_pb2.Timestamp:
    """An RFC 3339 UTC time with up to nanosecond precision, as a protobuf Timestamp."""
    if not text.endswith("Z"):
        raise UntrustedHeaderError(f"time {text!r} is not in UTC")
    body = text[:-1]
    whole, _, frac = body.partition(".")
    if len(frac) > 9 or (frac and not frac.isdigit()):
        raise UntrustedHeaderError(f"bad fractional seconds in {text!r}")
    try:
        parsed = dt.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")  # noqa: DTZ007 - UTC, checked above
    except ValueError as exc:
        raise UntrustedHeaderError(f"bad time {text!r}") from exc
    return timestamp_pb2.Timestamp(seconds=calendar.timegm(parsed.timetuple()), nanos=int(frac.ljust(9, "0") or 0))


def header_seconds(text: str) -> int:
    """The unix seconds of a header's RFC 3339 UTC time (UntrustedHeaderError when it is not one)."""
    return int(_timestamp(text).seconds)


def _hex(text: Any) -> bytes:
    try:
        return bytes.fromhex(str(text or ""))
    except ValueError as exc:
        raise UntrustedHeaderError(f"bad hex {text!r}") from exc


def _block_id(block_id: Mapping[str, Any]) -> types_pb2.BlockID:
    parts = block_id.get("parts") or {}
    pb = types_pb2.BlockID(hash=_hex(block_id.get("hash")))
    pb.part_set_header.SetInParent()  # non-nullable in CometBFT: always encoded
    pb.part_set_header.total = int(parts.get("total") or 0)
    pb.part_set_header.hash = _hex(parts.get("hash"))
    return pb


def header_hash(header: Mapping[str, Any]) -> bytes:
    """The block hash of a header given in CometBFT's JSON form: the simple Merkle root of its
    14 fields' protobuf encodings, exactly as CometBFT computes `Header.Hash()`."""
    try:
        version = version_pb2.Consensus(
            block=int(header["version"]["block"]), app=int(header["version"].get("app") or 0)
        )

        def b(name: str) -> bytes:
            return wrappers_pb2.BytesValue(value=_hex(header[name])).SerializeToString()

        fields = [
            version.SerializeToString(),
            wrappers_pb2.StringValue(value=str(header["chain_id"])).SerializeToString(),
            wrappers_pb2.Int64Value(value=int(header["height"])).SerializeToString(),
            _timestamp(str(header["time"])).SerializeToString(),
            _block_id(header["last_block_id"]).SerializeToString(),
            b("last_commit_hash"),
            b("data_hash"),
            b("validators_hash"),
            b("next_validators_hash"),
            b("consensus_hash"),
            b("app_hash"),
            b("last_results_hash"),
            b("evidence_hash"),
            b("proposer_address"),
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedHeaderError(f"malformed header: {exc!r}") from exc
    return simple_merkle_root(fields)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def vote_sign_bytes(chain_id: str, height: int, round_: int, block_id: Mapping[str, Any], timestamp: str) -> bytes:
    """The bytes a validator signs for a precommit: the length-delimited protobuf encoding of
    CometBFT's `CanonicalVote` (type=precommit, sfixed64 height and round, canonical block id,
    timestamp, chain id). Fields are written by hand because canonical.proto is not generated;
    the canonical block id has the same wire layout as `BlockID`."""
    body = bytearray()
    body += b"\x08" + _uvarint(PRECOMMIT_TYPE)
    if height:
        body += b"\x11" + height.to_bytes(8, "little", signed=True)
    if round_:
        body += b"\x19" + round_.to_bytes(8, "little", signed=True)
    bid = _block_id(block_id)
    if bid.hash or bid.part_set_header.total or bid.part_set_header.hash:
        raw = bid.SerializeToString()
        body += b"\x22" + _uvarint(len(raw)) + raw
    ts = _timestamp(timestamp).SerializeToString()
    body += b"\x2a" + _uvarint(len(ts)) + ts  # non-nullable: always present
    chain = chain_id.encode()
    if chain:
        body += b"\x32" + _uvarint(len(chain)) + chain
    return _uvarint(len(body)) + bytes(body)


@dataclass(frozen=True, slots=True)
class Validator:
    """One validator: its Ed25519 public key and voting power (the address is derived)."""

    pub_key: bytes
    power: int

    @property
    def address(self) -> bytes:
        return hashlib.sha256(self.pub_key).digest()[:20]

    def proto_bytes(self) -> bytes:
        """`SimpleValidator{pub_key, voting_power}` encoded: the leaf of the validator set hash."""
        return validator_pb2.SimpleValidator(
            pub_key=keys_pb2.PublicKey(ed25519=self.pub_key), voting_power=self.power
        ).SerializeToString()

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> Validator:
        """From CometBFT's JSON (`validators` RPC or genesis); only Ed25519 keys are accepted."""
        key = raw.get("pub_key") or {}
        if key.get("type") != ED25519_TYPE:
            raise UntrustedHeaderError(f"unsupported validator key type {key.get('type')!r}")
        pub = base64.b64decode(key.get("value") or "")
        power = int(raw.get("voting_power", raw.get("power", 0)))
        if len(pub) != 32 or power <= 0:
            raise UntrustedHeaderError("validator with a bad key or non-positive power")
        return Validator(pub, power)


def validator_set_hash(validators: Sequence[Validator]) -> bytes:
    """CometBFT's validator set hash: the simple Merkle root of the validators' encodings, in set order."""
    return simple_merkle_root([v.proto_bytes() for v in validators])


def genesis_validator_set_hash(genesis: Mapping[str, Any]) -> bytes:
    """The validator set hash of a genesis document's validators, in CometBFT's set order
    (a genesis file lists them in any order): what an auditor trusts offline."""
    return validator_set_hash(_sorted_set([Validator.from_json(v) for v in genesis.get("validators") or []]))


def _sorted_set(validators: Sequence[Validator]) -> tuple[Validator, ...]:
    """CometBFT's order of a validator set: voting power descending, then address ascending."""
    return tuple(sorted(validators, key=lambda v: (-v.power, v.address)))


@dataclass(frozen=True, slots=True)
class SignedHeader:
    """A header (CometBFT JSON) with its recomputed hash."""

    header: Mapping[str, Any]
    hash: bytes

    @property
    def height(self) -> int:
        return int(self.header["height"])

    @property
    def app_hash(self) -> bytes:
        return _hex(self.header["app_hash"])

    @property
    def validators_hash(self) -> bytes:
        return _hex(self.header["validators_hash"])

    @property
    def next_validators_hash(self) -> bytes:
        return _hex(self.header["next_validators_hash"])

    @property
    def time(self) -> int:
        return int(_timestamp(str(self.header["time"])).seconds)


def verify_commit(
    chain_id: str, header: Mapping[str, Any], commit: Mapping[str, Any], validators: Sequence[Validator]
) -> SignedHeader:
    """Check that `commit` commits `header` with valid precommits from more than 2/3 of the
    voting power of `validators` (the set `header.validators_hash` must name). Returns the
    header with its hash; raises UntrustedHeaderError otherwise."""
    if str(header.get("chain_id")) != chain_id:
        raise UntrustedHeaderError(f"header is for chain {header.get('chain_id')!r}, not {chain_id!r}")
    hh = header_hash(header)
    if _hex(header.get("validators_hash")) != validator_set_hash(validators):
        raise UntrustedHeaderError("header's validators_hash is not the trusted validator set")
    height, round_, block_id, signatures = _commit_of(header, commit, hh)
    if len(signatures) != len(validators):
        raise UntrustedHeaderError(f"commit has {len(signatures)} signatures for {len(validators)} validators")
    total = sum(v.power for v in validators)
    signed = 0
    for validator, sig in zip(validators, signatures, strict=True):
        if int(sig.get("block_id_flag", 0)) != BLOCK_ID_FLAG_COMMIT:
            continue  # absent or nil: counts for nothing
        if _hex(sig.get("validator_address")) != validator.address:
            raise UntrustedHeaderError("commit signature names the wrong validator")
        message = vote_sign_bytes(chain_id, height, round_, block_id, str(sig.get("timestamp")))
        try:
            VerifyKey(validator.pub_key).verify(message, base64.b64decode(sig.get("signature") or ""))
        except (BadSignatureError, ValueError) as exc:
            raise UntrustedHeaderError(f"bad precommit signature from {validator.address.hex()}") from exc
        signed += validator.power
    if 3 * signed <= 2 * total:
        raise UntrustedHeaderError(f"commit carries {signed} of {total} voting power, not more than 2/3")
    return SignedHeader(header, hh)


def _commit_of(header: Mapping[str, Any], commit: Mapping[str, Any], hh: bytes) -> tuple[int, int, Any, list[Any]]:
    """(height, round, block id, signatures) of a commit that is for this header (hashing to
    `hh`) at its height; UntrustedHeaderError for a malformed commit or another block."""
    try:
        height, round_ = int(header["height"]), int(commit["round"])
        block_id = commit["block_id"]
        signatures = list(commit["signatures"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedHeaderError(f"malformed commit: {exc!r}") from exc
    if int(commit.get("height", -1)) != height:
        raise UntrustedHeaderError("commit is for another height")
    if _hex(block_id.get("hash")) != hh:
        raise UntrustedHeaderError(f"commit signs block {block_id.get('hash')}, but the header hashes to {hh.hex()}")
    return height, round_, block_id, signatures


def verify_commit_trusting(
    chain_id: str, header: Mapping[str, Any], commit: Mapping[str, Any], trusted: Sequence[Validator]
) -> None:
    """Check that validators of the `trusted` set holding more than 1/3 of its voting power
    signed `commit` for `header` (CometBFT's `VerifyCommitLightTrusting` at the default trust
    level 1/3): signatures are matched to trusted validators by address, each counted once and
    checked with the trusted key. Raises NotEnoughTrustError when too little trusted power
    signed, UntrustedHeaderError for a malformed commit or a bad signature."""
    hh = header_hash(header)
    height, round_, block_id, signatures = _commit_of(header, commit, hh)
    by_address = {v.address: v for v in trusted}
    total = sum(v.power for v in trusted)
    signed = 0
    seen: set[bytes] = set()
    for sig in signatures:
        if int(sig.get("block_id_flag", 0)) != BLOCK_ID_FLAG_COMMIT:
            continue
        address = _hex(sig.get("validator_address"))
        validator = by_address.get(address)
        if validator is None:
            continue  # not in the trusted set: counts for nothing here
        if address in seen:
            raise UntrustedHeaderError(f"commit carries two signatures of {address.hex()}")
        seen.add(address)
        message = vote_sign_bytes(chain_id, height, round_, block_id, str(sig.get("timestamp")))
        try:
            VerifyKey(validator.pub_key).verify(message, base64.b64decode(sig.get("signature") or ""))
        except (BadSignatureError, ValueError) as exc:
            raise UntrustedHeaderError(f"bad precommit signature from {address.hex()}") from exc
        signed += validator.power
        if 3 * signed > total:
            return
    raise NotEnoughTrustError(
        f"the trusted validators signing header {height} hold {signed} of {total} power, not more than 1/3"
    )


# -- offline trust paths ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrustStep:
    """One header on a path from a trusted validator set to a later header: the header and
    its commit (CometBFT JSON) and the header's own validator set."""

    header: Mapping[str, Any]
    commit: Mapping[str, Any]
    validators: tuple[Validator, ...]


def _step_from(
    chain_id: str, trusted_hash: bytes, previous: tuple[SignedHeader, tuple[Validator, ...]] | None, step: TrustStep
) -> SignedHeader:
    """Verify `step` from the previous verified step (None: from the trusted set, known by its
    hash, which must then have signed the step itself). Adjacent: the step's set is the one
    the previous header named next. Non-adjacent: its set is the previous header's own or
    next set, or validators holding more than 1/3 of the previous header's set's power signed
    it (NotEnoughTrustError if too few). Always: more than 2/3 of its own set signed it."""
    named = _hex(step.header.get("validators_hash"))
    try:
        height = int(step.header["height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedHeaderError(f"malformed header: {exc!r}") from exc
    if previous is None:
        if named != trusted_hash:
            raise NotEnoughTrustError(f"header {height} is not signed by the trusted validator set")
    else:
        last, last_validators = previous
        if height <= last.height:
            raise UntrustedHeaderError(f"header {height} does not come after header {last.height}")
        if height == last.height + 1:
            if named != last.next_validators_hash:
                raise UntrustedHeaderError(f"header {height} is not signed by the set header {last.height} named")
        elif named not in (last.validators_hash, last.next_validators_hash):
            if str(step.header.get("chain_id")) != chain_id:
                raise UntrustedHeaderError(f"header is for chain {step.header.get('chain_id')!r}, not {chain_id!r}")
            verify_commit_trusting(chain_id, step.header, step.commit, last_validators)
    return verify_commit(chain_id, step.header, step.commit, step.validators)


def verify_trust_path(
    chain_id: str, trusted_validator_set_hash: bytes, steps: Sequence[TrustStep]
) -> tuple[SignedHeader, tuple[Validator, ...]] | None:
    """Walk `steps` from the trusted validator set (e.g. the genesis file's) and return the
    last step's verified header and validator set (None for no steps). The first step must be
    signed by more than 2/3 of the trusted set itself; each later one must come after the one
    before and be verifiable from it by the light client's rules (adjacent: signed by the set
    the previous header named next; non-adjacent: by more than 1/3 of the previous header's
    set's power, or by its own or next set, and by more than 2/3 of its own set), all for
    `chain_id`. Raises UntrustedHeaderError (a ProofError) otherwise.

    This is offline verification of history: it proves an unbroken chain of signatures from
    the trusted set, with no trusting period and no clock. The online light client's trusting
    period guards a live client against long-range attacks (validators that left long ago
    signing a fork with their old keys); an offline checker accepts what the trusted set's
    successors signed, whenever it was signed."""
    previous: tuple[SignedHeader, tuple[Validator, ...]] | None = None
    for step in steps:
        previous = (_step_from(chain_id, trusted_validator_set_hash, previous, step), step.validators)
    return previous


def build_trust_path(
    chain_id: str,
    trusted_validator_set_hash: bytes,
    anchor_height: int,
    target: int,
    fetch: Callable[[int], TrustStep],
) -> list[TrustStep]:
    """A path of steps that `verify_trust_path` accepts from the trusted set to header
    `target` (its last step), found by bisection the way the light client skips: try the
    target from the last verified step; when too little of the trusted power signed it, try
    halfway first. `fetch(height)` returns that height's (untrusted) TrustStep; headers at or
    below `anchor_height` (the genesis anchor: initial height - 1) are never asked for."""
    path: list[TrustStep] = []
    previous: tuple[SignedHeader, tuple[Validator, ...]] | None = None
    targets = [target]
    fetched: dict[int, TrustStep] = {}
    while previous is None or previous[0].height < target:
        base = anchor_height if previous is None else previous[0].height
        while targets[-1] <= base:
            targets.pop()
        height = targets[-1]
        if height not in fetched:
            fetched[height] = fetch(height)
        step = fetched[height]
        try:
            signed = _step_from(chain_id, trusted_validator_set_hash, previous, step)
        except NotEnoughTrustError:
            if height == base + 1:
                raise UntrustedHeaderError(f"header {height} is not signed by the trusted validator set") from None
            targets.append((base + height) // 2)
            continue
        path.append(step)
        previous = (signed, step.validators)
        fetched.pop(height, None)
    return path


# -- the light client --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrustedState:
    """The last verified header's height and time, and the set that signs the next one."""

    height: int
    time: int  # unix seconds of the header (the genesis time for the genesis anchor)
    next_validators: tuple[Validator, ...]


class LightClient:
    """Verifies headers served by an untrusted node against a trusted validator set.

    Thread-safe. Verified headers are cached by height (bounded), so repeated proofs at the
    same height cost no extra round trips.
    """

    CACHE = 256

    def __init__(
        self,
        rpc: CometRPC,
        chain_id: str,
        trusted: TrustedState,
        *,
        trusting_period: dt.timedelta = DEFAULT_TRUSTING_PERIOD,
        clock: Any = time.time,
    ) -> None:
        self.rpc = rpc
        self.chain_id = chain_id
        self._state = trusted
        self._trusting_period = trusting_period.total_seconds()
        self._clock = clock
        self._verified: dict[int, SignedHeader] = {}
        self._lock = threading.Lock()
        self.genesis_anchor: tuple[bytes, int] | None = None  # (validator set hash, initial height - 1)

    @classmethod
    def from_genesis(cls, rpc: CometRPC, genesis: Mapping[str, Any], **kwargs: Any) -> LightClient:
        """Trust the validators of a genesis document the caller holds (not the node's copy).
        The first header's validators_hash must name them, or verification fails."""
        validators = _sorted_set([Validator.from_json(v) for v in genesis.get("validators") or []])
        if not validators:
            raise UntrustedHeaderError("the genesis file lists no validators; use a trusted height and hash")
        initial = max(int(genesis.get("initial_height") or 1), 1)
        start = int(_timestamp(str(genesis["genesis_time"])).seconds)
        client = cls(rpc, str(genesis["chain_id"]), TrustedState(initial - 1, start, validators), **kwargs)
        client.genesis_anchor = (validator_set_hash(validators), initial - 1)
        return client

    @classmethod
    def from_trusted_hash(
        cls, rpc: CometRPC, chain_id: str, height: int, block_hash: bytes, **kwargs: Any
    ) -> LightClient:
        """Trust the header at `height` whose hash is `block_hash` (obtained out of band)."""
        client = cls(rpc, chain_id, TrustedState(0, 0, ()), **kwargs)
        header, _ = client._fetch_commit(height)
        if header_hash(header) != block_hash:
            raise UntrustedHeaderError(f"the node's header {height} is not the trusted one")
        signed = SignedHeader(header, block_hash)
        next_validators = client._fetch_validators(height + 1, signed.next_validators_hash)
        client._state = TrustedState(height, signed.time, next_validators)
        client._verified[height] = signed
        return client

    # -- node access (all answers untrusted) ---------------------------------------------

    def _fetch_commit(self, height: int) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        try:
            signed = self.rpc.commit(height)["signed_header"]
            return signed["header"], signed["commit"]
        except (KeyError, TypeError) as exc:
            raise UntrustedHeaderError(f"malformed commit answer for height {height}") from exc

    def _fetch_validators(self, height: int, expected_hash: bytes) -> tuple[Validator, ...]:
        raw: list[dict[str, Any]] = []
        page = 1
        while True:
            result = self.rpc.call("validators", height=str(height), page=str(page), per_page="100")
            batch = list(result.get("validators") or [])
            raw += batch
            if not batch or len(raw) >= int(result.get("total") or 0) or page >= 100:
                break
            page += 1
        validators = tuple(Validator.from_json(v) for v in raw)
        if validator_set_hash(validators) != expected_hash:
            raise UntrustedHeaderError(f"the validator set served for height {height} is not the one the chain named")
        return validators

    # -- verification ----------------------------------------------------------------------

    def _verify_with(
        self,
        height: int,
        validators: Sequence[Validator],
        fetched: dict[int, tuple[Mapping[str, Any], Mapping[str, Any]]] | None = None,
    ) -> SignedHeader:
        header, commit = self._fetch_cached(height, {} if fetched is None else fetched)
        return verify_commit(self.chain_id, header, commit, validators)

    def _advance(self, signed: SignedHeader) -> None:
        next_validators = self._fetch_validators(signed.height + 1, signed.next_validators_hash)
        self._state = TrustedState(signed.height, signed.time, next_validators)
        self._remember(signed)

    def _remember(self, signed: SignedHeader) -> None:
        self._verified[signed.height] = signed
        while len(self._verified) > self.CACHE:
            del self._verified[min(self._verified)]

    def verified_header(self, height: int) -> SignedHeader:
        """The header at `height`, verified by its commit against the trusted validator sets
        (or, below the trusted height, by the chain of `last_block_id` hashes from a verified
        header above it). Raises UntrustedHeaderError (or RPCError if the node fails)."""
        with self._lock:
            if height in self._verified:
                return self._verified[height]
            if height <= 0:
                raise UntrustedHeaderError(f"no header at height {height}")
            if height <= self._state.height:
                return self._backwards(height)
            fetched: dict[int, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}  # this call's answers
            targets = [height]  # the header to reach, then bisection pivots towards it
            while self._state.height < height:
                state = self._state
                while targets[-1] <= state.height:
                    targets.pop()
                target = targets[-1]
                fresh = self._clock() - state.time < self._trusting_period
                if target == state.height + 1 or not fresh:
                    self._advance(self._verify_with(state.height + 1, state.next_validators, fetched))
                else:
                    try:
                        self._advance(self._verify_skipping(target, state, fetched))
                    except NotEnoughTrustError:
                        targets.append((state.height + target) // 2)  # bisect: verify halfway first
                        continue
                fetched.pop(self._state.height, None)  # kept: only pivots not reached yet (O(log n))
            return self._verified[height]

    def _fetch_cached(
        self, height: int, fetched: dict[int, tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        if height not in fetched:
            header, commit = self._fetch_commit(height)
            if int(header.get("height", -1)) != height:
                raise UntrustedHeaderError(f"asked for header {height}, got {header.get('height')}")
            fetched[height] = (header, commit)
        return fetched[height]

    def _verify_skipping(
        self, height: int, state: TrustedState, fetched: dict[int, tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> SignedHeader:
        """The non-adjacent header at `height`, verified from the (fresh) trusted `state`: more
        than 1/3 of the trusted set's power and more than 2/3 of its own set signed it, and its
        time lies after the trusted header's and not ahead of the local clock."""
        header, commit = self._fetch_cached(height, fetched)
        when = int(_timestamp(str(header.get("time"))).seconds)
        if when <= state.time:
            raise UntrustedHeaderError(f"header {height} is not later than the trusted header {state.height}")
        if when > self._clock() + MAX_CLOCK_DRIFT:
            raise UntrustedHeaderError(f"header {height} is from the future")
        verify_commit_trusting(self.chain_id, header, commit, state.next_validators)
        named = _hex(header.get("validators_hash"))
        same = named == validator_set_hash(state.next_validators)
        validators = state.next_validators if same else self._fetch_validators(height, named)
        return verify_commit(self.chain_id, header, commit, validators)

    def _backwards(self, height: int) -> SignedHeader:
        above = min((h for h in self._verified if h > height), default=None)
        if above is None:
            raise UntrustedHeaderError(f"height {height} is below the trust anchor")
        child = self._verified[above]
        for h in range(above - 1, height - 1, -1):
            header, _ = self._fetch_commit(h)
            hh = header_hash(header)
            if hh != _hex(child.header["last_block_id"]["hash"]) or int(header["height"]) != h:
                raise UntrustedHeaderError(f"header {h} is not the parent of verified header {h + 1}")
            child = SignedHeader(header, hh)
            self._remember(child)
        return child

    def trust_path(self, height: int) -> list[TrustStep]:
        """The headers an offline checker holding only the genesis file needs to trust the
        validator set of header `height`: none when the genesis set signed that header, else
        a path `verify_trust_path` accepts from the genesis set, ending with the first header
        on it whose own set (or the set it names next) is header `height`'s (that header
        itself when no earlier one does). Found by bisection like the light client's skipping,
        without its trusting period: the path proves history, not freshness. Every step is
        verified here; the node is not trusted. UntrustedHeaderError when the client was not
        started from a genesis file (a trusted hash has no path to genesis)."""
        if self.genesis_anchor is None:
            raise UntrustedHeaderError("no genesis anchor: the client started from a trusted hash")
        trusted, anchor_height = self.genesis_anchor
        header, _ = self._fetch_commit(height)
        named = _hex(header.get("validators_hash"))
        if named == trusted:
            return []

        def fetch(h: int) -> TrustStep:
            header, commit = self._fetch_commit(h)
            if int(header.get("height", -1)) != h:
                raise UntrustedHeaderError(f"asked for header {h}, got {header.get('height')}")
            return TrustStep(header, commit, self._fetch_validators(h, _hex(header.get("validators_hash"))))

        path = build_trust_path(self.chain_id, trusted, anchor_height, height, fetch)
        for i, step in enumerate(path):  # stop at the first step that already trusts the target's set
            if named in (_hex(step.header.get("validators_hash")), _hex(step.header.get("next_validators_hash"))):
                return path[: i + 1]
        return path

    def verified_app_hash(self, height: int) -> bytes:
        """The app hash in the verified header at `height` (the state after block `height`-1)."""
        return self.verified_header(height).app_hash

    def committing_app_hash(self, height: int, *, timeout: float = 10.0) -> bytes:
        """The verified app hash committing to the state after block `height` (the one in
        header `height`+1), waiting up to `timeout` for that block."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.verified_app_hash(height + 1)
            except RPCError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
