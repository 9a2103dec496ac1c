"""Identity error codes: declared in the domain's contract (gridwire/contract/identity.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.identity import ERROR_RANGE, IdentityCode

__all__ = ["ERROR_RANGE", "IdentityCode"]
