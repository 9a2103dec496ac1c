"""The API's code → gRPC status mapping, derived from the contract's code enums."""

from __future__ import annotations

import enum

import grpc
from gridwire.contract.all import ALL_CODES, CODE_ENUMS

from abci_app.errors import Code
from abci_app.registry import DOMAINS
from clients.servers.api_status import CODE_NAMES, EXCEPTIONS, STATUSES, by_rule, code_name, range_owner, status_for


def _ledger_codes() -> dict[int, str]:
    out = {int(c): c.name for c in Code if int(c) != 0}
    for domain in DOMAINS:
        errors: type[enum.IntEnum] = domain.errors
        out.update({int(c): c.name for c in errors})
    return out


def test_every_ledger_code_is_mapped_with_its_name() -> None:
    """Every code the ledger's registry declares has a status and the ledger's name, and no other code has."""
    ledger = _ledger_codes()
    assert {14, 29, 104, 300, 357} <= set(ledger)
    assert set(STATUSES) == set(ledger)
    assert ledger == CODE_NAMES


def test_the_ledger_declares_exactly_the_contract_enums() -> None:
    """The registry's domains use the contract's enums themselves (one declaration, no copy)."""
    assert {d.errors for d in DOMAINS} | {Code} == set(CODE_ENUMS)


def test_every_code_lies_in_a_declared_range() -> None:
    """Each declared code lies in a range of ERROR_RANGES (the range rule always has an owner)."""
    assert [c for c in ALL_CODES if int(c) and not range_owner(int(c))] == []


def test_exceptions_are_needed() -> None:
    """An explicit exception names a status its code's rules would not give (no dead rows)."""
    assert {c.name: s for c, s in EXCEPTIONS.items() if by_rule(c) == s} == {}


def test_authorisation_failures_are_permission_denied() -> None:
    """The brief's authorisation codes map to PERMISSION_DENIED, malformed input to INVALID_ARGUMENT."""
    for code in (10, 11, 14, 29, 30, 104, 123, 308, 351):
        assert status_for(code) is grpc.StatusCode.PERMISSION_DENIED, code
    for code in (1, 4, 16, 107, 139):
        assert status_for(code) is grpc.StatusCode.INVALID_ARGUMENT, code
    assert status_for(100) is grpc.StatusCode.NOT_FOUND
    assert status_for(5) is grpc.StatusCode.ABORTED
    assert status_for(302) is grpc.StatusCode.ALREADY_EXISTS  # DR_EVENT_EXISTS, by name
    assert status_for(354) is grpc.StatusCode.FAILED_PRECONDITION  # INTERVAL_CLOSED, by its range


def test_codes_unknown_to_the_bridge_are_classified_by_name() -> None:
    """A code the contract does not declare (a newer ledger) falls back on the name its log starts with."""
    assert 245 not in STATUSES
    assert code_name(245, "UNKNOWN_ORDER: no order 5") == "UNKNOWN_ORDER"
    assert status_for(245, "UNKNOWN_ORDER: no order 5") is grpc.StatusCode.NOT_FOUND
    assert status_for(246, "ORDER_EXISTS: id taken") is grpc.StatusCode.ALREADY_EXISTS
    assert status_for(247, "NOT_ORDER_OWNER: x") is grpc.StatusCode.PERMISSION_DENIED
    assert status_for(248, "ORDER_TOO_SMALL: x") is grpc.StatusCode.FAILED_PRECONDITION
    assert code_name(249, "lowercase text") == "CODE_249"
