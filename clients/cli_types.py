"""What gridctl accepts for each kind of value, checked where argparse parses it.

Every numeric or structured argument of a gridctl command is parsed by one of these
converters, so a wrong value is refused before anything is signed or sent: argparse prints
`gridctl CMD: error: argument NAME: <what was wrong>; <what is allowed>` and exits 2.
The ranges are those of the messages' fields (uint64 on the wire; money, energy and prices
are at most 2^63 − 1 in the ledger's state), so nothing argparse accepts makes the protobuf
encoder raise.

`UsageError` is the error of a value that is only known to be wrong after parsing (an
ORG/NAME that is not in the localnet's consortium, a key file that is missing or not PEM);
gridctl prints it as one line and exits 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "CERT_NAME",
    "ED25519_PUBLIC_KEY",
    "INT64_MAX",
    "LATITUDE_UDEG",
    "LONGITUDE_UDEG",
    "UsageError",
    "amount",
    "basis_points",
    "count",
    "existing_file",
    "hex_bytes",
    "host_port",
    "http_url",
    "int_in",
    "money",
    "positive_count",
    "power_w",
    "price",
    "text",
    "unix_seconds",
    "watt_hours",
]

INT64_MAX = 2**63 - 1


class UsageError(ValueError):
    """A command-line value that is wrong in a way the parser could not see; one line, exit 2."""


def int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    """A converter for a whole number in [low, high], described as `what` in its errors."""

    def convert(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; {what}: {low}..{high}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; {what}: {low}..{high}")
        return value

    convert.__name__ = what.replace(" ", "_")  # argparse names the type in some messages
    return convert


count = int_in(0, INT64_MAX, "a whole number")
positive_count = int_in(1, INT64_MAX, "a whole number above 0")
amount = int_in(1, INT64_MAX, "an amount in minor units")
money = int_in(0, INT64_MAX, "minor units")
watt_hours = int_in(0, INT64_MAX, "energy in Wh")
power_w = int_in(0, INT64_MAX, "power in W")
price = int_in(0, INT64_MAX, "a price in minor units per kWh")
basis_points = int_in(0, 10_000, "basis points")


def unix_seconds(text: str) -> int:
    """A time: unix seconds, or an ISO 8601 date-time with its UTC offset (2026-12-06T12:00Z)."""
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int_in(0, INT64_MAX, "a time in unix seconds")(stripped)
    try:
        when = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; give unix seconds or an ISO 8601 date-time with its offset (2026-12-06T12:00Z)"
        ) from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; add Z or +HH:MM")
    seconds = int(when.timestamp())
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is before 1970")
    return seconds


def hex_bytes(length: int, what: str) -> Callable[[str], bytes]:
    """A converter for exactly `length` bytes written as hex digits."""

    def convert(text: str) -> bytes:
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not hex; {what}: {2 * length} hex digits") from None
        if len(raw) != length:
            raise argparse.ArgumentTypeError(f"{what} is {length} bytes ({2 * length} hex digits), got {len(raw)}")
        return raw

    convert.__name__ = what.replace(" ", "_")
    return convert


def text(low: int, high: int, what: str) -> Callable[[str], str]:
    """A converter for text of `low`..`high` characters, without control characters."""

    def convert(value: str) -> str:
        if not low <= len(value) <= high or any(ord(c) < 32 for c in value):
            raise argparse.ArgumentTypeError(f"{value[:40]!r}…: {what}: {low} to {high} printable characters")
        return value

    convert.__name__ = what.replace(" ", "_")
    return convert


def utf8_text(low: int, high: int, what: str) -> Callable[[str], str]:
    """A converter for text of `low`..`high` bytes in UTF-8 (the ledger bounds ids in bytes, and a
    device signs its id length-prefixed in one byte), without control characters."""

    def convert(value: str) -> str:
        size = len(value.encode())
        if not low <= size <= high or any(ord(c) < 32 for c in value):
            raise argparse.ArgumentTypeError(f"{value[:40]!r}…: {what}: {low} to {high} bytes of printable UTF-8")
        return value

    convert.__name__ = what.replace(" ", "_")
    return convert


LATITUDE_UDEG = int_in(-90_000_000, 90_000_000, "a latitude in micro-degrees")
LONGITUDE_UDEG = int_in(-180_000_000, 180_000_000, "a longitude in micro-degrees")
CERT_NAME = text(1, 64, "a certificate name field")
DEVICE_ID = utf8_text(1, 64, "a device id")  # the ledger's MAX_TEXT (abci_app/devices/messages.py)
ED25519_PUBLIC_KEY = hex_bytes(32, "an Ed25519 public key")


def host_port(text: str) -> str:
    """HOST:PORT with a port in 1..65535 (a gRPC listen or dial address)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65_535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (port 1..65535)")
    return text


def http_url(text: str) -> str:
    """An http:// or https:// URL (a node's CometBFT RPC)."""
    if not text.startswith(("http://", "https://")) or len(text.split("://", 1)[1]) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL")
    return text


def existing_file(text: str) -> Path:
    """A path to a file that exists and can be read."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path
