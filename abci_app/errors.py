"""Chain-level error codes (the envelope and queries) and the error every domain raises.

These numbers are consensus: they are part of every node's results hash and clients
match on them. Never renumber or reuse a code; add new ones at the end of a range.
The chain keeps 1-19 (envelope) and 90-99 (queries); each domain declares its own range
and codes in its `errors.py` (identity 20-39, governance 40-59, accounts 60-79, devices
100-149, batteries 150-199, market 200-249, certificates 250-299, grid 300-349, forecasts
350-399), and the registry refuses overlaps. A failed tx's log starts with the code's name.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CHAIN_ERROR_RANGES", "CODESPACE", "Code", "TxError"]

CODESPACE = "gridledger"
CHAIN_ERROR_RANGES = ((0, 19), (90, 99))


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
    INTERNAL = 17  # an unexpected exception in a handler: writes discarded, nonce used
    MEMPOOL_SHARE_EXCEEDED = 18  # CheckTx only: the signer has too many pending txs
    # queries
    QUERY_UNKNOWN_PATH = 90
    QUERY_NOT_FOUND = 91
    QUERY_BAD_REQUEST = 92
    QUERY_HEIGHT_UNAVAILABLE = 93


class TxError(Exception):
    """A transaction (or query) failed with a stable code and a readable log.

    `code` is a member of `Code` or of a domain's error enum (an IntEnum)."""

    def __init__(self, code: IntEnum, log: str) -> None:
        super().__init__(f"{code.name}: {log}")
        self.code = code
        self.log = log
