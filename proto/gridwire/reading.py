"""The bytes a device signs for one meter reading (consensus: never change the layout).

    "gridledger.reading.v1" 0x00
    lp(chain_id) lp(device_id)
    u64 seq | u64 start | u64 end                      (unix seconds, start < end)
    u64 import_wh | u64 export_wh                      (cumulative registers)
    u64 charged_wh | u64 discharged_wh | u64 soc_wh    (batteries; 0 for other devices)

`lp` is one length byte then UTF-8; `u64` is 8 bytes big-endian. The chain id is part of
the signed bytes, so a reading signed for one chain cannot be replayed on another.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["READING_DOMAIN", "Reading", "reading_sign_bytes"]

READING_DOMAIN = b"gridledger.reading.v1\x00"
_U64X8 = struct.Struct(">8Q")


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading as the device reports it (all integers; registers are cumulative)."""

    device_id: str
    seq: int
    start: int
    end: int
    import_wh: int
    export_wh: int
    charged_wh: int = 0
    discharged_wh: int = 0
    soc_wh: int = 0


def _lp(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 255:
        raise ValueError(f"{text[:20]!r}… is longer than 255 bytes")
    return bytes((len(raw),)) + raw


def reading_sign_bytes(chain_id: str, r: Reading) -> bytes:
    """The exact bytes the device's Ed25519 key signs for `r` on chain `chain_id`.

    Raises ValueError when a field does not fit (strings over 255 bytes, integers outside u64).
    """
    try:
        numbers = _U64X8.pack(r.seq, r.start, r.end, r.import_wh, r.export_wh, r.charged_wh, r.discharged_wh, r.soc_wh)
    except struct.error as exc:
        raise ValueError(f"reading field out of range: {exc}") from exc
    return READING_DOMAIN + _lp(chain_id) + _lp(r.device_id) + numbers
