"""The libraries whose behaviour is consensus, pinned exactly.

PyNaCl (libsodium) decides which Ed25519 signatures are valid, `cryptography` which
certificates are accepted, `protobuf` the bytes of every stored record. Two validators with
different versions could disagree on a block, so the app refuses to start on any other
version. The same pins are in pyproject.toml (a unit test keeps them equal) and in
requirements.lock (`make lock`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import metadata

__all__ = ["PINS", "installed", "mismatches"]

PINS: Mapping[str, str] = {
    "PyNaCl": "1.6.2",
    "cryptography": "50.0.2",
    "protobuf": "7.36.2",
}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def installed(version_of: Callable[[str], str | None] = _version) -> dict[str, str | None]:
    """The installed version of each pinned library (None: not installed)."""
    return {name: version_of(name) for name in PINS}


def mismatches(versions: Mapping[str, str | None]) -> list[str]:
    """One readable line per pinned library whose installed version is not its pin (empty: all match)."""
    return [
        f"{name} {versions.get(name) or 'missing'} installed, {pin} pinned"
        for name, pin in PINS.items()
        if versions.get(name) != pin
    ]
