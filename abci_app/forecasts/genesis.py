"""The genesis section `forecasts`:

    "forecasts": {"forecasts": [Forecast as protobuf JSON], "errors": [ForecastError as JSON],
                  "scored_before": 1767225600, "scored_device": "meter-7"}

The section is `gridledger.forecasts.v1.GenesisState` in protobuf's JSON mapping (64-bit
integers as strings or numbers; an export writes strings). Every part is optional. Forecasts
name registered devices, at most once per (device, interval), with a 20-byte poster; errors
name registered devices, at most once per (device, day), with error_wh ≤ the forecast plus
the metered energy; scored_device (the last device scored of the interval at scored_before,
while that interval is scored over several blocks) is a device id of 1-255 bytes. An export
carries every stored record and the scoring cursors in key order, so importing it rebuilds the key range byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.forecasts.v1 import genesis_pb2 as gpb

from abci_app.devices.keeper import get_device
from abci_app.domain import GenesisError
from abci_app.forecasts import keeper
from abci_app.forecasts.invariants import error_problem
from abci_app.forecasts.messages import MAX_WH
from abci_app.forecasts.records import DayError, Forecast
from abci_app.forecasts.scoring import CURSOR, DEVICE_CURSOR
from abci_app.genesis_fields import parse_section, sections_json
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("forecasts",)


def _known(store: Branch, device_id: str, where: str) -> None:
    if not 1 <= len(device_id.encode()) <= 255 or get_device(store, device_id) is None:
        raise GenesisError(f"{where}: unknown device {device_id[:64]!r}")


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Store each forecast and daily error (checked against the devices section) and the
    scoring cursor; GenesisError names the first field that is wrong."""
    section = parse_section(sections, "forecasts", gpb.GenesisState())
    for i, item in enumerate(section.forecasts):
        where = f"forecasts.forecasts[{i}]"
        f = Forecast.from_proto(item)
        _known(store, f.device_id, where)
        if keeper.get_forecast(store, f.device_id, f.interval_start) is not None:
            raise GenesisError(f"{where}: duplicate interval {f.interval_start} of {f.device_id!r}")
        if len(f.poster) != 20 or f.export_wh > MAX_WH or f.import_wh > MAX_WH:
            raise GenesisError(f"{where}: expected a 20-byte poster and energies ≤ {MAX_WH} Wh")
        keeper.put_forecast(store, f)
    for i, err in enumerate(section.errors):
        where = f"forecasts.errors[{i}]"
        e = DayError.from_proto(err)
        _known(store, e.device_id, where)
        if keeper.get_day_error(store, e.device_id, e.day) is not None:
            raise GenesisError(f"{where}: duplicate day {e.day} of {e.device_id!r}")
        problem = error_problem(e)
        if problem is not None:
            raise GenesisError(f"{where}: {problem}")
        keeper.put_day_error(store, e)
    if section.HasField("scored_before"):
        keeper.set_misc(store, CURSOR, section.scored_before)
    if section.HasField("scored_device"):
        if not section.HasField("scored_before"):
            raise GenesisError("forecasts.scored_device: needs scored_before (the interval it is in)")
        if not 1 <= len(section.scored_device.encode()) <= 255:
            raise GenesisError("forecasts.scored_device: not a device id (1-255 bytes)")
        keeper.set_text(store, DEVICE_CURSOR, section.scored_device)


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every posted forecast and daily error in key order, and the scoring cursor once set."""
    section = gpb.GenesisState(
        forecasts=[f.to_proto() for f in keeper.iter_forecasts(store)],
        errors=[e.to_proto() for e in keeper.iter_day_errors(store)],
    )
    cursor = keeper.get_misc(store, CURSOR)
    if cursor is not None:
        section.scored_before = cursor
    device = keeper.get_text(store, DEVICE_CURSOR)
    if device is not None:
        section.scored_device = device
    return {"forecasts": sections_json(section)}
