"""Account messages as frozen records."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.accounts.v1 import accounts_pb2

from abci_app.accounts.errors import AccountsCode
from abci_app.codec_util import MAX_AMOUNT, address_field
from abci_app.errors import TxError
from abci_app.types import Address

__all__ = [
    "Burn",
    "Mint",
    "Transfer",
    "amount_field",
    "burn_from_proto",
    "mint_from_proto",
    "transfer_from_proto",
]


@dataclass(frozen=True, slots=True)
class Mint:
    """Create `amount` new money for `to` (issuers only)."""

    to: Address
    amount: int


@dataclass(frozen=True, slots=True)
class Burn:
    """Destroy `amount` of the signer's own money (issuers only)."""

    amount: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move `amount` of the signer's money to the member `to`."""

    to: Address
    amount: int


def amount_field(value: int, name: str) -> int:
    """A positive amount of minor units that fits a signed 64-bit integer."""
    if value <= 0:
        raise TxError(AccountsCode.INVALID_AMOUNT, f"{name} must be positive")
    if value > MAX_AMOUNT:
        raise TxError(AccountsCode.AMOUNT_OVERFLOW, f"{name} exceeds {MAX_AMOUNT}")
    return value


def mint_from_proto(m: accounts_pb2.Mint) -> Mint:
    """A Mint with a 20-byte recipient (INVALID_ARGUMENT) and a positive amount (INVALID_AMOUNT) up to
    MAX_AMOUNT (AMOUNT_OVERFLOW)."""
    return Mint(address_field(m.to, "to"), amount_field(m.amount, "amount"))


def burn_from_proto(m: accounts_pb2.Burn) -> Burn:
    """A Burn with a positive amount (INVALID_AMOUNT) up to MAX_AMOUNT (AMOUNT_OVERFLOW)."""
    return Burn(amount_field(m.amount, "amount"))


def transfer_from_proto(m: accounts_pb2.Transfer) -> Transfer:
    """A Transfer with a 20-byte recipient (INVALID_ARGUMENT) and a positive amount (INVALID_AMOUNT) up to
    MAX_AMOUNT (AMOUNT_OVERFLOW)."""
    return Transfer(address_field(m.to, "to"), amount_field(m.amount, "amount"))
