"""Device side of gridledger: gateway, protocol adapters, durable outbox and simulated devices.

Nothing here imports `abci_app`; what the device and the ledger must agree on (the signed
reading bytes) comes from the shared `gridwire` package.
"""
