"""Devices error codes: declared in the domain's contract (gridwire/contract/devices.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.devices import ERROR_RANGE, DevicesCode

__all__ = ["ERROR_RANGE", "DevicesCode"]
