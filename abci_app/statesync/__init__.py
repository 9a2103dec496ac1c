"""State sync: snapshots of the committed state, served to and restored by other nodes over ABCI."""
