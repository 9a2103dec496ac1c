"""Build and sign transactions (clients sign; the bridge and nodes never hold user keys).

The canonical bytes are defined once, in the shared `gridwire.tx`."""

from __future__ import annotations

from gridwire.tx import envelope, pack, sign_tx, tx_body, type_url

__all__ = ["envelope", "pack", "sign_tx", "tx_body", "type_url"]
