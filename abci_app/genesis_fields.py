"""Readers of genesis JSON shared by the domains' genesis sections: each returns the value in
its Python type or raises GenesisError naming the field (`where.name`).

A domain's sections are one typed proto message (`GenesisState` in its proto package) read
and written with protobuf's JSON mapping (`parse_section`, `parse_top_sections`,
`sections_json`): the message carries the shape, the domain's code checks what the chain's
rules keep true."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from google.protobuf.message import Message

from abci_app.domain import GenesisError
from abci_app.types import Address

__all__ = [
    "address_at",
    "hex_address",
    "object_at",
    "parse_section",
    "parse_top_sections",
    "sections_json",
]

ADDRESS_BYTES = 20
M = TypeVar("M", bound=Message)


def object_at(value: Any, where: str) -> dict[str, Any]:
    """`value` as a JSON object."""
    if not isinstance(value, dict):
        raise GenesisError(f"{where}: expected an object")
    return value


def address_at(obj: Mapping[str, Any], name: str, where: str) -> Address:
    """`obj[name]` as a 20-byte address written in hex."""
    return hex_address(str(obj.get(name, "")), f"{where}.{name}")


def hex_address(text: str, where: str) -> Address:
    """`text` as a 20-byte address written in hex."""
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise GenesisError(f"{where}: not hex") from exc
    if len(raw) != ADDRESS_BYTES:
        raise GenesisError(f"{where}: expected a {ADDRESS_BYTES}-byte address")
    return Address(raw)


def _parse(sections: Mapping[str, Any], message: M, where: str) -> M:
    """`sections` (JSON) merged into `message` by protobuf's JSON mapping; a GenesisError
    `where: ...` names the field json_format refused (unknown fields, wrong types, out-of-range
    integers)."""
    try:
        return ParseDict(dict(sections), message)
    except (ParseError, TypeError, ValueError, AttributeError) as exc:
        raise GenesisError(f"{where}: {exc}") from exc


def parse_section(sections: Mapping[str, Any], name: str, message: M) -> M:
    """The domain's one top-level section `name` (absent: empty) as its GenesisState `message`;
    GenesisError `name: ...` when it is not an object or json_format refuses a field."""
    return _parse(object_at(sections.get(name, {}), name), message, name)


def parse_top_sections(sections: Mapping[str, Any], message: M) -> M:
    """Like `parse_section` for a domain that owns several top-level sections of app_state:
    each is parsed into its field of `message`, and a GenesisError names the section first."""
    for name in sorted(sections):
        _parse({name: sections[name]}, message, name)
    return message


def sections_json(message: Message) -> dict[str, Any]:
    """`message` (a GenesisState) in protobuf's JSON mapping: fields at their default (zero,
    empty) left out, 64-bit integers as strings, bytes in base64, JSON names as declared."""
    return MessageToDict(message)
