"""The registry assembles the domains and refuses any overlap between them (or with the chain)."""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum

import pytest

from abci_app.accounts.domain import DOMAIN as ACCOUNTS
from abci_app.domain import Domain
from abci_app.governance.domain import DOMAIN as GOVERNANCE
from abci_app.grid.domain import DOMAIN as GRID
from abci_app.identity.domain import DOMAIN as IDENTITY
from abci_app.params import ParamSpec
from abci_app.registry import DOMAINS, RegistryError, assemble


class _Codes(IntEnum):
    ONLY = 500


def _blank(name: str = "extra") -> Domain:
    return Domain(name=name, key_prefixes=frozenset({0x7E}), error_range=(500, 509), errors=_Codes)


def test_the_registered_domains_assemble() -> None:
    """identity, governance and accounts (and whatever follows) overlap in nothing."""
    tables = assemble(DOMAINS)
    assert "/gridledger.accounts.v1.Transfer" in tables.messages
    assert {"balance", "member", "proposal"} <= tables.queries.keys()
    assert assemble((*DOMAINS, _blank())).error_names[500] == "ONLY"


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"key_prefixes": ACCOUNTS.key_prefixes}, "key prefix"),
        ({"key_prefixes": frozenset({0x06})}, "key prefix"),  # the chain's nonces
        ({"error_range": (60, 61)}, "error code"),
        ({"error_range": (95, 99)}, "error code"),  # the chain's query codes
        ({"messages": ACCOUNTS.messages[:1]}, "message type"),
        ({"queries": {"balance": ACCOUNTS.queries["balance"]}}, "query path"),
        ({"queries": {"store": ACCOUNTS.queries["balance"]}}, "query path"),
        ({"events": frozenset({"transfer"})}, "event type"),
        ({"genesis_sections": ("orgs",)}, "genesis section"),
        ({"genesis_sections": ("nonces",)}, "genesis section"),  # the chain's
        ({"params": {"max_tx_bytes": ParamSpec(1, 0, 2)}}, "parameter"),
        ({"name": "identity"}, "domain name"),
    ],
)
def test_overlaps_are_refused(change: dict[str, object], what: str) -> None:
    """A new domain claiming anything another already owns fails assembly with a message naming it."""
    extra = replace(_blank(), **change)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match=what):
        assemble((IDENTITY, GOVERNANCE, ACCOUNTS, extra))


def test_a_module_account_belongs_to_one_domain() -> None:
    (escrow,) = GRID.module_accounts
    assert assemble(DOMAINS).module_accounts[escrow] == "grid"
    with pytest.raises(RegistryError, match="module account"):
        assemble((*DOMAINS, replace(_blank(), module_accounts=frozenset({escrow}))))


def test_error_codes_must_lie_in_the_declared_range() -> None:
    """A code outside the domain's own range is refused even if nobody else owns it."""
    with pytest.raises(RegistryError, match="outside its range"):
        assemble((*DOMAINS, replace(_blank(), error_range=(510, 519))))


def test_genesis_sections_need_import_and_export() -> None:
    with pytest.raises(RegistryError, match="lacks an import or export"):
        assemble((*DOMAINS, replace(_blank(), genesis_sections=("widgets",))))
