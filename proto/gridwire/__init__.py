"""gridwire: what the ledger and its clients must agree on, byte for byte.

Canonical transaction bytes, device-signed reading bytes, addresses and the Merkle proof
format with its verification; and, per domain, the contract (`gridwire.contract`): error codes,
event types, query paths and the state keys proofs need. Both `abci_app` (the validator) and `clients`/`devices`
import this package; `clients` and `devices` import nothing from `abci_app`.
"""
