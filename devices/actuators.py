"""The gateway's hands on its devices: each `Actuator` holds one device to a `DeviceLimit` through
the device's own protocol (devices/controllers.py decides the limits from the grid's instructions).

- `InverterLimit` (SunSpec over Modbus TCP): the output cap as model 123's WMaxLimPct, a share
  of model 121's WMax rounded down at the point's scale factor, written before WMaxLim_Ena = 1;
  released by WMaxLim_Ena = 0.
- `BatterySetPoint` (SunSpec storage controls, model 124): the charge cap as InWRte (% of
  WChaMax), the discharge cap as OutWRte (% of model 802's WDisChaRteMax, else WChaMax), each
  rounded down, written before StorCtl_Mod (bit 0 charge, bit 1 discharge); released by
  StorCtl_Mod = 0.
- `ChargerProfile` (OCPP 1.6 through the gateway's central system): the charge cap as a
  TxDefaultProfile in W on connector 0 (every connector, the transaction running and the next),
  with the gateway's own profile id, so a new cap replaces the last; released by
  ClearChargingProfile of that id.

A limit above the device's rating is sent as 100 %; every failure raises (`ActuatorError`,
`SunSpecError`) so the enforcer tries again.
"""

from __future__ import annotations

import contextlib

from devices.controllers import BATTERY, CHARGER, GENERATOR, DeviceLimit
from devices.ocpp_central import OcppCentralSystem
from devices.sunspec import SunSpecAdapter, SunSpecError
from devices.sunspec_map import DecodedModel, scaled_int

__all__ = ["ActuatorError", "BatterySetPoint", "ChargerProfile", "InverterLimit"]


class ActuatorError(Exception):
    """A device could not be set (not connected, or it refused)."""


def _full(model: DecodedModel, sf_name: str) -> int:
    """The raw value of 100 % for a percentage point with scale factor `sf_name` (≤ 0)."""
    sf = int(model.raw(sf_name))
    if sf > 0 or sf < -4:
        raise SunSpecError(f"model {model.model_id}: unsupported scale factor {sf_name} = {sf}")
    full: int = 100 * 10**-sf
    return full


def _pct(watts: int, rating_w: int, full: int) -> int:
    """`watts` as a share of `rating_w` in raw units of `full` = 100 %, rounded down, at most 100 %."""
    if rating_w <= 0:
        raise SunSpecError("the device reports no rating")
    return min(full, watts * full // rating_w)


class InverterLimit:
    """An inverter's output limit over SunSpec Modbus (models 121 and 123)."""

    kind = GENERATOR

    def __init__(self, device_id: str, adapter: SunSpecAdapter) -> None:
        self.device_id = device_id
        self.adapter = adapter

    async def rated_w(self) -> int:
        """Model 121's WMax."""
        models = await self.adapter.scan()
        if 121 not in models:
            raise SunSpecError(f"{self.device_id} lacks model 121 (WMax)")
        return scaled_int(models[121], "WMax")

    async def set_limit(self, limit: DeviceLimit | None) -> None:
        """WMaxLimPct = the export cap's share of WMax, then WMaxLim_Ena = 1; or WMaxLim_Ena = 0."""
        if limit is None or limit.export_w is None:
            await self.adapter.write_points(123, {"WMaxLim_Ena": 0})
            return
        models = await self.adapter.scan()
        if 121 not in models or 123 not in models:
            raise SunSpecError(f"{self.device_id} lacks model 121 or 123 (no output limit control)")
        pct = _pct(limit.export_w, scaled_int(models[121], "WMax"), _full(models[123], "WMaxLimPct_SF"))
        await self.adapter.write_points(123, {"WMaxLimPct": pct, "WMaxLim_Ena": 1})


class BatterySetPoint:
    """A battery's charge and discharge limits over SunSpec Modbus (models 124 and 802)."""

    kind = BATTERY

    def __init__(self, device_id: str, adapter: SunSpecAdapter) -> None:
        self.device_id = device_id
        self.adapter = adapter

    async def rated_w(self) -> int:
        """Model 124's WChaMax."""
        models = await self.adapter.scan()
        if 124 not in models:
            raise SunSpecError(f"{self.device_id} lacks model 124 (storage controls)")
        return scaled_int(models[124], "WChaMax")

    async def set_limit(self, limit: DeviceLimit | None) -> None:
        """InWRte/OutWRte for the capped directions, then StorCtl_Mod; or StorCtl_Mod = 0."""
        if limit is None or (limit.export_w is None and limit.import_w is None):
            await self.adapter.write_points(124, {"StorCtl_Mod": 0})
            return
        models = await self.adapter.scan()
        if 124 not in models:
            raise SunSpecError(f"{self.device_id} lacks model 124 (storage controls)")
        storage = models[124]
        full = _full(storage, "InOutWRte_SF")
        charge_max = scaled_int(storage, "WChaMax")
        discharge_max = charge_max
        if 802 in models:
            with contextlib.suppress(KeyError, ValueError):  # not implemented: WChaMax
                discharge_max = scaled_int(models[802], "WDisChaRteMax")
        values: dict[str, int] = {}
        mode = 0
        if limit.import_w is not None:
            values["InWRte"] = _pct(limit.import_w, charge_max, full)
            mode |= 1
        if limit.export_w is not None:
            values["OutWRte"] = _pct(limit.export_w, discharge_max, full)
            mode |= 2
        values["StorCtl_Mod"] = mode
        await self.adapter.write_points(124, values)


class ChargerProfile:
    """An EV charger's charging limit as an OCPP 1.6 charging profile."""

    kind = CHARGER

    def __init__(self, device_id: str, central: OcppCentralSystem, charge_point_id: str) -> None:
        self.device_id = device_id
        self.central = central
        self.charge_point_id = charge_point_id

    async def rated_w(self) -> int:
        """Unknown over OCPP: the chargers share an import cap equally."""
        return 0

    async def set_limit(self, limit: DeviceLimit | None) -> None:
        """SetChargingProfile with the import cap in W, or ClearChargingProfile."""
        if limit is None or limit.import_w is None:
            done = await self.central.clear_charging_limit(self.charge_point_id)
        else:
            done = await self.central.set_charging_limit(self.charge_point_id, limit.import_w)
        if not done:
            raise ActuatorError(f"charge point {self.charge_point_id} is not connected or refused the profile")
