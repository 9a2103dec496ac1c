"""Servers beside the nodes: the bridge and its gRPC APIs (`python -m clients.servers`), the
EnergyTag read-only endpoint and the web dashboard (`dashboard/`).

`node` (the link to one CometBFT node, shared by every API), `bridge` (the Bridge API), `api_tx`,
`api_gateway` and `api_reads` (one typed API each), `api_status` (ledger codes as gRPC statuses),
`auth` (member authentication), `events` (the shared event subscription) and `server` (assembly
and the command line). They import the client library (`clients.rpc`, `proof`, `lightclient`,
`signals`) and `gridwire`; nothing outside this package imports them but ops tooling and tests.
"""
