"""Governance error codes: declared in the domain's contract (gridwire/contract/governance.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.governance import ERROR_RANGE, GovernanceCode

__all__ = ["ERROR_RANGE", "GovernanceCode"]
