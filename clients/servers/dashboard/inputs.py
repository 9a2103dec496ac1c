"""What the page may send, checked before anything is read: each checker returns the clean
value or raises BadInputError with a message the page shows as it is (no input is echoed
back unescaped; the page inserts text, never HTML)."""

from __future__ import annotations

import re

__all__ = ["BadInputError", "hex_bytes", "member_ref", "number", "token"]

MAX_NUMBER = (1 << 63) - 1
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_HEX = re.compile(r"[0-9a-fA-F]*")


class BadInputError(ValueError):
    """An input the dashboard refuses; str() is the message for the page."""


def number(text: str | None, name: str, *, default: int | None = None, minimum: int = 0) -> int:
    """A whole number in [minimum, 2^63-1] (`default` when absent)."""
    if text is None or text == "":
        if default is None:
            raise BadInputError(f"{name} is required")
        return default
    stripped = text.strip()
    if stripped.startswith("-"):
        raise BadInputError(f"{name} must not be negative")
    if not stripped.isdigit() or len(stripped) > 19:
        raise BadInputError(f"{name} must be a whole number")
    value = int(stripped)
    if value < minimum or value > MAX_NUMBER:
        raise BadInputError(f"{name} must be between {minimum} and {MAX_NUMBER}")
    return value


def token(text: str | None, name: str) -> str:
    """An identifier (feeder, device, site, region, org): letters, digits, _ . - (1-64)."""
    value = (text or "").strip()
    if not _TOKEN.fullmatch(value):
        raise BadInputError(f"{name} must be 1-64 letters, digits, '_', '.' or '-'")
    return value


def hex_bytes(text: str | None, name: str, *, size: int) -> bytes:
    """Exactly `size` bytes written as hex."""
    value = (text or "").strip()
    if len(value) != 2 * size or not _HEX.fullmatch(value):
        raise BadInputError(f"{name} must be {2 * size} hex digits")
    return bytes.fromhex(value)


def member_ref(text: str | None) -> tuple[str, str] | bytes:
    """A member as a 40-hex-digit address (bytes) or as org/name (a pair, resolved on chain)."""
    value = (text or "").strip()
    if "/" in value:
        org, _, name = value.partition("/")
        return token(org, "organisation"), token(name, "member name")
    return hex_bytes(value, "member address", size=20)
