"""The governance domain's governable parameters: the chain's state sync snapshots, how far ahead an
upgrade may be planned."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = ["MAX_UPGRADE_DELAY", "PARAMS", "SNAPSHOT_INTERVAL", "SNAPSHOT_KEEP_RECENT"]

SNAPSHOT_INTERVAL = "governance.snapshot_interval_blocks"
SNAPSHOT_KEEP_RECENT = "governance.snapshot_keep_recent"
MAX_UPGRADE_DELAY = "governance.max_upgrade_delay_blocks"
PARAMS = {
    # every node with a snapshot folder takes a state sync snapshot after committing a height
    # that is a multiple of this (0: no snapshots; new nodes then sync by replaying blocks)
    SNAPSHOT_INTERVAL: ParamSpec(0, 0, 1_000_000),
    # how many of the most recent snapshots a node keeps (older ones are deleted)
    SNAPSHOT_KEEP_RECENT: ParamSpec(2, 1, 100),
    # a ScheduleUpgrade's height must be above the current height and at most this many blocks ahead
    # (when it is submitted and again when it passes)
    MAX_UPGRADE_DELAY: ParamSpec(1_000_000, 10, 100_000_000),
}
