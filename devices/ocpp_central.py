"""OCPP 1.6 central system (the gateway's side of an EV charger), built on the `ocpp` package.

Charge points connect over a websocket at `ws://host:port/<charge_point_id>` with subprotocol
`ocpp1.6`. Their energy register (`Energy.Active.Import.Register`, from StartTransaction,
MeterValues and StopTransaction) becomes the charger's cumulative import register in integer
Wh. Each finished transaction is kept as a `ChargingSession` with its energy and, when a price
lookup is given, its cost in minor units.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import websockets
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call_result  # type: ignore[import-untyped]
from ocpp.v16.datatypes import IdTagInfo  # type: ignore[import-untyped]
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus  # type: ignore[import-untyped]
from websockets.asyncio.server import Server, ServerConnection

from devices.records import Registers

__all__ = ["ChargingSession", "OcppCentralSystem", "energy_wh_from_sampled"]

log = logging.getLogger(__name__)
PriceLookup = Callable[[int], int]  # unix time -> minor units per kWh


@dataclass(frozen=True, slots=True)
class ChargingSession:
    """One finished transaction: energy in Wh and cost in minor units (0 without a price lookup)."""

    charge_point_id: str
    transaction_id: int
    id_tag: str
    start: int
    end: int
    meter_start_wh: int
    meter_stop_wh: int
    cost_minor: int

    @property
    def energy_wh(self) -> int:
        """Energy delivered during the session."""
        return self.meter_stop_wh - self.meter_start_wh


def _unix(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


def energy_wh_from_sampled(sampled: dict[str, Any]) -> int | None:
    """Wh from one SampledValue (`Energy.Active.Import.Register` in Wh or kWh); None for other measurands."""
    measurand = sampled.get("measurand", "Energy.Active.Import.Register")
    if measurand != "Energy.Active.Import.Register":
        return None
    value = Decimal(str(sampled["value"]))
    if sampled.get("unit", "Wh") == "kWh":
        value *= 1000
    return int(value)


class _Station:
    """What the central system knows about one charge point."""

    def __init__(self) -> None:
        self.register_wh = 0
        self.open: dict[int, tuple[str, int, int]] = {}  # tx id -> (id tag, start, meter start)
        self.samples: dict[int, list[tuple[int, int]]] = {}  # tx id -> [(time, register)]
        self.connected = False
        self.booted = False

    def see(self, wh: int) -> None:
        self.register_wh = max(self.register_wh, wh)


class OcppCentralSystem:
    """A websocket server speaking OCPP 1.6 to charge points (port 0 picks a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, price: PriceLookup | None = None) -> None:
        self._host = host
        self._port = port
        self._price = price
        self._tx_ids = itertools.count(1)
        self._stations: dict[str, _Station] = {}
        self.sessions: list[ChargingSession] = []
        self._server: Server | None = None
        self.port = 0
        # called with each finished session (e.g. the gateway's certificate claim); must not block
        self.on_session: Callable[[ChargingSession], None] | None = None

    async def start(self) -> int:
        """Start listening; returns the bound port."""
        self._server = await websockets.serve(
            self._handle, self._host, self._port, subprotocols=[websockets.Subprotocol("ocpp1.6")]
        )
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Close every connection and the listener."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def registers(self, charge_point_id: str) -> Registers:
        """The charger's cumulative import register as last reported (0 before any report)."""
        station = self._stations.get(charge_point_id)
        return Registers(import_wh=0 if station is None else station.register_wh, export_wh=0)

    def is_connected(self, charge_point_id: str) -> bool:
        """Whether the charge point is connected and has booted."""
        station = self._stations.get(charge_point_id)
        return station is not None and station.connected and station.booted

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        path = "" if request is None else request.path
        cp_id = path.strip("/").split("/")[-1]
        if connection.subprotocol != "ocpp1.6" or not cp_id:
            await connection.close(code=1002, reason="ocpp1.6 subprotocol and a charge point id required")
            return
        station = self._stations.setdefault(cp_id, _Station())
        station.connected = True
        try:
            await _CentralHandler(cp_id, connection, self, station).start()
        except websockets.ConnectionClosed:
            pass
        finally:
            station.connected = False

    def _finish(self, cp_id: str, tx_id: int, stop_time: int, meter_stop: int) -> None:
        station = self._stations[cp_id]
        id_tag, start, meter_start = station.open.pop(tx_id, ("", stop_time, meter_stop))
        samples = [*station.samples.pop(tx_id, []), (stop_time, meter_stop)]
        cost = 0
        if self._price is not None:
            prev_wh = meter_start
            milli = 0
            for t, wh in samples:  # each increment priced at its time: minor units × Wh / 1000
                milli += max(0, wh - prev_wh) * self._price(t)
                prev_wh = max(prev_wh, wh)
            cost = milli // 1000
        session = ChargingSession(cp_id, tx_id, id_tag, start, stop_time, meter_start, meter_stop, cost)
        self.sessions.append(session)
        if self.on_session is not None:
            self.on_session(session)


class _CentralHandler(ChargePoint):  # type: ignore[misc]
    """Message handlers for one connected charge point."""

    def __init__(self, cp_id: str, connection: ServerConnection, system: OcppCentralSystem, station: _Station):
        super().__init__(cp_id, connection)
        self._system = system
        self._station = station

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat()

    @on(Action.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        self._station.booted = True
        return call_result.BootNotification(current_time=self._now(), interval=60, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=self._now())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> Any:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str) -> Any:
        return call_result.Authorize(id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.start_transaction)
    def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any) -> Any:
        tx_id = next(self._system._tx_ids)
        self._station.open[tx_id] = (id_tag, _unix(timestamp), meter_start)
        self._station.see(meter_start)
        return call_result.StartTransaction(
            transaction_id=tx_id, id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted)
        )

    @on(Action.meter_values)
    def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]], **kw: Any) -> Any:
        tx_id = kw.get("transaction_id")
        for mv in meter_value:
            for sampled in mv["sampled_value"]:
                wh = energy_wh_from_sampled(sampled)
                if wh is not None:
                    self._station.see(wh)
                    if tx_id is not None:
                        self._station.samples.setdefault(tx_id, []).append((_unix(mv["timestamp"]), wh))
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **_: Any) -> Any:
        self._station.see(meter_stop)
        self._system._finish(self.id, transaction_id, _unix(timestamp), meter_stop)
        return call_result.StopTransaction(id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))
