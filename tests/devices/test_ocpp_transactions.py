"""OCPP transactions are durable: a charging session survives a gateway restart, and is claimed once.

The central system's transaction state machine (StartTransaction → MeterValues → StopTransaction)
runs here without a websocket, on an outbox file that is closed and reopened as a restarted
gateway would; tests/devices/test_adapters.py runs the same over a real websocket.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import websockets
from gridwire.address import address_of
from ocpp.v16 import call  # type: ignore[import-untyped]

from devices.config import DeviceConfig, GatewayConfig
from devices.gateway import run_gateway
from devices.keys import DeviceKey
from devices.ocpp_central import ChargingSession, OcppCentralSystem
from devices.outbox import Outbox, OutboxConflictError, SessionClaim
from devices.session_claims import ClaimAnswer, SessionClaims
from devices.sim.clock import ManualClock
from devices.sim.ev_charger import EvChargerConfig, EvChargerModel, SimChargePoint
from tests.devices.helpers import signed

OWNER = b"\x02" * 20
T0 = 1_781_913_600  # 2026-06-20 00:00 UTC
PRICE = 20  # minor units per kWh


async def _never(_claim: SessionClaim) -> ClaimAnswer:
    raise AssertionError("no claim is attempted in these tests")


def central_on(ob: Outbox) -> OcppCentralSystem:
    """A central system on `ob` whose finished sessions of CP1 are claimed for OWNER as ev.1."""
    central = OcppCentralSystem(price=lambda _t: PRICE, outbox=ob, clock=lambda: float(T0))
    hook = SessionClaims(ob, _never).hook({"CP1": "ev.1"}, OWNER)
    central.claim_of = hook.claim
    central.on_session = hook
    return central


def test_session_survives_a_restart_and_is_finished_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Start and a meter value before the restart, stop after it: the session has the right Wh
    and cost and one claim; the same StopTransaction again (also after another restart) is ignored."""
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as ob:
        central = central_on(ob)
        tx_id = central._open("CP1", 1, "TAG", 10_000, T0)
        central._meter("CP1", tx_id, [(T0 + 900, 12_000)])
        assert central.sessions == []
    # the gateway restarts: a new central system on the same file
    with Outbox(path) as ob:
        central = central_on(ob)
        assert central.registers("CP1").import_wh == 12_000  # the register does not go back to 0
        (open_tx,) = central.open_transactions()
        assert (open_tx.transaction_id, open_tx.meter_start, open_tx.last_wh, open_tx.last_at) == (
            tx_id,
            10_000,
            12_000,
            T0 + 900,
        )
        session = central._finish("CP1", tx_id, T0 + 1800, 15_000)
        cost = (2_000 * PRICE + 3_000 * PRICE) // 1000  # each increment priced at its time, across the restart
        assert session == ChargingSession("CP1", tx_id, "TAG", T0, T0 + 1800, 10_000, 15_000, cost)
        assert session.energy_wh == 5_000
        claim = SessionClaim(f"ev.1/{T0}/{tx_id}", "ev.1", OWNER, T0, T0 + 1800, 5_000)
        assert [c.claim for c in ob.claims()] == [claim]
        assert central.open_transactions() == []
        with caplog.at_level(logging.INFO, logger="devices.ocpp_central"):
            assert central._finish("CP1", tx_id, T0 + 1800, 15_000) is None  # the charger resends it
        assert "resent; already finished, ignored" in caplog.text
        assert central.sessions == [session]
    with Outbox(path) as ob:
        central = central_on(ob)
        assert central._finish("CP1", tx_id, T0 + 1800, 15_000) is None
        assert central._finish("CP1", tx_id, T0 + 2000, 15_100) is None  # other values: still not a session
        assert central.sessions == []
        assert [c.claim for c in ob.claims()] == [claim]
        tx = ob.transaction(tx_id)
        assert tx is not None
        assert (tx.state, tx.meter_stop, tx.end, tx.cost_milli) == ("closed", 15_000, T0 + 1800, cost * 1000)


