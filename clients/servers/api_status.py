"""Ledger result codes → gRPC status codes, for the API services (clients/ cannot import abci_app).

The numbers are the ledger's consensus error codes (abci_app/errors.py and each domain's
errors.py); `tests/unit/test_api_status.py` checks every one of them is classified here and
that the names agree. A code not listed (a domain added later) is FAILED_PRECONDITION, except
that a name starting UNKNOWN_ is NOT_FOUND, one ending _EXISTS is ALREADY_EXISTS, and one
starting NOT_ (but not NOT_A_, a referent's kind) or ending _NOT_ALLOWED / UNAUTHORIZED is
PERMISSION_DENIED.
"""

from __future__ import annotations

import grpc

__all__ = ["CODE_NAMES", "code_name", "status_for"]

S = grpc.StatusCode

# code → (name, status). Authorisation failures are PERMISSION_DENIED, malformed input
# INVALID_ARGUMENT, absent referents NOT_FOUND.
_TABLE: dict[int, tuple[str, grpc.StatusCode]] = {
    1: ("TX_MALFORMED", S.INVALID_ARGUMENT),
    2: ("TX_TOO_LARGE", S.INVALID_ARGUMENT),
    3: ("WRONG_CHAIN_ID", S.INVALID_ARGUMENT),
    4: ("BAD_SIGNATURE", S.INVALID_ARGUMENT),
    5: ("NONCE_TOO_LOW", S.ABORTED),
    6: ("TX_TIMED_OUT", S.INVALID_ARGUMENT),
    7: ("TOO_MANY_MESSAGES", S.INVALID_ARGUMENT),
    8: ("NO_MESSAGES", S.INVALID_ARGUMENT),
    9: ("MEMO_TOO_LONG", S.INVALID_ARGUMENT),
    10: ("UNKNOWN_SIGNER", S.PERMISSION_DENIED),
    11: ("MEMBER_REVOKED", S.PERMISSION_DENIED),
    12: ("CERT_EXPIRED", S.PERMISSION_DENIED),
    13: ("ORG_INACTIVE", S.PERMISSION_DENIED),
    14: ("UNAUTHORIZED", S.PERMISSION_DENIED),
    15: ("UNKNOWN_MESSAGE", S.INVALID_ARGUMENT),
    16: ("INVALID_ARGUMENT", S.INVALID_ARGUMENT),
    17: ("INTERNAL", S.INTERNAL),
    18: ("MEMPOOL_SHARE_EXCEEDED", S.RESOURCE_EXHAUSTED),
    19: ("WORK_LIMIT_EXCEEDED", S.RESOURCE_EXHAUSTED),
    20: ("CERT_INVALID", S.INVALID_ARGUMENT),
    21: ("CERT_FOREIGN_CA", S.PERMISSION_DENIED),
    22: ("CERT_REVOKED", S.PERMISSION_DENIED),
    23: ("ALREADY_ENROLLED", S.ALREADY_EXISTS),
    24: ("UNKNOWN_ORG", S.NOT_FOUND),
    25: ("ORG_EXISTS", S.ALREADY_EXISTS),
    26: ("UNKNOWN_MEMBER", S.NOT_FOUND),
    27: ("CERT_NOT_YET_VALID", S.FAILED_PRECONDITION),
    28: ("CERT_ROLE_NOT_ALLOWED", S.PERMISSION_DENIED),
    29: ("ROLE_NOT_ALLOWED", S.PERMISSION_DENIED),
    30: ("NOT_ADMIN_OF_ORG", S.PERMISSION_DENIED),
    31: ("ROLE_NOT_HELD", S.FAILED_PRECONDITION),
    32: ("DEVICE_CA_EXISTS", S.ALREADY_EXISTS),
    33: ("UNKNOWN_DEVICE_CA", S.NOT_FOUND),
    40: ("UNKNOWN_PROPOSAL", S.NOT_FOUND),
    41: ("PROPOSAL_CLOSED", S.FAILED_PRECONDITION),
    42: ("ALREADY_VOTED", S.ALREADY_EXISTS),
    43: ("INVALID_PROPOSAL", S.INVALID_ARGUMENT),
    60: ("INSUFFICIENT_FUNDS", S.FAILED_PRECONDITION),
    61: ("AMOUNT_OVERFLOW", S.INVALID_ARGUMENT),
    62: ("INVALID_AMOUNT", S.INVALID_ARGUMENT),
    63: ("UNKNOWN_ACCOUNT", S.NOT_FOUND),
    90: ("QUERY_UNKNOWN_PATH", S.NOT_FOUND),
    91: ("QUERY_NOT_FOUND", S.NOT_FOUND),
    92: ("QUERY_BAD_REQUEST", S.INVALID_ARGUMENT),
    93: ("QUERY_HEIGHT_UNAVAILABLE", S.OUT_OF_RANGE),
    100: ("UNKNOWN_DEVICE", S.NOT_FOUND),
    101: ("BAD_READING_SIGNATURE", S.INVALID_ARGUMENT),
    102: ("RETIRED_KEY", S.PERMISSION_DENIED),
    103: ("DEVICE_SUSPENDED", S.FAILED_PRECONDITION),
    104: ("RELAY_NOT_ALLOWED", S.PERMISSION_DENIED),
    105: ("SEQ_REPLAYED", S.ALREADY_EXISTS),
    106: ("INTERVAL_OVERLAP", S.INVALID_ARGUMENT),
    107: ("BAD_INTERVAL", S.INVALID_ARGUMENT),
    108: ("REGISTER_DECREASED", S.INVALID_ARGUMENT),
    109: ("ABOVE_NAMEPLATE", S.INVALID_ARGUMENT),
    110: ("INTERVAL_IN_FUTURE", S.INVALID_ARGUMENT),
    111: ("READING_BEFORE_REGISTRATION", S.INVALID_ARGUMENT),
    112: ("READING_TOO_SHORT", S.INVALID_ARGUMENT),
    120: ("DEVICE_EXISTS", S.ALREADY_EXISTS),
    121: ("UNKNOWN_SITE", S.NOT_FOUND),
    122: ("SITE_EXISTS", S.ALREADY_EXISTS),
    123: ("NOT_DEVICE_OWNER", S.PERMISSION_DENIED),
    124: ("UNKNOWN_OWNER", S.NOT_FOUND),
    125: ("KEY_NOT_NEW", S.INVALID_ARGUMENT),
    126: ("DEVICE_STATE", S.FAILED_PRECONDITION),
    127: ("NOT_SITE_OWNER", S.PERMISSION_DENIED),
    128: ("SITE_MISMATCH", S.INVALID_ARGUMENT),
    129: ("DEVICE_CERT_INVALID", S.INVALID_ARGUMENT),
    130: ("DEVICE_CA_UNKNOWN", S.PERMISSION_DENIED),
    131: ("DEVICE_CA_REVOKED", S.PERMISSION_DENIED),
    132: ("DEVICE_CERT_EXPIRED", S.PERMISSION_DENIED),
    133: ("DEVICE_CERT_KEY_MISMATCH", S.INVALID_ARGUMENT),
    134: ("DEVICE_CERT_SERIAL_MISMATCH", S.INVALID_ARGUMENT),
    135: ("DEVICE_CERT_KIND_MISMATCH", S.INVALID_ARGUMENT),
    136: ("DEVICE_CERT_NAMEPLATE_MISMATCH", S.INVALID_ARGUMENT),
    137: ("DEVICE_CERT_REQUIRED", S.FAILED_PRECONDITION),
    138: ("NOT_CERTIFIED", S.FAILED_PRECONDITION),
    139: ("NOT_A_GENERATOR", S.INVALID_ARGUMENT),
    140: ("NOT_COMMISSIONED", S.FAILED_PRECONDITION),
    141: ("BAD_ATTESTATION", S.INVALID_ARGUMENT),
    142: ("SELF_ATTESTATION", S.PERMISSION_DENIED),
    143: ("NOT_ATTESTING_ORG", S.PERMISSION_DENIED),
    150: ("SOC_OUT_OF_BOUNDS", S.INVALID_ARGUMENT),
    151: ("NOT_A_BATTERY", S.FAILED_PRECONDITION),
}

CODE_NAMES: dict[int, str] = {code: name for code, (name, _) in _TABLE.items()}


def code_name(code: int, log: str = "") -> str:
    """The ledger's name for `code`; for a code this table does not know, the name the log starts with."""
    if code in CODE_NAMES:
        return CODE_NAMES[code]
    head = log.split(":", 1)[0].strip()
    return head if head.isupper() and head.replace("_", "").isalnum() else f"CODE_{code}"


def status_for(code: int, log: str = "") -> grpc.StatusCode:
    """The gRPC status for a non-zero ledger code (see the module docstring for unknown codes)."""
    if code in _TABLE:
        return _TABLE[code][1]
    name = code_name(code, log)
    if name.startswith("UNKNOWN_"):
        return S.NOT_FOUND
    if name.endswith("_EXISTS"):
        return S.ALREADY_EXISTS
    if name.startswith("NOT_A_"):  # the referent's kind (NOT_A_BATTERY), not the signer's authority
        return S.FAILED_PRECONDITION
    if name.startswith("NOT_") or name.endswith(("_NOT_ALLOWED", "UNAUTHORIZED")):
        return S.PERMISSION_DENIED
    return S.FAILED_PRECONDITION
