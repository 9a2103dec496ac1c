"""Chain parameters: stored in state, changed only by governance.

The chain's core parameters are one record (`Params`); each domain declares its own
(`Domain.params`), stored one key each and read with `domain_param`. The registry
publishes the domains' declarations into `DOMAIN_PARAMS` when it assembles them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache

from gridledger.state.v1 import state_pb2

from abci_app import keys
from abci_app.errors import TxError
from abci_app.governance.errors import GovernanceCode
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "DOMAIN_PARAMS",
    "PARAM_BOUNDS",
    "ParamSpec",
    "Params",
    "domain_param",
    "has_domain_param",
    "load_params",
    "save_params",
    "set_domain_param",
]


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """A governable integer parameter of a domain: default and inclusive bounds.

    `genesis_low` (when set, below `low`) is the floor a genesis file may use, e.g. for a
    demonstration on an accelerated clock; governance (ChangeParam) never goes below `low`.
    The work meter (abci_app/work.py) keeps every block bounded at either floor."""

    default: int
    low: int
    high: int
    genesis_low: int | None = None


@dataclass(frozen=True, slots=True)
class Params:
    max_tx_bytes: int = 65_536
    max_msgs_per_tx: int = 64
    voting_period_seconds: int = 7 * 24 * 3600
    quorum_numerator: int = 2
    quorum_denominator: int = 3
    max_memo_bytes: int = 256
    max_pending_txs_per_signer: int = 1_000
    # work units (abci_app/work.py): a tx above min(max_tx_work, max_block_work) is refused
    # (WORK_LIMIT_EXCEEDED); the txs of a block together stay within max_block_work
    max_tx_work: int = 20_000
    max_block_work: int = 100_000

    def with_value(self, name: str, value: int) -> Params:
        if name not in PARAM_BOUNDS:
            raise TxError(GovernanceCode.INVALID_PROPOSAL, f"unknown parameter {name!r}; known: {known_params()}")
        low, high = PARAM_BOUNDS[name]
        if not low <= value <= high:
            raise TxError(GovernanceCode.INVALID_PROPOSAL, f"parameter {name} must be in [{low}, {high}], got {value}")
        updated = replace(self, **{name: value})
        if updated.quorum_numerator >= updated.quorum_denominator:
            raise TxError(GovernanceCode.INVALID_PROPOSAL, "quorum_numerator must be below quorum_denominator")
        return updated

    def encode(self) -> bytes:
        return state_pb2.Params(**{f.name: getattr(self, f.name) for f in fields(self)}).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> Params:
        return _decode(raw)


# Inclusive bounds for every governable core parameter.
PARAM_BOUNDS: dict[str, tuple[int, int]] = {
    "max_tx_bytes": (1_024, 4_194_304),
    "max_msgs_per_tx": (1, 1_024),
    "voting_period_seconds": (10, 365 * 24 * 3600),
    "quorum_numerator": (1, 1_000),
    "quorum_denominator": (1, 1_000),
    "max_memo_bytes": (0, 4_096),
    "max_pending_txs_per_signer": (1, 1_000_000),
    # the worst legal block: max_block_work units (tests/unit/test_work.py proves the meter is an
    # upper bound of the store writes; tests/bench measures the time of such a block)
    "max_tx_work": (2_000, 100_000),  # >= one day-long reading at the shortest governed periods (1,167)
    "max_block_work": (10_000, 200_000),
}

# name → spec of every domain parameter (filled by the registry).
DOMAIN_PARAMS: dict[str, ParamSpec] = {}


def known_params() -> list[str]:
    return sorted([*PARAM_BOUNDS, *DOMAIN_PARAMS])


@lru_cache(maxsize=64)
def _decode(raw: bytes) -> Params:
    """Cached by the stored bytes: every transaction reads the parameters."""
    pb = state_pb2.Params.FromString(raw)
    values = {f.name: getattr(pb, f.name) for f in fields(Params)}
    # Added after the first records were written: proto3 reads them as 0 where absent, and 0 is
    # below their minimum, so 0 can only mean "absent" (other fields may legitimately be 0).
    for name in ("max_pending_txs_per_signer", "max_tx_work", "max_block_work"):
        if values[name] == 0:
            values[name] = getattr(Params(), name)
    return Params(**values)


def load_params(store: KVReader) -> Params:
    raw = store.get(keys.params())
    return Params() if raw is None else Params.decode(raw)


def save_params(store: Branch, params: Params) -> None:
    store.set(keys.params(), params.encode())


def domain_param(store: KVReader, name: str) -> int:
    """A domain parameter's current value (its declared default until governance sets it)."""
    raw = store.get(keys.param(name))
    if raw is not None:
        return int.from_bytes(raw, "big", signed=True)
    return DOMAIN_PARAMS[name].default


def has_domain_param(store: KVReader, name: str) -> bool:
    """Whether governance or genesis has set the domain parameter (else it follows its default)."""
    return store.get(keys.param(name)) is not None


def set_domain_param(store: Branch, name: str, value: int, *, genesis: bool = False) -> None:
    """Set a domain parameter within its declared bounds (INVALID_PROPOSAL otherwise); a
    genesis file (`genesis`) may go down to the spec's `genesis_low`."""
    spec = DOMAIN_PARAMS.get(name)
    if spec is None:
        raise TxError(GovernanceCode.INVALID_PROPOSAL, f"unknown parameter {name!r}; known: {known_params()}")
    low = spec.genesis_low if genesis and spec.genesis_low is not None else spec.low
    if not low <= value <= spec.high:
        raise TxError(GovernanceCode.INVALID_PROPOSAL, f"parameter {name} must be in [{low}, {spec.high}], got {value}")
    store.set(keys.param(name), value.to_bytes(8, "big", signed=True))
