"""Error codes returned in CheckTx/FinalizeBlock results and queries.

These numbers are consensus: they are part of every node's results hash and clients
match on them. Never renumber or reuse a code; add new ones at the end of a range.
Ranges: envelope 1-19, identity 20-39, governance 40-59, accounts 60-79; later domains
take 100-149 (devices), 150-199 (batteries), 200-249 (market), 250-299 (certificates),
300-349 (grid).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CODESPACE", "Code", "TxError"]

CODESPACE = "gridledger"


class Code(IntEnum):
    OK = 0
    # envelope
    TX_MALFORMED = 1
    TX_TOO_LARGE = 2
    WRONG_CHAIN_ID = 3
    BAD_SIGNATURE = 4
    NONCE_TOO_LOW = 5
    TX_TIMED_OUT = 6
    TOO_MANY_MESSAGES = 7
    NO_MESSAGES = 8
    MEMO_TOO_LONG = 9
    UNKNOWN_SIGNER = 10
    MEMBER_REVOKED = 11
    CERT_EXPIRED = 12
    ORG_INACTIVE = 13
    UNAUTHORIZED = 14
    UNKNOWN_MESSAGE = 15
    INVALID_ARGUMENT = 16
    INTERNAL = 17
    # identity
    CERT_INVALID = 20
    CERT_FOREIGN_CA = 21
    CERT_REVOKED = 22
    ALREADY_ENROLLED = 23
    UNKNOWN_ORG = 24
    ORG_EXISTS = 25
    UNKNOWN_MEMBER = 26
    CERT_NOT_YET_VALID = 27
    # governance
    UNKNOWN_PROPOSAL = 40
    PROPOSAL_CLOSED = 41
    ALREADY_VOTED = 42
    INVALID_PROPOSAL = 43
    # accounts
    INSUFFICIENT_FUNDS = 60
    AMOUNT_OVERFLOW = 61
    INVALID_AMOUNT = 62
    UNKNOWN_ACCOUNT = 63
    # queries
    QUERY_UNKNOWN_PATH = 90
    QUERY_NOT_FOUND = 91
    QUERY_BAD_REQUEST = 92
    QUERY_HEIGHT_UNAVAILABLE = 93


class TxError(Exception):
    """A transaction (or query) failed with a stable code and a readable log."""

    def __init__(self, code: Code, log: str) -> None:
        super().__init__(f"{code.name}: {log}")
        self.code = code
        self.log = log
