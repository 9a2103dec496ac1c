"""Grid parameters (governed with ChangeParam)."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = ["BASELINE_DAYS", "DR_GRACE", "MAX_DR_SECONDS", "PARAMS"]

BASELINE_DAYS = "grid.dr_baseline_days"
DR_GRACE = "grid.dr_settlement_grace_seconds"
MAX_DR_SECONDS = 24 * 3600

PARAMS = {
    BASELINE_DAYS: ParamSpec(5, 1, 30),
    DR_GRACE: ParamSpec(900, 0, 7 * 24 * 3600),
}
