"""Client side of the accounts domain: message builders (no abci_app imports)."""

from __future__ import annotations

from gridledger.accounts.v1 import accounts_pb2

__all__ = ["burn", "mint", "transfer"]


def transfer(to: bytes, amount: int) -> accounts_pb2.Transfer:
    """Send `amount` minor units from the signer to address `to`."""
    return accounts_pb2.Transfer(to=to, amount=amount)


def mint(to: bytes, amount: int) -> accounts_pb2.Mint:
    """Issue `amount` new minor units to `to` (an issuer's message)."""
    return accounts_pb2.Mint(to=to, amount=amount)


def burn(amount: int) -> accounts_pb2.Burn:
    """Destroy `amount` of the signer's minor units (an issuer's message)."""
    return accounts_pb2.Burn(amount=amount)
