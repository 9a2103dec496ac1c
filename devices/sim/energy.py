"""Integrating power into integer Wh registers without drift."""

from __future__ import annotations

__all__ = ["EnergyRegister"]


class EnergyRegister:
    """A cumulative energy register: milliwatt-hours inside, whole Wh outside, never decreasing."""

    def __init__(self, wh: int = 0) -> None:
        self._mwh = wh * 1000

    def add(self, power_w: float, seconds: float) -> None:
        """Add `power_w` held for `seconds` (negative power adds nothing)."""
        if power_w > 0 and seconds > 0:
            self._mwh += round(power_w * seconds * 1000 / 3600)

    def add_wh_milli(self, mwh: int) -> None:
        """Add an exact amount in mWh (non-negative)."""
        if mwh < 0:
            raise ValueError("registers never decrease")
        self._mwh += mwh

    @property
    def wh(self) -> int:
        """Whole Wh so far (floor)."""
        return self._mwh // 1000

    @property
    def mwh(self) -> int:
        """Milliwatt-hours so far."""
        return self._mwh
