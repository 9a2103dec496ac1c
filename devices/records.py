"""Records shared by the gateway's parts: register snapshots and signed readings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gridwire.reading import Reading

__all__ = ["DEVICE_ID_PATTERN", "Registers", "SignedReading", "check_device_id"]

DEVICE_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


def check_device_id(device_id: str) -> str:
    """Return `device_id` unchanged, or raise ValueError when it is not `[a-z0-9][a-z0-9._-]{1,63}`."""
    if not DEVICE_ID_PATTERN.fullmatch(device_id):
        raise ValueError(f"invalid device id {device_id!r}: expected [a-z0-9][a-z0-9._-]{{1,63}}")
    return device_id


@dataclass(frozen=True, slots=True)
class Registers:
    """A device's cumulative energy registers at one instant, in integer Wh."""

    import_wh: int
    export_wh: int
    charged_wh: int = 0
    discharged_wh: int = 0
    soc_wh: int = 0

    def __post_init__(self) -> None:
        for name in ("import_wh", "export_wh", "charged_wh", "discharged_wh", "soc_wh"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")


@dataclass(frozen=True, slots=True)
class SignedReading:
    """A reading and the device's Ed25519 signature over `reading_sign_bytes(chain_id, reading)`."""

    reading: Reading
    signature: bytes
