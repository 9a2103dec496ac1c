"""Grid parameters (governed with ChangeParam), and the work bounds they keep.

Demand-response work (see handlers.py; "reads" are interval-energy records of the devices
domain, the expensive part):

- PublishDrEvent reads the reading state of, and writes a snapshot for, each programme
  member of the feeder: at most `grid.max_dr_members_per_feeder` (≤ 2,000) of each.
- EnrolDr computes the baseline once: at most `grid.dr_baseline_days` × MAX_DR_INTERVALS
  reads (≤ 30 × 96 = 2,880).
- The settlement hook processes at most `grid.dr_settlements_per_block` enrolment steps per
  block (measuring one enrolment reads at most MAX_DR_INTERVALS records; paying one reads
  none), and carries the rest over: at most 200 × 96 = 19,200 reads per block at the
  extreme legal parameters (DR_MAX_READS_PER_BLOCK), 50 × 96 = 4,800 with the defaults.
- Pruning (prune.py) removes at most `grid.dr_prune_per_block` enrolments and archived events
  per block: settled events' enrolments leave live state `grid.dr_retention_seconds` after
  their settlement became due.
"""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = [
    "BASELINE_DAYS",
    "BASELINE_PERIOD",
    "DR_GRACE",
    "DR_MAX_READS_PER_BLOCK",
    "DR_MAX_READS_PER_ENROLMENT",
    "MAX_DR_BUDGET",
    "MAX_DR_CLAIM",
    "MAX_DR_INTERVALS",
    "MAX_DR_SECONDS",
    "MAX_ENROLMENTS",
    "MAX_MEMBERS",
    "PARAMS",
    "PRUNE_PER_BLOCK",
    "RETENTION",
    "SETTLEMENTS_PER_BLOCK",
]

BASELINE_DAYS = "grid.dr_baseline_days"
# the "comparable day": a day in production; minutes on a demonstration's accelerated clock
BASELINE_PERIOD = "grid.dr_baseline_period_seconds"
DR_GRACE = "grid.dr_settlement_grace_seconds"
MAX_ENROLMENTS = "grid.max_enrolments_per_event"
MAX_MEMBERS = "grid.max_dr_members_per_feeder"
SETTLEMENTS_PER_BLOCK = "grid.dr_settlements_per_block"
RETENTION = "grid.dr_retention_seconds"
PRUNE_PER_BLOCK = "grid.dr_prune_per_block"
MAX_DR_SECONDS = 24 * 3600
# an event covers at most this many settlement intervals (a day of 15-minute intervals),
# whatever the settlement interval: with 10-second intervals an event lasts at most 960 s
MAX_DR_INTERVALS = 96

PARAMS = {
    BASELINE_DAYS: ParamSpec(5, 1, 30),
    BASELINE_PERIOD: ParamSpec(86_400, 10, 7 * 86_400),
    DR_GRACE: ParamSpec(900, 0, 7 * 24 * 3600),
    # devices one demand-response event settles (enrolment counts them, at most this many
    # keys read per EnrolDr)
    MAX_ENROLMENTS: ParamSpec(100, 1, 1_000),
    # programme members per feeder: PublishDrEvent snapshots each of them
    MAX_MEMBERS: ParamSpec(1_000, 1, 2_000),
    # enrolment steps (measure or pay one enrolment) the settlement hook takes per block
    SETTLEMENTS_PER_BLOCK: ParamSpec(50, 1, 200),
    # how long a settled event's enrolments stay in live state (the market keeps its records as long)
    RETENTION: ParamSpec(35 * 86_400, 86_400, 10 * 365 * 86_400, genesis_low=0),
    # enrolments and events pruning handles at most per block: an event has at most
    # grid.max_enrolments_per_event (≤ 1,000) enrolments; a test's genesis may go down to 1
    PRUNE_PER_BLOCK: ParamSpec(2_000, 100, 100_000, genesis_low=1),
}

DR_MAX_READS_PER_ENROLMENT = PARAMS[BASELINE_DAYS].high * MAX_DR_INTERVALS
DR_MAX_READS_PER_BLOCK = PARAMS[SETTLEMENTS_PER_BLOCK].high * MAX_DR_INTERVALS
# an event's budget, and an enrolment's claim, are at most this, so an event's claims total
# below 2^63 however many enrolments the parameter allows
MAX_DR_BUDGET = ((1 << 63) - 1) // PARAMS[MAX_ENROLMENTS].high
MAX_DR_CLAIM = MAX_DR_BUDGET
