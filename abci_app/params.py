"""Chain parameters: stored in state, changed only by governance."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache

from abci_app import keys
from abci_app.errors import Code, TxError
from abci_app.pb import state_pb2
from abci_app.store.branch import Branch, KVReader

__all__ = ["PARAM_BOUNDS", "Params", "load_params", "save_params"]


@dataclass(frozen=True, slots=True)
class Params:
    max_tx_bytes: int = 65_536
    max_msgs_per_tx: int = 64
    voting_period_seconds: int = 7 * 24 * 3600
    quorum_numerator: int = 2
    quorum_denominator: int = 3
    max_memo_bytes: int = 256

    def with_value(self, name: str, value: int) -> Params:
        if name not in PARAM_BOUNDS:
            raise TxError(Code.INVALID_PROPOSAL, f"unknown parameter {name!r}; known: {sorted(PARAM_BOUNDS)}")
        low, high = PARAM_BOUNDS[name]
        if not low <= value <= high:
            raise TxError(Code.INVALID_PROPOSAL, f"parameter {name} must be in [{low}, {high}], got {value}")
        updated = replace(self, **{name: value})
        if updated.quorum_numerator >= updated.quorum_denominator:
            raise TxError(Code.INVALID_PROPOSAL, "quorum_numerator must be below quorum_denominator")
        return updated

    def encode(self) -> bytes:
        return state_pb2.Params(**{f.name: getattr(self, f.name) for f in fields(self)}).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> Params:
        return _decode(raw)


# Inclusive bounds for every governable parameter.
PARAM_BOUNDS: dict[str, tuple[int, int]] = {
    "max_tx_bytes": (1_024, 4_194_304),
    "max_msgs_per_tx": (1, 1_024),
    "voting_period_seconds": (10, 365 * 24 * 3600),
    "quorum_numerator": (1, 1_000),
    "quorum_denominator": (1, 1_000),
    "max_memo_bytes": (0, 4_096),
}


@lru_cache(maxsize=64)
def _decode(raw: bytes) -> Params:
    """Cached by the stored bytes: every transaction reads the parameters."""
    pb = state_pb2.Params.FromString(raw)
    return Params(**{f.name: getattr(pb, f.name) for f in fields(Params)})


def load_params(store: KVReader) -> Params:
    raw = store.get(keys.params())
    return Params() if raw is None else Params.decode(raw)


def save_params(store: Branch, params: Params) -> None:
    store.set(keys.params(), params.encode())