def test_unknown_transaction_is_an_error_and_no_session(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A StopTransaction (or MeterValues) for an id the gateway never handed out, or handed to
    another charge point, is logged and makes no session, no claim and no transaction."""
    with Outbox(tmp_path / "outbox.sqlite") as ob:
        central = central_on(ob)
        other = central._open("CP2", 1, "TAG", 0, T0)
        with caplog.at_level(logging.WARNING, logger="devices.ocpp_central"):
            central._meter("CP1", 999, [(T0, 500)])
            assert central._finish("CP1", 999, T0 + 60, 700) is None
            assert central._finish("CP1", other, T0 + 60, 700) is None  # CP2's transaction
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert [r.getMessage() for r in errors] == [
            f"CP1: StopTransaction for unknown transaction {n} (meter stop 700 Wh at {T0 + 60}): answered so "
            "the charger stops resending it; no session is recorded"
            for n in (999, other)
        ]
        assert "MeterValues for unknown transaction 999" in caplog.text
        assert central.sessions == []
        assert ob.claims() == []
        assert ob.transaction(999) is None
        assert [t.transaction_id for t in central.open_transactions()] == [other]  # CP2's is untouched


def test_transaction_ids_are_never_reused_after_a_restart(tmp_path: Path) -> None:
    """Ids come from the database: a restarted gateway goes on after the last id ever handed out,
    even if every row were gone; a StartTransaction resent with the same content gets its id again."""
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as ob:
        central = central_on(ob)
        first = [central._open("CP1", 1, "TAG", wh, T0 + wh) for wh in (0, 100, 200)]
        assert first == [1, 2, 3]
        central._finish("CP1", 3, T0 + 500, 300)
        assert central._open("CP1", 1, "TAG", 100, T0 + 100) == 2  # a resend (its answer was lost)
    with Outbox(path) as ob:
        central = central_on(ob)
        assert central._open("CP1", 1, "TAG", 300, T0 + 600) == 4
        assert central._open("CP2", 1, "TAG", 0, T0 + 600) == 5
    db = sqlite3.connect(path)
    db.execute("DELETE FROM ocpp_transactions")
    db.commit()
    db.close()
    with Outbox(path) as ob:
        assert central_on(ob)._open("CP1", 1, "TAG", 0, T0 + 900) == 6


def test_closing_and_claiming_are_one_transaction(tmp_path: Path) -> None:
    """When the claim cannot be stored, the transaction stays open (the charger's resent
    StopTransaction finishes it later): the session is neither lost nor made twice."""
    with Outbox(tmp_path / "outbox.sqlite") as ob:
        central = central_on(ob)
        tx_id = central._open("CP1", 1, "TAG", 0, T0)
        blocker = SessionClaim(f"ev.1/{T0}/{tx_id}", "ev.1", OWNER, 0, 1, 1)  # another claim under its id
        ob.add_claim(blocker, T0)
        with pytest.raises(OutboxConflictError):
            central._finish("CP1", tx_id, T0 + 600, 800)
        assert [t.transaction_id for t in central.open_transactions()] == [tx_id]
        assert [c.claim for c in ob.claims()] == [blocker]
        assert central.sessions == []
        assert not ob.close_transaction(999, 1, T0, 0, claim=None, now=T0)  # unknown: nothing stored
        ob._db.execute("DELETE FROM session_claims")  # the blocker gone, the resend finishes it
        session = central._finish("CP1", tx_id, T0 + 600, 800)
        assert session is not None
        assert session.energy_wh == 800
        assert [c.claim.wh for c in ob.claims()] == [800]


def test_sessions_without_a_claim_still_close(tmp_path: Path) -> None:
    """A charger that is not the gateway's device, or a session without energy: closed, no claim."""
    with Outbox(tmp_path / "outbox.sqlite") as ob:
        central = central_on(ob)
        a = central._open("CP9", 1, "TAG", 0, T0)
        b = central._open("CP1", 1, "TAG", 500, T0 + 10)
        central._finish("CP9", a, T0 + 600, 300)
        central._finish("CP1", b, T0 + 600, 500)
        assert [s.energy_wh for s in central.sessions] == [300, 0]
        assert ob.claims() == []
        assert central.open_transactions() == []


def test_meter_values_of_a_closed_transaction_change_nothing(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite") as ob:
        central = central_on(ob)
        tx_id = central._open("CP1", 1, "TAG", 0, T0)
        central._finish("CP1", tx_id, T0 + 600, 800)
        before = ob.transaction(tx_id)
        central._meter("CP1", tx_id, [(T0 + 700, 900)])
        assert ob.transaction(tx_id) == before
        assert not ob.record_meter(tx_id, 900, T0 + 700, 900, 0)


def test_outbox_of_an_older_gateway_gains_the_transactions_table(tmp_path: Path) -> None:
    """An outbox file without `ocpp_transactions` keeps its readings and claims and takes transactions."""
    path = tmp_path / "old.sqlite"
    claim = SessionClaim("ev.1/1/1", "ev.1", OWNER, 1, 2, 3)
    with Outbox(path) as ob:
        ob.put(signed(seq=1))
        ob.add_claim(claim, T0)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE ocpp_transactions")  # what a gateway before durable transactions left
    db.commit()
    db.close()
    with Outbox(path) as ob:
        assert ob.get("dev-1", 1) == signed(seq=1)
        assert [c.claim for c in ob.claims()] == [claim]
        central = central_on(ob)
        assert central.registers("CP1").import_wh == 0
        tx_id = central._open("CP1", 1, "TAG", 0, T0)
        assert central._finish("CP1", tx_id, T0 + 60, 10) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_gateway_finishes_a_session_its_previous_run_left_open(tmp_path: Path) -> None:
    """`run_gateway` keeps its chargers' transactions in its outbox file: the StopTransaction of a
    session the previous run started is finished with its whole Wh and its claim is stored (the
    node is down here: the claim stays pending), and the next transaction id is a new one."""
    owner = DeviceKey.generate()
    owner.save(tmp_path / "owner.key.pem")
    ocpp_port = _free_port()
    cfg = GatewayConfig(
        chain_id="test-chain",
        state_dir=tmp_path / "gw",
        devices=(DeviceConfig("ev.1", "ocpp", charge_point_id="CP1"),),
        ocpp_listen=f"127.0.0.1:{ocpp_port}",
        claim_certificates=True,
        owner_key=tmp_path / "owner.key.pem",
        node_rpc=f"http://127.0.0.1:{_free_port()}",
    )
    (tmp_path / "gw").mkdir()
    with Outbox(tmp_path / "gw" / "outbox.sqlite") as ob:
        tx, _ = ob.open_transaction("CP1", 1, "driver-1", 1_000, T0)  # what the previous run left open
        ob.record_meter(tx.transaction_id, 2_500, T0 + 900, 2_500, 0)

    def iso(t: int) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat()

    async def go() -> int:
        stop = asyncio.Event()
        task = asyncio.create_task(run_gateway(cfg, stop))
        try:
            model = EvChargerModel(EvChargerConfig(), T0)
            for _ in range(200):  # until the central system listens
                try:
                    async with SimChargePoint.connected(
                        f"ws://127.0.0.1:{ocpp_port}", "CP1", model, ManualClock(T0)
                    ) as cp:
                        stopped = call.StopTransaction(
                            meter_stop=4_000, timestamp=iso(T0 + 3600), transaction_id=tx.transaction_id
                        )
                        await cp.call(stopped, suppress=False)
                        await cp.call(stopped, suppress=False)  # resent: no second session
                        started = call.StartTransaction(
                            connector_id=1, id_tag="driver-1", meter_start=4_000, timestamp=iso(T0 + 7200)
                        )
                        return int((await cp.call(started, suppress=False)).transaction_id)
                except (OSError, websockets.InvalidHandshake):
                    assert not task.done(), task
                    await asyncio.sleep(0.05)
            raise AssertionError("the gateway's central system never listened")
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)

    next_id = asyncio.run(go())
    assert next_id == tx.transaction_id + 1
    with Outbox(tmp_path / "gw" / "outbox.sqlite") as ob:
        (stored,) = ob.claims()
        closed = ob.transaction(tx.transaction_id)
        assert [t.transaction_id for t in ob.open_transactions()] == [next_id]
    owner_address = address_of(owner.public_bytes)
    assert stored.claim == SessionClaim(f"ev.1/{T0}/{tx.transaction_id}", "ev.1", owner_address, T0, T0 + 3600, 3_000)
    assert stored.state == "pending"
    assert closed is not None
    assert (closed.state, closed.meter_stop) == ("closed", 4_000)
