"""SunSpec over Modbus TCP adapter: reads inverters, meters and batteries with pymodbus.

The adapter discovers the device's models (SunS marker, then ID/L walk to the end model) and
decodes them with pysunspec2's model definitions. Register mapping to a reading:

- inverter (model 103): export = WH (lifetime AC energy)
- meter (model 203): import = TotWhImp, export = TotWhExp
- battery (203 + 802): charged = import = TotWhImp, discharged = export = TotWhExp,
  state of charge = SoC % × WHRtg

It also writes controls (`write_points`: holding registers, one 16-bit point per request, in the
order given), which devices/actuators.py uses for the grid's instructions: an inverter's output
limit (model 123 WMaxLimPct / WMaxLim_Ena, as a share of model 121's WMax) and a battery's
charge/discharge limits (model 124 StorCtl_Mod, InWRte, OutWRte). Requests of one adapter are
serialised (the reader and the controls share its connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from sunspec2.device import Model  # type: ignore[import-untyped]

from devices.records import Registers
from devices.sunspec_map import BASE_ADDRESS, END_MODEL_ID, SUNS_MARKER, DecodedModel, decode_model, scaled_int

__all__ = ["SunSpecAdapter", "SunSpecError", "SunSpecTarget"]

_MAX_READ = 120
_UNSIGNED16 = ("uint16", "enum16", "bitfield16")


class SunSpecError(Exception):
    """The device could not be read or does not speak SunSpec as expected."""


@dataclass(frozen=True, slots=True)
class SunSpecTarget:
    """Where a device is: Modbus TCP host/port, unit id, and which role it plays."""

    host: str
    port: int
    unit: int
    role: str  # "inverter" | "meter" | "battery"

    def __post_init__(self) -> None:
        if self.role not in ("inverter", "meter", "battery"):
            raise ValueError(f"unknown SunSpec role {self.role!r}")


class SunSpecAdapter:
    """Reads one SunSpec device's registers (one TCP connection, reopened after failures)."""

    def __init__(self, target: SunSpecTarget, timeout: float = 3.0) -> None:
        self.target = target
        self._client = AsyncModbusTcpClient(target.host, port=target.port, timeout=timeout, retries=1)
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the connection."""
        self._client.close()

    async def _connect(self) -> None:
        if not self._client.connected and not await self._client.connect():
            raise SunSpecError(f"cannot connect to {self.target.host}:{self.target.port}")

    async def _read(self, address: int, count: int) -> list[int]:
        await self._connect()
        out: list[int] = []
        while count > 0:
            n = min(count, _MAX_READ)
            try:
                async with self._lock:
                    rr = await self._client.read_holding_registers(address, count=n, device_id=self.target.unit)
            except ModbusException as exc:
                raise SunSpecError(str(exc)) from exc
            if rr.isError():
                raise SunSpecError(f"modbus error reading {n} registers at {address}: {rr}")
            out.extend(rr.registers)
            address += n
            count -= n
        return out

    async def scan(self) -> dict[int, DecodedModel]:
        """All models on the device by model id (first instance of each); raises SunSpecError if not SunSpec."""
        if tuple(await self._read(BASE_ADDRESS, 2)) != SUNS_MARKER:
            raise SunSpecError("no SunS marker at 40000")
        address = BASE_ADDRESS + 2
        models: dict[int, DecodedModel] = {}
        for _ in range(64):
            model_id, length = await self._read(address, 2)
            if model_id == END_MODEL_ID:
                return models
            regs = [model_id, length, *await self._read(address + 2, length)]
            models.setdefault(model_id, decode_model(address, regs))
            address += 2 + length
        raise SunSpecError("no end model after 64 models")

    async def write_points(self, model_id: int, values: Mapping[str, int]) -> None:
        """Write raw values of 16-bit points of model `model_id` (found by a scan), one write per
        point in the order given; raises SunSpecError when the device lacks the model or the
        point, a value does not fit, or the device refuses a write (the earlier ones stay)."""
        model = (await self.scan()).get(model_id)
        if model is None:
            raise SunSpecError(f"device has no model {model_id}")
        points = Model(model_id).points
        for name, value in values.items():
            if name not in points:
                raise SunSpecError(f"model {model_id} has no point {name}")
            kind, offset = points[name].pdef["type"], int(points[name].offset)
            if kind in _UNSIGNED16 and 0 <= value < 0xFFFF:
                register = value
            elif kind == "int16" and -32767 <= value <= 32767:
                register = value & 0xFFFF
            else:
                raise SunSpecError(f"{value} does not fit model {model_id} point {name} ({kind})")
            await self._connect()
            try:
                async with self._lock:
                    rr = await self._client.write_registers(
                        model.address + offset, [register], device_id=self.target.unit
                    )
            except ModbusException as exc:
                raise SunSpecError(str(exc)) from exc
            if rr.isError():
                raise SunSpecError(f"device refused {name} = {value} in model {model_id}: {rr}")

    async def read_registers(self) -> Registers:
        """The device's cumulative registers in integer Wh, mapped by its role (see module doc)."""
        models = await self.scan()
        try:
            if self.target.role == "inverter":
                return Registers(import_wh=0, export_wh=scaled_int(models[103], "WH"))
            meter = models[203]
            imp, exp = scaled_int(meter, "TotWhImp"), scaled_int(meter, "TotWhExp")
            if self.target.role == "meter":
                return Registers(import_wh=imp, export_wh=exp)
            bat = models[802]
            soc_wh = int(bat.raw("SoC")) * scaled_int(bat, "WHRtg")
            sf = int(bat.raw("SoC_SF"))
            soc_wh = soc_wh * 10**sf // 100 if sf >= 0 else soc_wh // (100 * 10**-sf)
            return Registers(import_wh=imp, export_wh=exp, charged_wh=imp, discharged_wh=exp, soc_wh=soc_wh)
        except KeyError as exc:
            raise SunSpecError(f"{self.target.role} device lacks model {exc}") from exc
        except ValueError as exc:
            raise SunSpecError(str(exc)) from exc
