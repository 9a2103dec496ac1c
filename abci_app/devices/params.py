"""The devices domain's governable parameters."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = ["ENERGY_RETENTION", "FUTURE_ALLOWANCE", "MIN_READING", "PARAMS", "PRUNE_PER_BLOCK", "SETTLEMENT_INTERVAL"]

FUTURE_ALLOWANCE = "devices.future_allowance_seconds"
SETTLEMENT_INTERVAL = "devices.settlement_interval_seconds"
ENERGY_RETENTION = "devices.energy_retention_seconds"
MIN_READING = "devices.min_reading_seconds"
PRUNE_PER_BLOCK = "devices.prune_per_block"
PARAMS = {
    # how far past block time a reading's interval may end (clock skew of devices)
    FUTURE_ALLOWANCE: ParamSpec(300, 0, 3_600),
    # settlement interval length; changing it re-aligns only intervals written afterwards.
    # Governance keeps it >= 300 s (a day-long reading writes at most 289 intervals); only a
    # genesis for a demonstration on an accelerated clock (`make demo`) goes down to 10 s, and
    # the work meter (abci_app/work.py) charges every interval a reading writes either way
    SETTLEMENT_INTERVAL: ParamSpec(900, 300, 86_400, genesis_low=10),
    # interval energy and hour flows older than this are pruned (never below what
    # settlement, demand response and certificates still read: see prune.py)
    ENERGY_RETENTION: ParamSpec(35 * 86_400, 3_600, 10 * 365 * 86_400),
    # the shortest interval one reading may cover (READING_TOO_SHORT); with the nameplate
    # window (handlers.py) it bounds a register's 1 Wh quantisation allowance
    # (below 60 s only for demonstrations on an accelerated clock, `make demo`)
    MIN_READING: ParamSpec(60, 1, 900),
    # interval energy and hour-flow records pruning deletes per block at most (prune.py). A
    # million meters reading every 15 minutes create about 1,111 records a second (plus their
    # generators' hour flows): 5,000 a block keeps up at a block a second with room to catch
    # up after a halt; each record is two deletes in the end-block hook
    PRUNE_PER_BLOCK: ParamSpec(5_000, 100, 20_000),
}
