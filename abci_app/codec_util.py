"""Field checks shared by every domain's protobuf→record converters.

Every bound is checked here, where messages are converted, so a hostile value fails as
INVALID_ARGUMENT (or INVALID_AMOUNT/AMOUNT_OVERFLOW) before any handler runs.
"""

from __future__ import annotations

from abci_app.errors import Code, TxError
from abci_app.types import Address

__all__ = [
    "MAX_AMOUNT",
    "address_field",
    "bytes_field",
    "grid_name_field",
    "id_field",
    "is_grid_name",
    "nonneg_field",
    "positive_field",
    "text_field",
]

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


def bytes_field(raw: bytes, name: str, max_bytes: int) -> bytes:
    if len(raw) > max_bytes:
        raise TxError(Code.INVALID_ARGUMENT, f"{name} is longer than {max_bytes} bytes")
    return bytes(raw)


GRID_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")
MAX_GRID_NAME = 64


def is_grid_name(text: str) -> bool:
    """Whether `text` is a feeder or grid-region name as grid models write them (`F1`,
    `NL-North`, a CIM mRID such as `_7a1c…`, `SS12:F3`): 1..64 ASCII characters of
    [A-Za-z0-9_.:-], the first a letter, digit or underscore. Case is kept and significant."""
    return (
        1 <= len(text) <= MAX_GRID_NAME
        and all(c in GRID_NAME_CHARS for c in text)
        and (text[0].isalnum() or text[0] == "_")
    )


def grid_name_field(text: str, name: str, *, optional: bool = False) -> str:
    """A feeder or grid-region name (is_grid_name); with `optional`, "" (none) as well. The one
    validator for feeders and regions in every domain's messages."""
    if (optional and not text) or is_grid_name(text):
        return text
    raise TxError(
        Code.INVALID_ARGUMENT,
        f"{name} {text[:80]!r} must be 1..{MAX_GRID_NAME} characters of [A-Za-z0-9_.:-], starting with a letter, "
        "digit or underscore",
    )


def id_field(text: str, name: str, *, min_len: int = 2, max_len: int = 64) -> str:
    """An identifier: [a-z0-9][a-z0-9._-]* of min_len..max_len ASCII characters."""
    ok = (
        min_len <= len(text) <= max_len
        and text.isascii()
        and (text[0].islower() or text[0].isdigit())
        and all(c.islower() or c.isdigit() or c in "._-" for c in text)
    )
    if not ok:
        raise TxError(
            Code.INVALID_ARGUMENT, f"{name} {text[:80]!r} must match [a-z0-9][a-z0-9._-]{{{min_len - 1},{max_len - 1}}}"
        )
    return text


def positive_field(value: int, name: str, high: int = MAX_AMOUNT) -> int:
    """An integer in [1, high]."""
    if not 0 < value <= high:
        raise TxError(Code.INVALID_ARGUMENT, f"{name} must be in [1, {high}], got {value}")
    return value


def nonneg_field(value: int, name: str, high: int = MAX_AMOUNT) -> int:
    """An integer in [0, high]."""
    if not 0 <= value <= high:
        raise TxError(Code.INVALID_ARGUMENT, f"{name} must be in [0, {high}], got {value}")
    return value
