"""OCPP 1.6 central system (the gateway's side of an EV charger), built on the `ocpp` package.

Charge points connect over a websocket at `ws://host:port/<charge_point_id>` with subprotocol
`ocpp1.6`. Their energy register (`Energy.Active.Import.Register`, from StartTransaction,
MeterValues and StopTransaction) becomes the charger's cumulative import register in integer
Wh. Each finished transaction is kept as a `ChargingSession` with its energy and, when a price
lookup is given, its cost in minor units.

Transactions are durable: they live in the gateway's outbox file (`Outbox`'s `ocpp_transactions`
table; an in-memory database when no outbox is given). StartTransaction stores the transaction
before the charger gets its id, and ids come from the database, so they are never reused, not
even after a restart. MeterValues record the last register (and the cost so far). The
StopTransaction closes the transaction and stores the session's certificate claim (`claim_of`)
in one SQLite transaction, before it is answered. So a gateway that restarts in the middle of a
charging session finishes it correctly when the charger's StopTransaction arrives (a charger
queues it while the central system is unreachable and sends it on reconnect): energy is
meter stop − meter start, and it is claimed exactly once. When the outbox cannot store a
transaction message, the charger gets a CALLERROR and resends it later (OCPP 1.6 §3.7.1: a
transaction-related message the central system failed to process is retried).

OCPP 1.6 §4.10: a central system cannot prevent a transaction from stopping; it answers every
StopTransaction.req with a StopTransaction.conf (idTagInfo only when an idTag came with it, as
the transaction may have been stopped without one). So a StopTransaction for a closed
transaction (a resend after a lost answer) or for an unknown one is answered normally, and the
charger stops resending it, but no session is made of it: the first is logged as a duplicate,
the second as an error. A StartTransaction resent with the same content gets the id it was
given the first time; MeterValues of an unknown transaction keep the register and are logged.

The central system also caps a connected charger's charging for the grid's instructions
(`set_charging_limit`: SetChargingProfile with a TxDefaultProfile in W on connector 0, profile
id GRID_PROFILE_ID, one schedule period from the start, no validity window: it holds until the
gateway clears it with ClearChargingProfile at the instruction's end, `clear_charging_limit`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import websockets
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call, call_result  # type: ignore[import-untyped]
from ocpp.v16.datatypes import (  # type: ignore[import-untyped]
    ChargingProfile,
    ChargingSchedule,
    ChargingSchedulePeriod,
    IdTagInfo,
)
from ocpp.v16.enums import (  # type: ignore[import-untyped]
    Action,
    AuthorizationStatus,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    ChargingProfileStatus,
    ChargingRateUnitType,
    ClearChargingProfileStatus,
    RegistrationStatus,
)
from websockets.asyncio.server import Server, ServerConnection

from devices.outbox import CLOSED, OcppTransaction, Outbox, SessionClaim
from devices.records import Registers

__all__ = ["GRID_PROFILE_ID", "ChargingSession", "OcppCentralSystem", "energy_wh_from_sampled"]

log = logging.getLogger(__name__)
GRID_PROFILE_ID = 15  # the charging profile id of the grid's instructions (one at a time per charger)
GRID_STACK_LEVEL = 1
CALL_TIMEOUT_S = 10.0
PriceLookup = Callable[[int], int]  # unix time -> minor units per kWh
ClaimOf = Callable[["ChargingSession"], SessionClaim | None]  # a finished session's claim, if any


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
    """What the central system knows about one charge point (its transactions are in the outbox)."""

    def __init__(self, register_wh: int = 0) -> None:
        self.register_wh = register_wh
        self.connected = False
        self.booted = False
        self.handler: _CentralHandler | None = None  # the connection's handler, to send it calls

    def see(self, wh: int) -> None:
        self.register_wh = max(self.register_wh, wh)


class OcppCentralSystem:
    """A websocket server speaking OCPP 1.6 to charge points (port 0 picks a free port).

    Open transactions are kept in `outbox` (the gateway's file; an in-memory one when None),
    so a StopTransaction after a restart on the same file finishes the session it stops."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        price: PriceLookup | None = None,
        *,
        outbox: Outbox | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._host = host
        self._port = port
        self._price = price
        self._outbox = Outbox(":memory:") if outbox is None else outbox
        self._clock = clock
        self._stations: dict[str, _Station] = {}
        self.sessions: list[ChargingSession] = []  # finished in this run
        self._server: Server | None = None
        self.port = 0
        # the certificate claim of a finished session (None: none), stored with its closing
        self.claim_of: ClaimOf | None = None
        # called with each finished session once it and its claim are stored; must not block
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
        """The charger's cumulative import register as last reported (after a restart: the
        highest one stored with its transactions; 0 before any report)."""
        return Registers(import_wh=self._station(charge_point_id).register_wh, export_wh=0)

    def is_connected(self, charge_point_id: str) -> bool:
        """Whether the charge point is connected and has booted."""
        station = self._stations.get(charge_point_id)
        return station is not None and station.connected and station.booted

    async def set_charging_limit(self, charge_point_id: str, limit_w: int) -> bool:
        """Cap the charger's charging at `limit_w` W (see the module docstring); True when the
        charger accepted it, False when it is not connected, refused it or did not answer."""
        profile = ChargingProfile(
            charging_profile_id=GRID_PROFILE_ID,
            stack_level=GRID_STACK_LEVEL,
            charging_profile_purpose=ChargingProfilePurposeType.tx_default_profile,
            charging_profile_kind=ChargingProfileKindType.relative,
            charging_schedule=ChargingSchedule(
                charging_rate_unit=ChargingRateUnitType.watts,
                charging_schedule_period=[ChargingSchedulePeriod(start_period=0, limit=float(limit_w))],
            ),
        )
        res = await self._send(charge_point_id, call.SetChargingProfile(connector_id=0, cs_charging_profiles=profile))
        return res is not None and res.status == ChargingProfileStatus.accepted

    async def clear_charging_limit(self, charge_point_id: str) -> bool:
        """Remove the grid's charging profile; True when it is gone (also when there was none)."""
        res = await self._send(charge_point_id, call.ClearChargingProfile(id=GRID_PROFILE_ID))
        return res is not None and res.status in (
            ClearChargingProfileStatus.accepted,
            ClearChargingProfileStatus.unknown,
        )

    async def _send(self, charge_point_id: str, payload: Any) -> Any:
        station = self._stations.get(charge_point_id)
        handler = None if station is None or not station.connected else station.handler
        if handler is None:
            return None
        try:
            return await asyncio.wait_for(handler.call(payload), CALL_TIMEOUT_S)
        except (TimeoutError, websockets.ConnectionClosed) as exc:
            log.warning("%s: %s got no answer (%r)", charge_point_id, type(payload).__name__, exc)
        except Exception as exc:  # a CALLERROR from the charger (ocpp raises it as an exception)
            log.warning("%s: %s failed: %s", charge_point_id, type(payload).__name__, exc)
        return None

    def open_transactions(self, charge_point_id: str | None = None) -> list[OcppTransaction]:
        """The transactions started and not stopped yet (of one charge point, or all)."""
        return self._outbox.open_transactions(charge_point_id)

    def _station(self, cp_id: str) -> _Station:
        station = self._stations.get(cp_id)
        if station is None:
            station = self._stations[cp_id] = _Station(self._outbox.ocpp_register(cp_id) or 0)
        return station

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        path = "" if request is None else request.path
        cp_id = path.strip("/").split("/")[-1]
        if connection.subprotocol != "ocpp1.6" or not cp_id:
            await connection.close(code=1002, reason="ocpp1.6 subprotocol and a charge point id required")
            return
        station = self._station(cp_id)
        station.connected = True
        handler = station.handler = _CentralHandler(cp_id, connection, self, station)
        try:
            await handler.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            station.connected = False
            if station.handler is handler:
                station.handler = None

    def _open(self, cp_id: str, connector_id: int, id_tag: str, meter_start: int, start: int) -> int:
        """Store a started transaction (before the charger is answered) and return its id."""
        tx, new = self._outbox.open_transaction(cp_id, connector_id, id_tag, meter_start, start)
        if not new:
            log.warning(
                "%s: StartTransaction resent (connector %d, %s, %d Wh at %d): answered with transaction %d again",
                cp_id, connector_id, id_tag, meter_start, start, tx.transaction_id,
            )  # fmt: skip
            return tx.transaction_id
        for other in self._outbox.open_transactions(cp_id):
            if other.connector_id == connector_id and other.transaction_id != tx.transaction_id:
                log.warning(
                    "%s: transaction %d started on connector %d while transaction %d (started at %d) has "
                    "no StopTransaction yet; it stays open until one arrives",
                    cp_id, tx.transaction_id, connector_id, other.transaction_id, other.start,
                )  # fmt: skip
        log.info(
            "%s: transaction %d started on connector %d at %d Wh", cp_id, tx.transaction_id, connector_id, meter_start
        )
        return tx.transaction_id

    def _priced(self, tx: OcppTransaction, samples: list[tuple[int, int]]) -> tuple[int, int]:
        """(priced Wh, cost in thousandths of a minor unit) after `samples` [(time, register)]:
        each increment is priced at its time, minor units × Wh / 1000."""
        priced, milli = tx.priced_wh, tx.cost_milli
        for t, wh in samples:
            if self._price is not None:
                milli += max(0, wh - priced) * self._price(t)
            priced = max(priced, wh)
        return priced, milli

    def _meter(self, cp_id: str, tx_id: int, samples: list[tuple[int, int]]) -> None:
        """Record a transaction's MeterValues (its last register and the cost so far)."""
        tx = self._outbox.transaction(tx_id)
        if tx is None or tx.charge_point_id != cp_id or tx.state == CLOSED:
            log.warning(
                "%s: MeterValues for %s transaction %d: the registers are kept, the transaction is not changed",
                cp_id, "closed" if tx is not None and tx.charge_point_id == cp_id else "unknown", tx_id,
            )  # fmt: skip
            return
        if not samples:
            return
        priced, milli = self._priced(tx, samples)
        last_at, last_wh = samples[-1]
        self._outbox.record_meter(tx_id, last_wh, last_at, priced, milli)

    def _finish(self, cp_id: str, tx_id: int, stop_time: int, meter_stop: int) -> ChargingSession | None:
        """Close the transaction and store its session's claim together; None (nothing stored)
        for a transaction that is unknown or already closed."""
        tx = self._outbox.transaction(tx_id)
        if tx is None or tx.charge_point_id != cp_id:
            log.error(
                "%s: StopTransaction for unknown transaction %d (meter stop %d Wh at %d): answered so the "
                "charger stops resending it; no session is recorded",
                cp_id, tx_id, meter_stop, stop_time,
            )  # fmt: skip
            return None
        if tx.state == CLOSED:
            if (tx.meter_stop, tx.end) == (meter_stop, stop_time):
                log.info("%s: StopTransaction of transaction %d resent; already finished, ignored", cp_id, tx_id)
            else:
                log.warning(
                    "%s: another StopTransaction for finished transaction %d (%d Wh at %d; it was stopped at "
                    "%s Wh at %s): ignored",
                    cp_id, tx_id, meter_stop, stop_time, tx.meter_stop, tx.end,
                )  # fmt: skip
            return None
        _, milli = self._priced(tx, [(stop_time, meter_stop)])
        session = ChargingSession(
            cp_id, tx_id, tx.id_tag, tx.start, stop_time, tx.meter_start, meter_stop, milli // 1000
        )
        claim = None if self.claim_of is None else self.claim_of(session)
        if not self._outbox.close_transaction(tx_id, meter_stop, stop_time, milli, claim=claim, now=self._clock()):
            return None  # closed in between (another connection of the same charge point)
        log.info(
            "%s: transaction %d finished: %d Wh (%d to %d)%s",
            cp_id, tx_id, session.energy_wh, tx.meter_start, meter_stop,
            "" if claim is None else f", certificate claim {claim.session_id} stored",
        )  # fmt: skip
        self.sessions.append(session)
        if self.on_session is not None:
            try:
                self.on_session(session)
            except Exception:  # the session and its claim are stored; the answer must not fail
                log.exception("the on_session hook failed for transaction %d", tx_id)
        return session


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
        tx_id = self._system._open(self.id, connector_id, id_tag, meter_start, _unix(timestamp))
        self._station.see(meter_start)
        return call_result.StartTransaction(
            transaction_id=tx_id, id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted)
        )

    @on(Action.meter_values)
    def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]], **kw: Any) -> Any:
        tx_id = kw.get("transaction_id")
        samples: list[tuple[int, int]] = []
        for mv in meter_value:
            for sampled in mv["sampled_value"]:
                wh = energy_wh_from_sampled(sampled)
                if wh is not None:
                    self._station.see(wh)
                    samples.append((_unix(mv["timestamp"]), wh))
        if tx_id is not None:
            self._system._meter(self.id, tx_id, samples)
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **kw: Any) -> Any:
        self._station.see(meter_stop)
        self._system._finish(self.id, transaction_id, _unix(timestamp), meter_stop)
        # OCPP 1.6: idTagInfo only when the transaction was stopped with an id tag (every tag is accepted here)
        tag_info = IdTagInfo(status=AuthorizationStatus.accepted) if kw.get("id_tag") else None
        return call_result.StopTransaction(id_tag_info=tag_info)
