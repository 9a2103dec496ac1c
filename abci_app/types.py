"""Small shared types: ids, block info, events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

__all__ = ["Address", "BlockInfo", "Event", "OrgId", "ValidatorUpdate"]

Address = NewType("Address", bytes)  # 20 bytes
OrgId = NewType("OrgId", str)


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """What a block's execution may know about the world: nothing but the request's fields."""

    chain_id: str
    height: int
    time_ns: int  # block time, nanoseconds since the Unix epoch

    @property
    def time(self) -> int:
        """Block time in whole seconds."""
        return self.time_ns // 1_000_000_000


@dataclass(frozen=True, slots=True)
class Event:
    """An ABCI event; every attribute is indexed so tx_search and subscriptions find it."""

    type: str
    attributes: tuple[tuple[str, str], ...]

    @staticmethod
    def of(type_: str, **attrs: object) -> Event:
        return Event(type_, tuple((k, str(v)) for k, v in attrs.items()))


@dataclass(frozen=True, slots=True)
class ValidatorUpdate:
    pub_key: bytes  # 32-byte Ed25519
    power: int
