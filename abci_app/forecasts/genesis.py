"""The genesis section `forecasts`:

    "forecasts": {"forecasts": [Forecast as protobuf JSON], "errors": [ForecastError as JSON],
                  "scored_before": 1767225600}

Every part is optional. Forecasts name registered devices, at most once per (device,
interval), with a 20-byte poster; errors name registered devices, at most once per (device,
day), with error_wh ≤ the forecast plus the metered energy. An export carries every stored
record and the scoring cursor in key order, so importing it rebuilds the key range byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from gridledger.forecasts.v1 import forecasts_pb2

from abci_app.devices.keeper import get_device
from abci_app.domain import GenesisError
from abci_app.forecasts import keeper
from abci_app.forecasts.invariants import error_problem
from abci_app.forecasts.messages import MAX_WH
from abci_app.forecasts.records import DayError, Forecast
from abci_app.forecasts.scoring import CURSOR
from abci_app.genesis_fields import object_at
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("forecasts",)
_PARTS = ("forecasts", "errors", "scored_before")
_U64 = 1 << 64


def _list(section: Mapping[str, Any], name: str) -> list[Any]:
    items = section.get(name, [])
    if not isinstance(items, list):
        raise GenesisError(f"forecasts.{name}: expected a list")
    return items


def _parse(item: Any, pb: Any, where: str) -> Any:
    try:
        return ParseDict(object_at(item, where), pb)
    except (ParseError, TypeError, ValueError) as exc:
        raise GenesisError(f"{where}: {exc}") from exc


def _known(store: Branch, device_id: str, where: str) -> None:
    if not 1 <= len(device_id.encode()) <= 255 or get_device(store, device_id) is None:
        raise GenesisError(f"{where}: unknown device {device_id[:64]!r}")


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    section = object_at(sections.get("forecasts", {}), "forecasts")
    unknown = set(section) - set(_PARTS)
    if unknown:
        raise GenesisError(f"forecasts: unknown fields {sorted(unknown)}; known: {list(_PARTS)}")
    for i, item in enumerate(_list(section, "forecasts")):
        where = f"forecasts.forecasts[{i}]"
        f = Forecast.from_proto(_parse(item, forecasts_pb2.Forecast(), where))
        _known(store, f.device_id, where)
        if keeper.get_forecast(store, f.device_id, f.interval_start) is not None:
            raise GenesisError(f"{where}: duplicate interval {f.interval_start} of {f.device_id!r}")
        if len(f.poster) != 20 or f.export_wh > MAX_WH or f.import_wh > MAX_WH:
            raise GenesisError(f"{where}: expected a 20-byte poster and energies ≤ {MAX_WH} Wh")
        keeper.put_forecast(store, f)
    for i, item in enumerate(_list(section, "errors")):
        where = f"forecasts.errors[{i}]"
        e = DayError.from_proto(_parse(item, forecasts_pb2.ForecastError(), where))
        _known(store, e.device_id, where)
        if keeper.get_day_error(store, e.device_id, e.day) is not None:
            raise GenesisError(f"{where}: duplicate day {e.day} of {e.device_id!r}")
        problem = error_problem(e)
        if problem is not None:
            raise GenesisError(f"{where}: {problem}")
        keeper.put_day_error(store, e)
    if "scored_before" in section:
        value = section["scored_before"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64:
            raise GenesisError("forecasts.scored_before: expected an unsigned 64-bit integer")
        keeper.set_misc(store, CURSOR, value)


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every posted forecast and daily error in key order, and the scoring cursor once set."""
    out: dict[str, Any] = {
        "forecasts": [MessageToDict(f.to_proto()) for f in keeper.iter_forecasts(store)],
        "errors": [MessageToDict(e.to_proto()) for e in keeper.iter_day_errors(store)],
    }
    cursor = keeper.get_misc(store, CURSOR)
    if cursor is not None:
        out["scored_before"] = cursor
    return {"forecasts": out}
