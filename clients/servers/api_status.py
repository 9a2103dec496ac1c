"""Ledger result codes → gRPC status codes, for the API services.

Derived from the contract's code enums (`gridwire.contract`): every declared code is mapped,
by the first rule that applies:

1. an explicit exception (`EXCEPTIONS`, each a declared code whose rule would say otherwise);
2. its name: UNKNOWN_… is NOT_FOUND; …_EXISTS or ALREADY_… is ALREADY_EXISTS; NOT_A_… (the
   referent's kind) is FAILED_PRECONDITION; NOT_…, …_NOT_ALLOWED or …UNAUTHORIZED is
   PERMISSION_DENIED; INVALID_… or …_INVALID is INVALID_ARGUMENT;
3. its range: the chain's envelope and the devices' readings and registry are malformed input
   (INVALID_ARGUMENT); every other range's failures are FAILED_PRECONDITION.

A code this bridge does not know (a ledger newer than the bridge) is classified by rule 2 on
the name its log starts with, else FAILED_PRECONDITION.
"""

from __future__ import annotations

from enum import IntEnum

import grpc
from gridwire.contract.accounts import AccountsCode
from gridwire.contract.all import ALL_CODES, ERROR_RANGES
from gridwire.contract.chain import Code
from gridwire.contract.devices import DevicesCode
from gridwire.contract.identity import IdentityCode

__all__ = ["CODE_NAMES", "EXCEPTIONS", "RANGE_DEFAULTS", "STATUSES", "code_name", "status_for"]

S = grpc.StatusCode

# the status of a code no name rule classifies, by the owner of its range (absent: FAILED_PRECONDITION)
RANGE_DEFAULTS: dict[str, grpc.StatusCode] = {"chain": S.INVALID_ARGUMENT, "devices": S.INVALID_ARGUMENT}

EXCEPTIONS: dict[IntEnum, grpc.StatusCode] = {
    Code.NONCE_TOO_LOW: S.ABORTED,  # retry with the next nonce
    Code.UNKNOWN_SIGNER: S.PERMISSION_DENIED,  # the signer, not a referent
    Code.MEMBER_REVOKED: S.PERMISSION_DENIED,
    Code.CERT_EXPIRED: S.PERMISSION_DENIED,
    Code.ORG_INACTIVE: S.PERMISSION_DENIED,
    Code.UNKNOWN_MESSAGE: S.INVALID_ARGUMENT,  # a message type, not a referent
    Code.INTERNAL: S.INTERNAL,
    Code.MEMPOOL_SHARE_EXCEEDED: S.RESOURCE_EXHAUSTED,
    Code.WORK_LIMIT_EXCEEDED: S.RESOURCE_EXHAUSTED,
    Code.QUERY_UNKNOWN_PATH: S.NOT_FOUND,
    Code.QUERY_NOT_FOUND: S.NOT_FOUND,
    Code.QUERY_HEIGHT_UNAVAILABLE: S.OUT_OF_RANGE,
    Code.QUERY_PRIVATE: S.PERMISSION_DENIED,
    Code.READ_EXPIRED: S.UNAUTHENTICATED,
    Code.READ_BAD_SIGNATURE: S.UNAUTHENTICATED,
    Code.READ_WRONG_PATH: S.UNAUTHENTICATED,
    Code.READ_DENIED: S.PERMISSION_DENIED,
    Code.READ_BAD_GRANT: S.PERMISSION_DENIED,
    IdentityCode.CERT_FOREIGN_CA: S.PERMISSION_DENIED,
    IdentityCode.CERT_REVOKED: S.PERMISSION_DENIED,
    AccountsCode.AMOUNT_OVERFLOW: S.INVALID_ARGUMENT,
    DevicesCode.RETIRED_KEY: S.PERMISSION_DENIED,
    DevicesCode.DEVICE_SUSPENDED: S.FAILED_PRECONDITION,
    DevicesCode.SEQ_REPLAYED: S.ALREADY_EXISTS,
    DevicesCode.DEVICE_STATE: S.FAILED_PRECONDITION,
    DevicesCode.DEVICE_CA_UNKNOWN: S.PERMISSION_DENIED,
    DevicesCode.DEVICE_CA_REVOKED: S.PERMISSION_DENIED,
    DevicesCode.DEVICE_CERT_EXPIRED: S.PERMISSION_DENIED,
    DevicesCode.DEVICE_CERT_REQUIRED: S.FAILED_PRECONDITION,
    DevicesCode.NOT_CERTIFIED: S.FAILED_PRECONDITION,  # the device's state, not the signer's authority
    DevicesCode.NOT_A_GENERATOR: S.INVALID_ARGUMENT,
    DevicesCode.NOT_COMMISSIONED: S.FAILED_PRECONDITION,
    DevicesCode.SELF_ATTESTATION: S.PERMISSION_DENIED,
}


def by_name(name: str) -> grpc.StatusCode | None:
    """Rule 2: the status a code's name says, or None when no name rule applies."""
    if name.startswith("UNKNOWN_"):
        return S.NOT_FOUND
    if name.endswith("_EXISTS") or name.startswith("ALREADY_"):
        return S.ALREADY_EXISTS
    if name.startswith("NOT_A_"):
        return S.FAILED_PRECONDITION
    if name.startswith("NOT_") or name.endswith(("_NOT_ALLOWED", "UNAUTHORIZED")):
        return S.PERMISSION_DENIED
    if name.startswith("INVALID_") or name.endswith("_INVALID"):
        return S.INVALID_ARGUMENT
    return None


def range_owner(code: int) -> str:
    """Who declares codes in the range `code` lies in ('' for none)."""
    for owner, ranges in ERROR_RANGES.items():
        if any(low <= code <= high for low, high in ranges):
            return owner
    return ""


def by_rule(code: IntEnum) -> grpc.StatusCode:
    """Rules 2 and 3 for a declared code."""
    return by_name(code.name) or RANGE_DEFAULTS.get(range_owner(int(code)), S.FAILED_PRECONDITION)


# every declared non-zero code → its status
STATUSES: dict[int, grpc.StatusCode] = {int(c): EXCEPTIONS.get(c) or by_rule(c) for c in ALL_CODES if int(c)}
CODE_NAMES: dict[int, str] = {int(c): c.name for c in ALL_CODES if int(c)}


def code_name(code: int, log: str = "") -> str:
    """The ledger's name for `code`; for a code the contract does not know, the name the log starts with."""
    if code in CODE_NAMES:
        return CODE_NAMES[code]
    head = log.split(":", 1)[0].strip()
    return head if head.isupper() and head.replace("_", "").isalnum() else f"CODE_{code}"


def status_for(code: int, log: str = "") -> grpc.StatusCode:
    """The gRPC status for a non-zero ledger code (see the module docstring for unknown codes)."""
    if code in STATUSES:
        return STATUSES[code]
    return by_name(code_name(code, log)) or S.FAILED_PRECONDITION
