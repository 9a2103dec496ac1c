"""Grid parameters (governed with ChangeParam)."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = ["BASELINE_DAYS", "BASELINE_PERIOD", "DR_GRACE", "MAX_DR_SECONDS", "MAX_ENROLMENTS", "PARAMS"]

BASELINE_DAYS = "grid.dr_baseline_days"
# the "comparable day": a day in production; minutes on a demonstration's accelerated clock
BASELINE_PERIOD = "grid.dr_baseline_period_seconds"
DR_GRACE = "grid.dr_settlement_grace_seconds"
MAX_ENROLMENTS = "grid.max_enrolments_per_event"
MAX_DR_SECONDS = 24 * 3600

PARAMS = {
    BASELINE_DAYS: ParamSpec(5, 1, 30),
    BASELINE_PERIOD: ParamSpec(86_400, 10, 7 * 86_400),
    DR_GRACE: ParamSpec(900, 0, 7 * 24 * 3600),
    # devices one demand-response event settles (enrolment counts them, at most this many
    # keys read per EnrolDr): the settlement hook reads at most this × (window ÷ settlement
    # interval) × (baseline days + 1) energy records per event
    MAX_ENROLMENTS: ParamSpec(100, 1, 1_000),
}
