"""Chain-level error codes (the envelope and queries) and the error every domain raises.

The codes are declared in the chain's contract (gridwire/contract/chain.py) and each domain's
in its own (gridwire/contract/<domain>.py); `ERROR_RANGES` lists every range, generated from
those modules, and the registry refuses overlaps. These numbers are consensus: never renumber
or reuse a code. A failed tx's log starts with the code's name.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.all import ERROR_RANGES
from gridwire.contract.chain import CHAIN_ERROR_RANGES, CODESPACE, Code

__all__ = ["CHAIN_ERROR_RANGES", "CODESPACE", "ERROR_RANGES", "Code", "TxError"]


class TxError(Exception):
    """A transaction (or query) failed with a stable code and a readable log.

    `code` is a member of `Code` or of a domain's error enum (an IntEnum)."""

    def __init__(self, code: IntEnum, log: str) -> None:
        super().__init__(f"{code.name}: {log}")
        self.code = code
        self.log = log
