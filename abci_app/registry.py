"""The one place domains are registered, and the tables assembled from them.

Assembly refuses any overlap between domains (and with the chain's own keys and codes):
key prefixes, error-code ranges, message type URLs, query paths, event types, genesis
sections and parameter names. `tests/unit/test_registry.py` checks that it does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from gridwire.contract import chain as chain_contract

from abci_app import keys
from abci_app.accounts.domain import DOMAIN as ACCOUNTS
from abci_app.accounts.genesis import MODULE_ACCOUNTS
from abci_app.certificates.domain import DOMAIN as CERTIFICATES
from abci_app.context import TxContext
from abci_app.devices.domain import DOMAIN as DEVICES
from abci_app.domain import Domain, QueryHandler
from abci_app.errors import CHAIN_ERROR_RANGES, Code
from abci_app.forecasts.domain import DOMAIN as FORECASTS
from abci_app.governance.domain import DOMAIN as GOVERNANCE
from abci_app.grid.domain import DOMAIN as GRID
from abci_app.identity.domain import DOMAIN as IDENTITY
from abci_app.market.domain import DOMAIN as MARKET
from abci_app.params import DOMAIN_PARAMS, PARAM_BOUNDS, ParamSpec
from abci_app.store.branch import KVReader

__all__ = [
    "ACTIONS",
    "DOMAINS",
    "ERROR_NAMES",
    "HANDLERS",
    "MESSAGES",
    "QUERIES",
    "Message_",
    "RegistryError",
    "Tables",
    "assemble",
    "check_invariants",
]

# Registration order is execution order of block hooks and genesis import.
DOMAINS: tuple[Domain, ...] = (IDENTITY, GOVERNANCE, ACCOUNTS, DEVICES, GRID, CERTIFICATES, FORECASTS, MARKET)

CHAIN_QUERY_PATHS = frozenset({chain_contract.Paths.STORE.root, chain_contract.Paths.SIGNED.root})
CHAIN_GENESIS_SECTIONS = frozenset({"params", "nonces"})
CHAIN_EVENTS = chain_contract.EVENTS


class RegistryError(RuntimeError):
    """Two domains (or a domain and the chain) claim the same thing."""


@dataclass(frozen=True, slots=True)
class Message_:  # noqa: N801 - `Message` is protobuf's
    """A registered message type: its protobuf class, converter, handler and action name."""

    domain: str
    proto: type[Message]
    convert: Callable[[Any], object]
    action: str


@dataclass(frozen=True, slots=True)
class Tables:
    messages: dict[str, Message_]  # type URL → message
    handlers: dict[type, Callable[[TxContext, Any], None]]  # record type → handler
    actions: dict[type, str]  # record type → action name
    queries: dict[str, QueryHandler]
    error_names: dict[int, str]
    params: dict[str, ParamSpec]
    module_accounts: dict[bytes, str]  # address → owning domain
    record_domains: dict[type, str]  # record type → the domain that handles it


def _claim(owner: dict[Any, str], items: Iterable[Any], domain: str, what: str) -> None:
    for item in items:
        if item in owner:
            raise RegistryError(f"{what} {item!r} is claimed by both {owner[item]} and {domain}")
        owner[item] = domain


def assemble(domains: tuple[Domain, ...]) -> Tables:
    """Check that `domains` overlap in nothing and build the dispatch tables."""
    prefixes: dict[int, str] = dict.fromkeys(keys.CHAIN_PREFIXES, "chain")
    codes: dict[int, str] = {}
    for low, high in CHAIN_ERROR_RANGES:
        _claim(codes, range(low, high + 1), "chain", "error code")
    urls: dict[str, str] = {}
    paths: dict[str, str] = dict.fromkeys(CHAIN_QUERY_PATHS, "chain")
    event_types: dict[str, str] = dict.fromkeys(CHAIN_EVENTS, "chain")
    sections: dict[str, str] = dict.fromkeys(CHAIN_GENESIS_SECTIONS, "chain")
    param_names: dict[str, str] = dict.fromkeys(PARAM_BOUNDS, "chain")
    names: dict[str, str] = {}
    records: dict[type, str] = {}
    tables = Tables({}, {}, {}, {}, {int(c): c.name for c in Code}, {}, {}, records)
    for d in domains:
        _claim(names, [d.name], d.name, "domain name")
        _claim(prefixes, d.key_prefixes, d.name, "key prefix")
        low, high = d.error_range
        _claim(codes, range(low, high + 1), d.name, "error code")
        for code in d.errors:
            if not low <= int(code) <= high:
                raise RegistryError(f"{d.name} error {code.name}={int(code)} is outside its range {d.error_range}")
            tables.error_names[int(code)] = code.name
        for spec in d.messages:
            _claim(urls, [spec.type_url], d.name, "message type")
            tables.messages[spec.type_url] = Message_(d.name, spec.proto, spec.convert, spec.action)
            _claim(records, [spec.record], d.name, "record type")
            tables.handlers[spec.record] = spec.handler
            tables.actions[spec.record] = spec.action
        _claim(paths, d.queries, d.name, "query path")
        tables.queries.update(d.queries)
        _claim(event_types, d.events, d.name, "event type")
        _claim(sections, d.genesis_sections, d.name, "genesis section")
        if d.genesis_sections and (d.genesis_import is None or d.genesis_export is None):
            raise RegistryError(f"{d.name} owns genesis sections but lacks an import or export")
        _claim(param_names, d.params, d.name, "parameter")
        tables.params.update(d.params)
        _claim(tables.module_accounts, d.module_accounts, d.name, "module account")
    return tables


TABLES = assemble(DOMAINS)
HANDLERS = TABLES.handlers
ACTIONS = TABLES.actions
MESSAGES = TABLES.messages
QUERIES = TABLES.queries
ERROR_NAMES = TABLES.error_names
DOMAIN_PARAMS.update(TABLES.params)
MODULE_ACCOUNTS.update(TABLES.module_accounts)


def check_invariants(store: KVReader) -> list[str]:
    """Every registered invariant's violation (empty when all hold); for tests and audits."""
    return [f"{d.name}: {v}" for d in DOMAINS for inv in d.invariants if (v := inv(store)) is not None]
