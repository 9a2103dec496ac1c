"""Grid's genesis section `grid`: tariffs, fees and feeder limits (demand-response events are
runtime state, not genesis).

    "grid": {"tariffs": {"supplier": hex, "operator": hex, "retail_per_kwh": 250, ...},
             "fees": {"intra_feeder_per_kwh": 10, "inter_feeder_per_kwh": 30},
             "feeder_limits": [{"feeder": "f1", "import_wh": 50000, "export_wh": 50000}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from abci_app.domain import GenesisError
from abci_app.grid import keeper, keys
from abci_app.grid.records import FeederLimit, GridFees, Tariffs
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address, BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("grid",)
_PRICES = ("retail_per_kwh", "feed_in_per_kwh", "imbalance_short_per_kwh", "imbalance_long_per_kwh")


def _nonneg(obj: Mapping[str, Any], name: str, where: str) -> int:
    value = obj.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise GenesisError(f"{where}.{name}: expected a non-negative integer")
    return value


def _address(obj: Mapping[str, Any], name: str, where: str) -> Address:
    try:
        raw = bytes.fromhex(str(obj.get(name, "")))
    except ValueError as exc:
        raise GenesisError(f"{where}.{name}: not hex") from exc
    if len(raw) != 20:
        raise GenesisError(f"{where}.{name}: expected a 20-byte address")
    return Address(raw)


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    grid = sections.get("grid", {})
    if not isinstance(grid, dict):
        raise GenesisError("grid: expected an object")
    t = grid.get("tariffs")
    if t is not None:
        if not isinstance(t, dict):
            raise GenesisError("grid.tariffs: expected an object")
        where = "grid.tariffs"
        keeper.put_tariffs(
            store,
            Tariffs(
                supplier=_address(t, "supplier", where),
                operator=_address(t, "operator", where),
                retail_per_kwh=_nonneg(t, "retail_per_kwh", where),
                feed_in_per_kwh=_nonneg(t, "feed_in_per_kwh", where),
                imbalance_short_per_kwh=_nonneg(t, "imbalance_short_per_kwh", where),
                imbalance_long_per_kwh=_nonneg(t, "imbalance_long_per_kwh", where),
                updated_at=block.time,
            ),
        )
    f = grid.get("fees")
    if f is not None:
        if not isinstance(f, dict):
            raise GenesisError("grid.fees: expected an object")
        intra, inter = _nonneg(f, "intra_feeder_per_kwh", "grid.fees"), _nonneg(f, "inter_feeder_per_kwh", "grid.fees")
        if intra > inter:
            raise GenesisError("grid.fees: the intra-feeder fee must not exceed the inter-feeder fee")
        keeper.put_fees(store, GridFees(intra, inter, block.time))
    limits = grid.get("feeder_limits", [])
    if not isinstance(limits, list):
        raise GenesisError("grid.feeder_limits: expected a list")
    for i, lim in enumerate(limits):
        where = f"grid.feeder_limits[{i}]"
        if not isinstance(lim, dict) or not isinstance(lim.get("feeder"), str) or not lim["feeder"]:
            raise GenesisError(f"{where}: expected an object with a feeder name")
        keeper.put_feeder_limit(
            store, FeederLimit(lim["feeder"], _nonneg(lim, "import_wh", where), _nonneg(lim, "export_wh", where))
        )


def export_genesis(store: KVReader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t = keeper.get_tariffs(store)
    if t is not None:
        out["tariffs"] = {
            "supplier": t.supplier.hex(),
            "operator": t.operator.hex(),
            **{p: getattr(t, p) for p in _PRICES},
        }
    fees = keeper.get_fees(store)
    out["fees"] = {
        "intra_feeder_per_kwh": fees.intra_feeder_per_kwh,
        "inter_feeder_per_kwh": fees.inter_feeder_per_kwh,
    }
    prefix = keys.feeder_limit_prefix()
    out["feeder_limits"] = [asdict(FeederLimit.decode(v)) for _k, v in store.iter_range(prefix, prefix_end(prefix))]
    return {"grid": out}
