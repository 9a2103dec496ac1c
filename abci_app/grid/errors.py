"""Grid error codes: declared in the domain's contract (gridwire/contract/grid.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.grid import ERROR_RANGE, GridCode

__all__ = ["ERROR_RANGE", "GridCode"]
