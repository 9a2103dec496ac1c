"""What a domain package plugs into the app: messages, handlers, queries and block hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from abci_app.context import TxContext
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, Event

__all__ = ["BlockHook", "Domain", "Invariant", "QueryHandler", "QueryResult"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """A query answer. With `key` set, `value` is that stored record's bytes (None: absent)
    and the answer can carry a Merkle proof; without it, `value` is a computed view."""

    value: bytes | None
    key: bytes | None = None


QueryHandler = Callable[[KVReader, list[str]], QueryResult]
BlockHook = Callable[[Branch, BlockInfo], list[Event]]
# An invariant returns None when it holds, else a description of the violation.
Invariant = Callable[[KVReader], str | None]


@dataclass(frozen=True, slots=True)
class Domain:
    name: str
    # `Msg` oneof field name → converter from protobuf to the domain's frozen record
    messages: Mapping[str, Callable[[Any], object]]
    # record type → handler
    handlers: Mapping[type, Callable[[TxContext, Any], None]]
    # first path segment of an abci_query path → handler of the remaining segments
    queries: Mapping[str, QueryHandler] = field(default_factory=dict)
    begin_block: BlockHook | None = None
    end_block: BlockHook | None = None
    invariants: tuple[Invariant, ...] = ()
