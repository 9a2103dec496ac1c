"""gridledger clients: transaction signing, CometBFT RPC, proofs, the gridctl CLI, localnet tooling."""
