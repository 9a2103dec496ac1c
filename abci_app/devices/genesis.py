"""The devices genesis section: registered sites and devices (reading state is not carried).

"devices": {"sites": [Site as JSON], "devices": [Device as JSON]}  (protobuf JSON mapping,
bytes in base64 as protobuf's JSON mapping has them)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from gridledger.devices.v1 import devices_pb2

from abci_app.devices import keeper
from abci_app.devices.records import Device, Site
from abci_app.domain import GenesisError
from abci_app.identity.keeper import get_member
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("devices",)


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    section = sections.get("devices", {})
    if not isinstance(section, dict):
        raise GenesisError("devices: expected an object")
    for name in ("sites", "devices"):
        items = section.get(name, [])
        if not isinstance(items, list):
            raise GenesisError(f"devices.{name}: expected a list")
        for i, item in enumerate(items):
            where = f"devices.{name}[{i}]"
            try:
                pb = ParseDict(item, devices_pb2.Site() if name == "sites" else devices_pb2.Device())
            except (ParseError, TypeError, ValueError) as exc:
                raise GenesisError(f"{where}: {exc}") from exc
            rec = Site.from_proto(pb) if isinstance(pb, devices_pb2.Site) else Device.from_proto(pb)
            if get_member(store, rec.owner) is None:
                raise GenesisError(f"{where}: owner is not a genesis member")
            if isinstance(rec, Site):
                keeper.put_site(store, rec)
            else:
                if keeper.get_site(store, rec.site_id) is None:
                    raise GenesisError(f"{where}: unknown site {rec.site_id!r}")
                keeper.put_device(store, rec)


def export_genesis(store: KVReader) -> dict[str, Any]:
    return {
        "devices": {
            "sites": [MessageToDict(s.to_proto()) for s in keeper.iter_sites(store)],
            "devices": [MessageToDict(d.to_proto()) for d in keeper.iter_devices(store)],
        }
    }
