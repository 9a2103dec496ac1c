"""A simulated SunSpec device bus: a pymodbus Modbus TCP server, one SunSpec map per unit id.

Each unit's registers are rebuilt from its simulated device whenever a client reads them, so a
reader always sees the device's registers at the simulated time of the read.

The inverter and the battery also obey their controls, written as a SunSpec client writes them
(holding registers, function codes 6 and 16):

- inverter: model 121 (settings) gives WMax, model 123 (immediate controls) takes WMaxLimPct
  (% of WMax, scale factor -2) and WMaxLim_Ena (1 enabled, 0 disabled): while enabled the
  generator's output is capped at WMax × WMaxLimPct;
- battery: model 124 (storage) takes StorCtl_Mod (bit 0 limits charging to InWRte % of WChaMax,
  bit 1 discharging to OutWRte % of model 802's WDisChaRteMax; scale factor -2).

A write to any other model, to a model's ID or length, or with a value out of range (a percentage
above 100 or negative, an enable flag other than 0/1) is refused with ILLEGAL_VALUE /
ILLEGAL_ADDRESS and changes nothing. A written control reads back as written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from devices.sim.base import MeteredDevice
from devices.sim.battery import Battery
from devices.sim.clock import Clock
from devices.sim.pv import PvPlant
from devices.sim.wind import WindTurbine
from devices.sunspec_map import BASE_ADDRESS, DecodedModel, build_image, decode_model, encode_model

__all__ = [
    "BatteryControls",
    "ControlledImage",
    "ImageSource",
    "InverterControls",
    "SunSpecSimServer",
    "battery_image",
    "inverter_image",
    "meter_image",
]

ImageSource = Callable[[], list[int]]
PCT_SF = -2  # the control percentages' scale factor: raw 10000 = 100 %
FULL = 100 * 10**-PCT_SF


def _models(image: list[int]) -> list[tuple[int, int, int]]:
    """(model id, offset of its ID register in `image`, length L) of each model before the end model."""
    out = []
    offset = 2
    while offset + 1 < len(image) and image[offset] != 0xFFFF:
        out.append((image[offset], offset, image[offset + 1]))
        offset += 2 + image[offset + 1]
    return out


class ControlledImage:
    """An image source with writable controls: `controls[model id]` is given each written model
    decoded (after the write) and answers whether it accepts it (and applies it when it does)."""

    def __init__(self, image: ImageSource, controls: Mapping[int, Callable[[DecodedModel], bool]]) -> None:
        self._image = image
        self._controls = dict(controls)

    def __call__(self) -> list[int]:
        """The registers now."""
        return self._image()

    def write(self, image: list[int], offset: int, count: int) -> ExcCodes | None:
        """Apply a write of `count` registers at `offset` (already placed in `image`): None when
        every touched model accepted it, else the Modbus exception (nothing is applied then)."""
        touched = [(m, o, n) for m, o, n in _models(image) if o < offset + count and offset < o + 2 + n]
        if not touched or offset < 2 or offset + count > touched[-1][1] + 2 + touched[-1][2]:
            return ExcCodes.ILLEGAL_ADDRESS
        decoded = []
        for model_id, o, n in touched:
            if model_id not in self._controls or offset < o + 2:  # read-only model, or its ID/L
                return ExcCodes.ILLEGAL_ADDRESS
            try:
                decoded.append((model_id, decode_model(BASE_ADDRESS + o, image[o : o + 2 + n])))
            except ValueError:
                return ExcCodes.ILLEGAL_VALUE
        if len(decoded) != 1:  # one control model per write: all or nothing stays simple
            return ExcCodes.ILLEGAL_ADDRESS
        model_id, model = decoded[0]
        return None if self._controls[model_id](model) else ExcCodes.ILLEGAL_VALUE


def _point(model: DecodedModel, name: str) -> int | None:
    value = model.points.get(name)
    return None if value is None else int(value)


@dataclass
class InverterControls:
    """The inverter's model 123 state: WMaxLimPct (raw, scale factor PCT_SF) and WMaxLim_Ena."""

    wmax_w: int
    lim_pct: int = FULL
    enabled: bool = False

    def limit_w(self) -> float | None:
        """The output cap in force (None: no cap)."""
        return self.wmax_w * self.lim_pct / FULL if self.enabled else None

    def write_123(self, dev: MeteredDevice, model: DecodedModel) -> bool:
        """Accept a write of model 123 when WMaxLimPct is within [0, 100 %] and WMaxLim_Ena is 0/1."""
        pct, ena = _point(model, "WMaxLimPct"), _point(model, "WMaxLim_Ena")
        if ena not in (0, 1) or (pct is not None and not 0 <= pct <= FULL) or (ena == 1 and pct is None):
            return False
        self.lim_pct = FULL if pct is None else pct
        self.enabled = ena == 1
        dev.export_limit_w = self.limit_w()
        return True


