"""What a domain package declares, and the shapes of its parts.

A domain is one folder under `abci_app/` plus one proto package `gridledger/<domain>/v1`.
It declares everything the app needs from it in one `Domain` value (its `DOMAIN` in the
package's `__init__`); `abci_app.registry` assembles them and refuses overlaps. Adding a
domain touches no other domain's files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from abci_app.context import TxContext
from abci_app.params import ParamSpec
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, Event

__all__ = [
    "BlockHook",
    "Domain",
    "GenesisError",
    "GenesisExport",
    "GenesisImport",
    "Invariant",
    "MessageSpec",
    "ParamSpec",
    "QueryHandler",
    "QueryResult",
]


class GenesisError(ValueError):
    """The genesis app_state is invalid; the message says where and why."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """A query answer. With `key` set, `value` is that stored record's bytes (None: absent)
    and the answer can carry a Merkle proof; without it, `value` is a computed view."""

    value: bytes | None
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One transaction message: its protobuf type (the `Any` type URL comes from it), the
    domain's frozen record type, the converter from one to the other (bounds checked there:
    INVALID_ARGUMENT), and the handler of the record (authorise, apply, emit)."""

    proto: type[Message]
    record: type
    convert: Callable[[Any], object]
    handler: Callable[[TxContext, Any], None]

    @property
    def type_url(self) -> str:
        return "/" + self.proto.DESCRIPTOR.full_name

    @property
    def action(self) -> str:
        """snake_case name, e.g. Transfer → transfer (the `message.action` event attribute)."""
        name = self.proto.DESCRIPTOR.name
        return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


QueryHandler = Callable[[KVReader, list[str], Mapping[str, str]], QueryResult]
BlockHook = Callable[[Branch, BlockInfo], list[Event]]
# An invariant returns None when it holds, else a description of the violation.
Invariant = Callable[[KVReader], str | None]
# Genesis import gets the domain's sections of app_state (absent ones omitted) and may
# raise GenesisError with a message naming the field; export returns the same shape.
GenesisImport = Callable[[Branch, BlockInfo, Mapping[str, Any]], None]
GenesisExport = Callable[[KVReader], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Domain:
    name: str
    # one-byte key prefixes of every collection the domain stores (keys.py of the domain)
    key_prefixes: frozenset[int]
    # inclusive error-code range; every code of `errors` lies in it
    error_range: tuple[int, int]
    errors: type[Any]  # an IntEnum of the domain's codes
    messages: tuple[MessageSpec, ...] = ()
    # first path segment of an abci_query path → handler(store, remaining segments, options)
    queries: Mapping[str, QueryHandler] = field(default_factory=dict)
    # event types the domain emits (tx events and block-hook events)
    events: frozenset[str] = frozenset()
    # top-level app_state sections the domain owns, with their import and export
    genesis_sections: tuple[str, ...] = ()
    genesis_import: GenesisImport | None = None
    genesis_export: GenesisExport | None = None
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    # addresses of accounts the domain itself holds money in (escrow); genesis may credit them
    module_accounts: frozenset[bytes] = frozenset()
    begin_block: BlockHook | None = None
    end_block: BlockHook | None = None
    invariants: tuple[Invariant, ...] = ()
