"""Shared test helpers for the device tests."""

from gridwire.reading import Reading

from devices.keys import DeviceKey
from devices.records import SignedReading

KEY = DeviceKey.generate()


def signed(
    device_id: str = "dev-1",
    seq: int = 1,
    start: int = 0,
    end: int = 900,
    imp: int = 10,
    *,
    exp: int = 0,
    key: DeviceKey = KEY,
) -> SignedReading:
    return key.sign("test-chain", Reading(device_id, seq, start, end, imp, exp))