def _common(model: str, serial: str) -> list[int]:
    return encode_model(1, {"Mn": "gridledger-sim", "Md": model, "SN": serial, "Vr": "1.0", "DA": 1})


def _w(power_w: float) -> int:
    """An int16 power point's value (pysunspec2 encodes the sign; a discharging battery's is negative)."""
    return max(-32767, min(32767, round(power_w)))


def _rated_w(dev: MeteredDevice) -> int:
    if isinstance(dev, PvPlant):
        return int(dev.cfg.ac_limit_w)
    if isinstance(dev, WindTurbine):
        return int(dev.cfg.rated_w)
    return 10_000


def inverter_image(dev: MeteredDevice, clock: Clock, serial: str, rated_w: int | None = None) -> ControlledImage:
    """Models 1 + 103 of a generator (PV or wind: AC power and lifetime energy WH), 121 (WMax: its
    AC rating, or `rated_w`) and 123 (the output limit it obeys, see the module docstring)."""
    controls = InverterControls(rated_w or _rated_w(dev))

    def image() -> list[int]:
        dev.advance_to(clock.now())
        out_w = max(0.0, -dev.metered_power_w(dev.time))
        inv = encode_model(
            103,
            {"W": _w(out_w), "W_SF": 0, "WH": dev.exported.wh, "WH_SF": 0, "St": 4 if out_w > 0 else 2},
        )
        settings = encode_model(121, {"WMax": controls.wmax_w, "WMax_SF": 0})
        immediate = encode_model(
            123,
            {
                "Conn": 1,
                "WMaxLimPct": controls.lim_pct,
                "WMaxLim_Ena": 1 if controls.enabled else 0,
                "WMaxLimPct_SF": PCT_SF,
            },
        )
        return build_image([_common("inverter", serial), inv, settings, immediate])

    return ControlledImage(image, {123: partial(controls.write_123, dev)})


def _meter(dev: MeteredDevice, imp: int, exp: int) -> list[int]:
    return encode_model(
        203,
        {
            "W": _w(dev.metered_power_w(dev.time)),
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


@dataclass
class BatteryControls:
    """The battery's model 124 controls: StorCtl_Mod, InWRte and OutWRte (raw, scale factor PCT_SF)."""

    charge_max_w: int
    discharge_max_w: int
    mode: int = 0
    in_rte: int = FULL
    out_rte: int = FULL

    def write_124(self, bat: Battery, model: DecodedModel) -> bool:
        """Accept a write of model 124 when the rates are within [0, 100 %] and only bits 0 and 1
        of StorCtl_Mod are used; the charge and discharge caps follow."""
        mode = _point(model, "StorCtl_Mod") or 0
        rates = (_point(model, "InWRte"), _point(model, "OutWRte"))
        if mode & ~3 or any(r is not None and not 0 <= r <= FULL for r in rates):
            return False
        self.mode = mode
        self.in_rte = FULL if rates[0] is None else rates[0]
        self.out_rte = FULL if rates[1] is None else rates[1]
        bat.import_limit_w = self.charge_max_w * self.in_rte / FULL if mode & 1 else None
        bat.export_limit_w = self.discharge_max_w * self.out_rte / FULL if mode & 2 else None
        return True


def battery_image(bat: Battery, clock: Clock, serial: str) -> ControlledImage:
    """Models 1 + 203 (its AC meter) + 124 (storage, with the charge/discharge limits it obeys) +
    802 (battery: capacity, SoC in 0.01 %)."""
    controls = BatteryControls(bat.cfg.max_charge_w, bat.cfg.max_discharge_w)

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
                "StorCtl_Mod": controls.mode,
                "InWRte": controls.in_rte,
                "OutWRte": controls.out_rte,
                "InOutWRte_SF": PCT_SF,
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

    return ControlledImage(image, {124: partial(controls.write_124, bat)})


async def _refresh(  # noqa: PLR0917 - the signature pymodbus calls a device's action with
    source: ImageSource,
    _fc: int,
    start: int,
    address: int,
    count: int,
    registers: list[int],
    values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    image = source()
    if start != BASE_ADDRESS or len(image) > len(registers):
        return ExcCodes.DEVICE_FAILURE
    if values is not None:  # a write: to the controls of a controlled image only
        if not isinstance(source, ControlledImage):
            return ExcCodes.ILLEGAL_ADDRESS
        offset = address - start
        written = list(image)
        written[offset : offset + count] = [int(v) for v in values]
        if (refused := source.write(written, offset, count)) is not None:
            return refused
        image = source()
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
