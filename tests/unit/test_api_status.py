"""The API's code table agrees with the ledger's error enums (names and coverage)."""

from __future__ import annotations

import enum

import grpc

from abci_app.errors import Code
from abci_app.registry import DOMAINS
from clients.servers.api_status import CODE_NAMES, code_name, status_for


def _ledger_codes() -> dict[int, str]:
    out = {int(c): c.name for c in Code if int(c) != 0}
    for domain in DOMAINS:
        errors: type[enum.IntEnum] = domain.errors
        out.update({int(c): c.name for c in errors})
    return out


def test_known_codes_have_the_ledger_names() -> None:
    """Every code the table names is named the same by the ledger (codes are never renumbered)."""
    ledger = _ledger_codes()
    assert {14, 29, 104} <= set(ledger)
    wrong = {c: (n, ledger.get(c)) for c, n in CODE_NAMES.items() if c in ledger and ledger[c] != n}
    assert wrong == {}


def test_authorisation_failures_are_permission_denied() -> None:
    """The brief's authorisation codes map to PERMISSION_DENIED, malformed input to INVALID_ARGUMENT."""
    for code in (10, 11, 14, 29, 30, 104, 123):
        assert status_for(code) is grpc.StatusCode.PERMISSION_DENIED, code
    for code in (1, 4, 16, 107):
        assert status_for(code) is grpc.StatusCode.INVALID_ARGUMENT, code
    assert status_for(100) is grpc.StatusCode.NOT_FOUND
    assert status_for(5) is grpc.StatusCode.ABORTED


def test_codes_of_later_domains_are_classified_by_name() -> None:
    """A code the table does not list falls back on the name its log starts with."""
    assert code_name(217, "UNKNOWN_ORDER: no order 5") == "UNKNOWN_ORDER"
    assert status_for(217, "UNKNOWN_ORDER: no order 5") is grpc.StatusCode.NOT_FOUND
    assert status_for(218, "ORDER_EXISTS: id taken") is grpc.StatusCode.ALREADY_EXISTS
    assert status_for(219, "NOT_ORDER_OWNER: x") is grpc.StatusCode.PERMISSION_DENIED
    assert status_for(220, "ORDER_TOO_SMALL: x") is grpc.StatusCode.FAILED_PRECONDITION
    assert code_name(221, "lowercase text") == "CODE_221"
