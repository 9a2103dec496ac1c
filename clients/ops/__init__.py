"""Ops tooling: a local network (`python -m clients.ops.localnet`), the demo
(`python -m clients.ops.demo`), the load generator (`python -m clients.ops.loadgen`) and the test
consortium's key material (`consortium`). They use the client library and the servers; nothing
but tests imports them.
"""
