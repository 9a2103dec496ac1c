"""Field checks shared by every domain's protobuf→record converters."""

from __future__ import annotations

from abci_app.errors import Code, TxError
from abci_app.types import Address

__all__ = ["MAX_AMOUNT", "address_field", "amount_field", "text_field"]

# Amounts (minor units, Wh) fit a signed 64-bit integer everywhere in the ledger.
MAX_AMOUNT = (1 << 63) - 1


def address_field(raw: bytes, name: str) -> Address:
    if len(raw) != 20:
        raise TxError(Code.INVALID_ARGUMENT, f"{name} must be a 20-byte address, got {len(raw)} bytes")
    return Address(bytes(raw))


def text_field(text: str, name: str, max_bytes: int) -> str:
    if len(text.encode()) > max_bytes:
        raise TxError(Code.INVALID_ARGUMENT, f"{name} is longer than {max_bytes} bytes")
    return text


def amount_field(value: int, name: str) -> int:
    if value <= 0:
        raise TxError(Code.INVALID_AMOUNT, f"{name} must be positive")
    if value > MAX_AMOUNT:
        raise TxError(Code.AMOUNT_OVERFLOW, f"{name} exceeds {MAX_AMOUNT}")
    return value
