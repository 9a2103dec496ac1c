"""One organisation's node on its own host: its home (`gridctl node init`), its configuration
(node.toml + GRIDLEDGER_* environment) and the supervisor of its processes (`gridctl node start`).

The localnet (clients/ops/localnet.py) builds its CometBFT configs and process command lines from
the same pieces (`cometconfig`, `children`).
"""
