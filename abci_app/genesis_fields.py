"""Readers of genesis JSON fields shared by the domains' genesis sections: each returns the
value in its Python type or raises GenesisError naming the field (`where.name`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from abci_app.domain import GenesisError
from abci_app.types import Address

__all__ = ["address_at", "object_at"]

ADDRESS_BYTES = 20


def object_at(value: Any, where: str) -> dict[str, Any]:
    """`value` as a JSON object."""
    if not isinstance(value, dict):
        raise GenesisError(f"{where}: expected an object")
    return value


def address_at(obj: Mapping[str, Any], name: str, where: str) -> Address:
    """`obj[name]` as a 20-byte address written in hex."""
    try:
        raw = bytes.fromhex(str(obj.get(name, "")))
    except ValueError as exc:
        raise GenesisError(f"{where}.{name}: not hex") from exc
    if len(raw) != ADDRESS_BYTES:
        raise GenesisError(f"{where}.{name}: expected a {ADDRESS_BYTES}-byte address")
    return Address(raw)
