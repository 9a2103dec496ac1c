"""The governance domain's governable parameters: the chain's state sync snapshots."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = ["PARAMS", "SNAPSHOT_INTERVAL", "SNAPSHOT_KEEP_RECENT"]

SNAPSHOT_INTERVAL = "governance.snapshot_interval_blocks"
SNAPSHOT_KEEP_RECENT = "governance.snapshot_keep_recent"
PARAMS = {
    # every node with a snapshot folder takes a state sync snapshot after committing a height
    # that is a multiple of this (0: no snapshots; new nodes then sync by replaying blocks)
    SNAPSHOT_INTERVAL: ParamSpec(0, 0, 1_000_000),
    # how many of the most recent snapshots a node keeps (older ones are deleted)
    SNAPSHOT_KEEP_RECENT: ParamSpec(2, 1, 100),
}
