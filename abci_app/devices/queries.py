"""Queries: /device/<id>, /site/<id>, /reading/<id>, /energy/<id>/<interval start> (provable
records), /devices/owner/<address> and /devices/feeder/<feeder> (paginated DeviceList),
/feeder_energy/<feeder>/<interval start> (the public per-feeder aggregate),
/battery/<id> (BatteryView: capacity, state of charge, rules), /commissioning/<id> (the
device's Commissioning attestation in force, provable; absent: none)."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice

from gridledger.devices.v1 import devices_pb2
from gridwire.contract.devices import Paths

from abci_app.devices import keeper, keys
from abci_app.domain import QueryHandler, QueryResult
from abci_app.errors import Code, TxError
from abci_app.query_util import address_arg, args_exactly, id_arg, int_arg, page, record
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]


def device(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/device/<id>: the device's record (provable), absent for an unknown id."""
    (device_id,) = args_exactly(args, 1, "/device/<id>")
    return record(store, keys.device(id_arg(device_id, "device id")))


def site(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/site/<id>: the site's record (provable), absent for an unknown id."""
    (site_id,) = args_exactly(args, 1, "/site/<id>")
    return record(store, keys.site(id_arg(site_id, "site id")))


def reading(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/reading/<device id>: the device's last accepted reading (provable)."""
    (device_id,) = args_exactly(args, 1, "/reading/<device id>")
    return record(store, keys.reading(id_arg(device_id, "device id")))


def energy(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/energy/<device id>/<interval start>: the device's energy in that interval (provable)."""
    device_id, start = args_exactly(args, 2, "/energy/<device id>/<interval start>")
    return record(store, keys.energy(id_arg(device_id, "device id"), int_arg(start, "interval start")))


MIN_AGGREGATE_DEVICES = 3  # a feeder sum of fewer devices would be one household's series
MAX_AGGREGATE_DEVICES = 20_000  # bounds the work of one query


def feeder_energy(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/feeder_energy/<feeder>/<interval start>: the public aggregate (issue 21): the sum of the
    import and export Wh recorded in that interval by the devices now on the feeder, as an
    IntervalEnergy. A feeder with fewer than MIN_AGGREGATE_DEVICES devices that recorded energy in
    the interval answers QUERY_PRIVATE (the sum would be a household's own); not provable (a sum)."""
    feeder, start = args_exactly(args, 2, "/feeder_energy/<feeder>/<interval start>")
    prefix = keys.by_feeder_prefix(id_arg(feeder, "feeder"))
    interval = int_arg(start, "interval start")
    imported = exported = counted = 0
    for key, _value in islice(store.iter_range(prefix, prefix_end(prefix)), MAX_AGGREGATE_DEVICES):
        found = keeper.get_energy(store, key[len(prefix) + 1 :].decode(), interval)
        if found is not None:
            imported, exported, counted = imported + found.import_wh, exported + found.export_wh, counted + 1
    if 0 < counted < MIN_AGGREGATE_DEVICES:
        raise TxError(Code.QUERY_PRIVATE, f"fewer than {MIN_AGGREGATE_DEVICES} devices on {feeder} in this interval")
    total = devices_pb2.IntervalEnergy(interval_start=interval, import_wh=imported, export_wh=exported)
    return QueryResult(total.SerializeToString(deterministic=True))


def devices(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/devices/owner/<address hex> or /devices/feeder/<feeder>: one page of those devices, in key
    order."""
    usage = "/devices/owner/<address hex> or /devices/feeder/<feeder>"
    kind, value = args_exactly(args, 2, usage)
    if kind == "owner":
        prefix = keys.by_owner_prefix(address_arg(value))
    elif kind == "feeder":
        prefix = keys.by_feeder_prefix(id_arg(value, "feeder"))
    else:
        raise TxError(Code.QUERY_BAD_REQUEST, f"usage: {usage}")

    def decode(key: bytes, _value: bytes) -> devices_pb2.Device | None:
        dev = keeper.get_device(store, key[len(prefix) + 1 :].decode())
        return None if dev is None else dev.to_proto()

    items, cursor = page(store, prefix, options, decode)
    return QueryResult(devices_pb2.DeviceList(devices=items, next=cursor).SerializeToString(deterministic=True))


def battery(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/battery/<device id>: capacity, state of charge and rules of a battery (absent when the
    device is none)."""
    (device_id,) = args_exactly(args, 1, "/battery/<device id>")
    dev = keeper.get_device(store, id_arg(device_id, "device id"))
    if dev is None or dev.battery is None:
        return QueryResult(None)
    state = keeper.get_battery(store, device_id)
    rules = keeper.get_rules(store, device_id)
    view = devices_pb2.BatteryView(
        device_id=device_id,
        capacity_wh=dev.battery.capacity_wh,
        soc_mwh=0 if state is None else state.soc_mwh,
        has_rules=rules is not None,
    )
    if rules is not None:
        view.rules.CopyFrom(rules.to_proto())
    return QueryResult(view.SerializeToString(deterministic=True))


def commissioning(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/commissioning/<device id>: the device's commissioning attestation (provable)."""
    (device_id,) = args_exactly(args, 1, "/commissioning/<device id>")
    return record(store, keys.commissioning(id_arg(device_id, "device id")))


QUERIES: dict[str, QueryHandler] = {
    Paths.COMMISSIONING.root: commissioning,
    Paths.DEVICE.root: device,
    Paths.DEVICES.root: devices,
    Paths.SITE.root: site,
    Paths.READING.root: reading,
    Paths.ENERGY.root: energy,
    Paths.FEEDER_ENERGY.root: feeder_energy,
    Paths.BATTERY.root: battery,
}
