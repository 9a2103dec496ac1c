"""gridledger's ABCI 2.0 application: the consortium's deterministic state machine."""
