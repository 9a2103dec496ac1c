"""A simulated SunSpec device bus: a pymodbus Modbus TCP server, one SunSpec map per unit id.

Each unit's registers are rebuilt from its simulated device whenever a client reads them, so a
reader always sees the device's registers at the simulated time of the read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from devices.sim.base import MeteredDevice
from devices.sim.battery import Battery
from devices.sim.clock import Clock
from devices.sunspec_map import BASE_ADDRESS, build_image, encode_model

__all__ = ["ImageSource", "SunSpecSimServer", "battery_image", "inverter_image", "meter_image"]

ImageSource = Callable[[], list[int]]


def _common(model: str, serial: str) -> list[int]:
    return encode_model(1, {"Mn": "gridledger-sim", "Md": model, "SN": serial, "Vr": "1.0", "DA": 1})


def _w(power_w: float) -> int:
    return max(-32767, min(32767, round(power_w))) & 0xFFFF


def inverter_image(dev: MeteredDevice, clock: Clock, serial: str) -> ImageSource:
    """Models 1 + 103 of a generator (PV or wind): AC power and lifetime energy WH."""

    def image() -> list[int]:
        dev.advance_to(clock.now())
        out_w = max(0.0, -dev.power_w(dev.time))
        inv = encode_model(
            103,
            {"W": _w(out_w), "W_SF": 0, "WH": dev.exported.wh, "WH_SF": 0, "St": 4 if out_w > 0 else 2},
        )
        return build_image([_common("inverter", serial), inv])

    return image


def _meter(dev: MeteredDevice, imp: int, exp: int) -> list[int]:
    return encode_model(
        203,
        {
            "W": _w(dev.power_w(dev.time)),
            "W_SF": 0,
            "TotWhImp": imp,
            "TotWhExp": exp,
            "TotWh_SF": 0,
            "Hz": 5000,
            "Hz_SF": -2,
        },
    )


def meter_image(dev: MeteredDevice, clock: Clock, serial: str) -> ImageSource:
    """Models 1 + 203 of a meter: import and export registers."""

    def image() -> list[int]:
        dev.advance_to(clock.now())
        return build_image([_common("meter", serial), _meter(dev, dev.imported.wh, dev.exported.wh)])

    return image


def battery_image(bat: Battery, clock: Clock, serial: str) -> ImageSource:
    """Models 1 + 203 (its AC meter) + 124 (storage) + 802 (battery: capacity, SoC in 0.01 %)."""

    def image() -> list[int]:
        bat.advance_to(clock.now())
        cap = bat.cfg.capacity_wh
        soc_centi_pct = bat.soc_mwh * 100 // cap // 10  # SoC % × 100 = soc_mwh / cap_wh / 10
        storage = encode_model(
            124,
            {
                "WChaMax": bat.cfg.max_charge_w,
                "WChaMax_SF": 0,
                "MinRsvPct": bat.rules.reserve_pct,
                "MinRsvPct_SF": 0,
                "ChaState": soc_centi_pct // 100,
                "ChaState_SF": 0,
                "ChaSt": {"charge": 3, "discharge": 2, "idle": 6}[bat.mode()],
            },
        )
        battery = encode_model(
            802,
            {
                "WHRtg": cap,
                "WHRtg_SF": 0,
                "SoC": soc_centi_pct,
                "SoC_SF": -2,
                "WChaRteMax": bat.cfg.max_charge_w,
                "WDisChaRteMax": bat.cfg.max_discharge_w,
                "WChaDisChaMax_SF": 0,
                "ChaSt": {"charge": 4, "discharge": 3, "idle": 5}[bat.mode()],
            },
        )
        meter = _meter(bat, bat.charged.wh, bat.discharged.wh)
        return build_image([_common("battery", serial), meter, storage, battery])

    return image


async def _refresh(
    source: ImageSource,
    _fc: int,
    start: int,
    _address: int,
    _count: int,
    registers: list[int],
    _values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    image = source()
    if start != BASE_ADDRESS or len(image) > len(registers):
        return ExcCodes.DEVICE_FAILURE
    registers[: len(image)] = image  # pymodbus keeps one guard register after the block
    return None


class SunSpecSimServer:
    """A Modbus TCP server on `host:port` (port 0 picks a free one) serving one SunSpec map per unit."""

    def __init__(self, units: Mapping[int, ImageSource], host: str = "127.0.0.1", port: int = 0) -> None:
        self._units = dict(units)
        self._host = host
        self._port = port
        self._server: ModbusTcpServer | None = None
        self.port = 0

    async def start(self) -> int:
        """Listen and return the bound port."""
        devices = [
            SimDevice(
                id=unit,
                simdata=[SimData(BASE_ADDRESS, values=source(), datatype=DataType.REGISTERS)],
                action=partial(_refresh, source),
            )
            for unit, source in sorted(self._units.items())
        ]
        self._server = ModbusTcpServer(devices, address=(self._host, self._port))
        await self._server.serve_forever(background=True)
        transport = self._server.transport
        assert isinstance(transport, asyncio.Server)
        self.port = int(transport.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
