"""Account messages as frozen records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from abci_app.codec_util import address_field, amount_field
from abci_app.types import Address

__all__ = ["FROM_PROTO", "Burn", "Mint", "Transfer"]


@dataclass(frozen=True, slots=True)
class Mint:
    to: Address
    amount: int


@dataclass(frozen=True, slots=True)
class Burn:
    amount: int


@dataclass(frozen=True, slots=True)
class Transfer:
    to: Address
    amount: int


FROM_PROTO: dict[str, Callable[[Any], object]] = {
    "mint": lambda m: Mint(address_field(m.to, "to"), amount_field(m.amount, "amount")),
    "burn": lambda m: Burn(amount_field(m.amount, "amount")),
    "transfer": lambda m: Transfer(address_field(m.to, "to"), amount_field(m.amount, "amount")),
}
