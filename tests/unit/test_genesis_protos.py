"""The typed genesis sections: a per-device entry of the devices section is its record's fields
plus deviceId (same numbers and types, so an entry converts to the record by its bytes), and a
section's JSON names are the keys genesis files have always used."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message
from gridledger.certificates.v1 import genesis_pb2 as certificates_genesis
from gridledger.devices.v1 import devices_pb2
from gridledger.devices.v1 import genesis_pb2 as devices_genesis
from gridledger.grid.v1 import genesis_pb2 as grid_genesis
from gridledger.market.v1 import genesis_pb2 as market_genesis

from abci_app.certificates.dvp import PENDING_COUNTER
from abci_app.certificates.genesis import COUNTERS as CERTIFICATE_COUNTERS
from abci_app.certificates.keys import RECURRING, SCR, SDR
from abci_app.certificates.prune import (
    ARCHIVE_HOUR,
    ARCHIVE_HOUR_ID,
    ARCHIVE_RETIRED_BUNDLE,
    ARCHIVE_RETIREMENT,
    ARCHIVE_TALLY,
)
from abci_app.market.genesis import COUNTERS as MARKET_COUNTERS
from abci_app.market.prune import ARCHIVE_ALERT, ARCHIVE_INTERVAL, ARCHIVE_ORDER

ENTRIES: list[tuple[type[Message], type[Message]]] = [
    (devices_genesis.DeviceReading, devices_pb2.ReadingState),
    (devices_genesis.DeviceBattery, devices_pb2.BatteryState),
    (devices_genesis.DeviceBatteryRules, devices_pb2.BatteryRules),
    (devices_genesis.DeviceEnergy, devices_pb2.IntervalEnergy),
]


def _fields(message: type[Message]) -> dict[str, tuple[int, int, str]]:
    return {f.name: (f.number, f.type, f.json_name) for f in message.DESCRIPTOR.fields}


@pytest.mark.parametrize(("entry", "record"), ENTRIES, ids=[e.DESCRIPTOR.name for e, _r in ENTRIES])
def test_a_per_device_entry_is_its_record_plus_the_device(entry: type[Message], record: type[Message]) -> None:
    """The record's fields appear in the entry with the same number, type and JSON name, plus deviceId (100)."""
    fields = _fields(entry)
    device = fields.pop("device_id")
    assert device[0] == 100
    assert device[2] == "deviceId"
    assert fields == _fields(record)


def test_the_sections_keep_the_json_names_genesis_files_use() -> None:
    """The section-level names stay snake_case as in the hand-read sections before them."""
    names = {
        "certificates": [f.json_name for f in certificates_genesis.GenesisState.DESCRIPTOR.fields],
        "market": [f.json_name for f in market_genesis.GenesisState.DESCRIPTOR.fields],
        "grid": [f.json_name for f in grid_genesis.GenesisState.DESCRIPTOR.fields],
        "devices": [f.json_name for f in devices_genesis.GenesisState.DESCRIPTOR.fields],
    }
    assert "pending_deliveries" in names["certificates"]
    assert "clear_sky_holds" in names["certificates"]
    assert {"feeder_limits", "dr_events", "dr_enrolments", "dr_members", "dr_snapshots"} <= set(names["grid"])
    assert {"retired_keys", "recent_readings", "battery_rules", "hour_flows", "pending_hours", "site_energy"} <= set(
        names["devices"]
    )
    assert "pruned_before" in names["devices"]
    assert all(name == name.lower() for section in names.values() for name in section)


def test_the_counters_messages_name_the_keepers_counters() -> None:
    """Each counter a keeper keeps under its COUNTER prefix has a field of the same name to travel in."""
    assert {
        "bundle", "retirement", "expiry_cursor", "expiry_next_id", PENDING_COUNTER, SCR, SDR, RECURRING,
        ARCHIVE_RETIREMENT, ARCHIVE_HOUR, ARCHIVE_HOUR_ID, ARCHIVE_RETIRED_BUNDLE, ARCHIVE_TALLY,
    } == set(CERTIFICATE_COUNTERS)  # fmt: skip
    assert set(MARKET_COUNTERS) == {
        "alert", "order", "rule", "rules_interval", "settled_interval", ARCHIVE_ORDER, ARCHIVE_ALERT, ARCHIVE_INTERVAL,
    }  # fmt: skip
