"""The chain's own contract with its clients: the envelope and query codes, the chain's event
types and query roots.

These numbers are consensus: they are part of every node's results hash and clients match on
them. Never renumber or reuse a code; add new ones at the end of a range. The chain keeps
1-19 (envelope) and 90-99 (queries); each domain declares its range and codes in its own
contract module (see `gridwire.contract.all.ERROR_RANGES`). A failed tx's log starts with the
code's name.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "ADDRESSEE_KEYS",
    "CHAIN_ERROR_RANGES",
    "CODESPACE",
    "EVENTS",
    "FEEDER_KEY",
    "HOOK_FAILED",
    "MESSAGE",
    "Code",
    "Paths",
]

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
    WORK_LIMIT_EXCEEDED = 19  # the tx's work (abci_app/work.py) is above max_tx_work, or the block's budget is spent
    # queries
    QUERY_UNKNOWN_PATH = 90
    QUERY_NOT_FOUND = 91
    QUERY_BAD_REQUEST = 92
    QUERY_HEIGHT_UNAVAILABLE = 93
    QUERY_PRIVATE = 94  # a household's data on the plain path: ask through /signed with a signed read request
    READ_EXPIRED = 95  # the signed read request's expiry is before the last block's time
    READ_BAD_SIGNATURE = 96  # not signed by the key it names, or that key is no enrolled, unrevoked member
    READ_WRONG_PATH = 97  # the signed request is for another path or height than the query asks
    READ_DENIED = 98  # a valid reader the access rules do not allow to read this path
    READ_BAD_GRANT = 99  # the read grant is not the member's (tampered), names another reader key, or its member
    # is not an enrolled, unrevoked member (an expired grant is READ_EXPIRED)


# ---- event types
MESSAGE = "message"  # every tx: sender and the actions of its messages
HOOK_FAILED = "hook_failed"  # a domain's block hook raised: its writes are discarded
EVENTS = frozenset({MESSAGE, HOOK_FAILED})
# Who an event is for, in every domain: its owner (or member, or recipient) as hex address, and
# the feeder it concerns; the gateway API's signal stream filters on them.
ADDRESSEE_KEYS = ("owner", "member", "recipient")
FEEDER_KEY = "feeder"


class Paths:
    """The chain's own query roots (abci_app/app.py answers them)."""

    STORE = QueryRoot("store")  # /store/<hex key>: a raw state value, with a proof
    SIGNED = QueryRoot("signed")  # /signed/<private path>: data carries the reader's signed read request
