"""A finished EV session's certificate claim is kept in the gateway's outbox and retried until final.

A fake claimer stands for the ledger: no answer (the node is down), a partial answer (the hours'
certificates are not issued yet), a final answer, or a refusal. The claims survive a restart
(the SQLite file reopened), an outbox file of an older gateway opens and gains the table, and the
real claimer sorts the ledger's failures into "retry later" and "refused".
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridwire.address import address_of

from clients.client import GridClient, TxFailedError
from clients.rpc import BroadcastResult, CometRPC
from clients.session_claim import ClaimRecord, FinishedSession
from devices.config import DeviceConfig, GatewayConfig
from devices.gateway import run_gateway
from devices.keys import DeviceKey
from devices.ocpp_central import ChargingSession
from devices.outbox import Outbox, OutboxConflictError, SessionClaim, StoredClaim
from devices.session_claims import (
    ClaimAnswer,
    ClaimRefusedError,
    ClaimUnavailableError,
    RetryPolicy,
    SessionClaims,
    ledger_claimer,
)
from tests.devices.helpers import signed

OWNER = b"\x01" * 20
HOUR = 3600
T0 = 1_800_000_000.0
CLAIM = SessionClaim("ev.1/1799998200/7", "ev.1", OWNER, 1_799_998_200, 1_800_000_000, 2000)
POLICY = RetryPolicy(first_backoff_s=10, max_backoff_s=100, max_failures=4, settle_margin_s=600)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


Step = Callable[[SessionClaim], ClaimAnswer]


class FakeClaimer:
    """Answers with the next scripted step (each either returns an answer or raises)."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.calls: list[SessionClaim] = []

    async def __call__(self, claim: SessionClaim) -> ClaimAnswer:
        self.calls.append(claim)
        return self.steps.pop(0)(claim)


def down(_: SessionClaim) -> ClaimAnswer:
    raise ClaimUnavailableError("abci_query on http://127.0.0.1:1: connection refused")


def refused(_: SessionClaim) -> ClaimAnswer:
    raise ClaimRefusedError("tx AB failed with code 14 (UNAUTHORIZED): not a member")


def stored(ob: Outbox, session_id: str = CLAIM.session_id) -> StoredClaim:
    found = ob.get_claim(session_id)
    assert found is not None
    return found


def answer(covered: int, chain_time: float = T0, settles_at: int = int(T0) + HOUR) -> Step:
    def step(claim: SessionClaim) -> ClaimAnswer:
        return ClaimAnswer(covered, covered * 10_000 // claim.wh, (5,) if covered else (), int(chain_time), settles_at)

    return step


def test_pending_claim_is_retried_until_the_answer_is_final(tmp_path: Path) -> None:
    """No answer, then "500 Wh so far" (not final), then fully covered: done, the share readable back."""
    clock = Clock()
    fake = FakeClaimer(down, answer(500), answer(2000))
    with Outbox(tmp_path / "o.sqlite") as ob:
        claims = SessionClaims(ob, fake, POLICY, clock=clock)
        assert claims.add(CLAIM) is True
        assert claims.add(CLAIM) is False  # the same session stored once

        first = asyncio.run(claims.run_due())
        assert (first.attempted, first.done, first.pending) == (1, 0, 1)
        s = stored(ob)
        assert (s.state, s.attempts, s.failures, s.next_attempt_at) == ("pending", 1, 1, T0 + 10)
        assert s.last_error.startswith("unavailable: ")
        assert "connection refused" in s.last_error
        assert asyncio.run(claims.run_due()).attempted == 0  # not due yet

        clock.now = T0 + 10
        asyncio.run(claims.run_due())
        s = stored(ob)
        assert (s.state, s.attempts, s.failures, s.covered_wh, s.share_bp) == ("pending", 2, 0, 500, 2500)
        assert s.next_attempt_at == T0 + 10 + 20  # backoff after the 2nd attempt
        assert s.last_error.startswith("not final: 500 of 2000 Wh")

        clock.now = T0 + 30
        done = asyncio.run(claims.run_due())
        assert (done.attempted, done.done, done.pending) == (1, 1, 0)
        assert asyncio.run(claims.run_due()).attempted == 0
    assert len(fake.calls) == 3
    assert all(c == CLAIM for c in fake.calls)

    with Outbox(tmp_path / "o.sqlite") as ob:  # the driver's record, read back
        s = stored(ob)
        assert (s.state, s.covered_wh, s.share_bp, s.retirement_ids, s.last_error) == ("done", 2000, 10_000, (5,), "")
        assert s.finished_at == T0 + 30
        assert ob.claim_counts() == {"pending": 0, "done": 1, "given_up": 0}


def test_partial_answer_becomes_final_once_issuance_is_over(tmp_path: Path) -> None:
    """A partial answer is retried at the latest when it turns final; past settles_at + margin it is done."""
    clock = Clock()
    settles = int(T0) + 50
    fake = FakeClaimer(answer(0, T0, settles), answer(700, T0 + 650, settles))
    with Outbox(tmp_path / "o.sqlite") as ob:
        policy = RetryPolicy(first_backoff_s=1000, max_backoff_s=5000, settle_margin_s=600)
        claims = SessionClaims(ob, fake, policy, clock=clock)
        claims.add(CLAIM)
        asyncio.run(claims.run_due())
        s = stored(ob)
        assert (s.state, s.next_attempt_at) == ("pending", T0 + 650)  # sooner than the 1000 s backoff
        clock.now = T0 + 650
        asyncio.run(claims.run_due())
        s = stored(ob)
        assert (s.state, s.covered_wh, s.share_bp) == ("done", 700, 3500)  # "charged with 35 %"


def test_refusal_gives_up_with_the_reason(tmp_path: Path) -> None:
    """A permanent refusal is given up at once, with the ledger's reason, and never resent."""
    clock = Clock()
    fake = FakeClaimer(refused)
    with Outbox(tmp_path / "o.sqlite") as ob:
        claims = SessionClaims(ob, fake, POLICY, clock=clock)
        claims.add(CLAIM)
        report = asyncio.run(claims.run_due())
        assert (report.attempted, report.given_up, report.pending) == (1, 1, 0)
        clock.now += 10 * HOUR
        assert asyncio.run(claims.run_due()).attempted == 0
        s = stored(ob)
        assert s.state == "given_up"
        assert "UNAUTHORIZED" in s.last_error
        assert s.last_error.startswith("refused: ")
    assert len(fake.calls) == 1


def test_no_answer_gives_up_after_max_failures(tmp_path: Path) -> None:
    """Attempts with no answer back off exponentially (capped) and give up after max_failures in a row."""
    clock = Clock()
    fake = FakeClaimer(down, answer(0), down, down, down, down)
    with Outbox(tmp_path / "o.sqlite") as ob:
        claims = SessionClaims(ob, fake, POLICY, clock=clock)
        claims.add(CLAIM)
        due = []
        for _ in range(6):
            s = stored(ob)
            assert s.state == "pending"
            clock.now = s.next_attempt_at
            asyncio.run(claims.run_due())
            s = stored(ob)
            due.append(s.next_attempt_at - clock.now)
        assert s.state == "given_up"
        assert s.failures == 4
        assert s.attempts == 6
        assert s.last_error.startswith("no answer after 4 attempts")
        assert due[:5] == [10, 20, 10, 20, 40]


def test_restart_keeps_pending_claims(tmp_path: Path) -> None:
    """A claim pending when the gateway stops is attempted again by the next gateway on the same file."""
    path = tmp_path / "outbox.sqlite"
    clock = Clock()
    with Outbox(path) as ob:
        SessionClaims(ob, FakeClaimer(), POLICY, clock=clock).add(CLAIM)
        first = SessionClaims(ob, FakeClaimer(down), POLICY, clock=clock)
        asyncio.run(first.run_due())

    clock.now += 3600
    again = FakeClaimer(answer(2000))
    with Outbox(path) as ob:
        report = asyncio.run(SessionClaims(ob, again, POLICY, clock=clock).run_due())
        assert (report.attempted, report.done) == (1, 1)
        s = stored(ob)
        assert (s.state, s.attempts, s.share_bp) == ("done", 2, 10_000)
    assert again.calls == [CLAIM]


def test_another_claim_under_the_same_session_is_refused(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as ob:
        ob.add_claim(CLAIM, T0)
        with pytest.raises(OutboxConflictError):
            ob.add_claim(SessionClaim(CLAIM.session_id, "ev.1", OWNER, 0, 10, 5), T0)


def test_outbox_of_an_older_gateway_opens_and_gains_the_claims_table(tmp_path: Path) -> None:
    """An outbox file with only the readings table keeps its readings and takes claims."""
    path = tmp_path / "old.sqlite"
    with Outbox(path) as ob:
        ob.put(signed(seq=1))
    db = sqlite3.connect(path)
    db.execute("DROP TABLE session_claims")  # what a gateway before session claims left
    db.commit()
    db.close()
    with Outbox(path) as ob:
        assert ob.get("dev-1", 1) == signed(seq=1)
        assert ob.counts().pending == 1
        assert ob.add_claim(CLAIM, T0) is True
        assert [s.claim for s in ob.due_claims(T0, 10)] == [CLAIM]


def test_hook_stores_finished_sessions_of_configured_chargers(tmp_path: Path) -> None:
    """The central system's hook stores a session of a known charger with energy, and nothing else."""
    with Outbox(tmp_path / "o.sqlite") as ob:
        claims = SessionClaims(ob, FakeClaimer(), POLICY, clock=Clock())
        hook = claims.hook({"CP1": "ev.1"}, OWNER)
        hook(ChargingSession("CP1", 7, "TAG", 1000, 1600, 10_000, 10_300, 0))
        hook(ChargingSession("CP1", 7, "TAG", 1000, 1600, 10_000, 10_300, 0))  # a repeated StopTransaction
        hook(ChargingSession("CP1", 8, "TAG", 2000, 2600, 10_300, 10_300, 0))  # no energy
        hook(ChargingSession("CP9", 1, "TAG", 1000, 1600, 0, 500, 0))  # not this gateway's charger
        assert [s.claim for s in ob.claims()] == [SessionClaim("ev.1/1000/7", "ev.1", OWNER, 1000, 1600, 300)]


def test_run_loop_claims_what_the_hook_stores_and_stops(tmp_path: Path) -> None:
    """`run` picks a new claim up at once (woken by the hook) and returns when stopped."""

    async def go(ob: Outbox) -> None:
        claims = SessionClaims(ob, FakeClaimer(answer(300)), POLICY)
        stop = asyncio.Event()
        task = asyncio.create_task(claims.run(stop, idle_s=30))
        await asyncio.sleep(0.05)
        claims.hook({"CP1": "ev.1"}, OWNER)(ChargingSession("CP1", 1, "T", 1000, 1600, 0, 300, 0))
        for _ in range(200):
            s = ob.get_claim("ev.1/1000/1")
            if s is not None and s.state == "done":
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    with Outbox(tmp_path / "o.sqlite") as ob:
        asyncio.run(go(ob))
        s = stored(ob, "ev.1/1000/1")
        assert (s.state, s.share_bp) == ("done", 10_000)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ledger_claimer_sorts_failures_into_later_and_refused() -> None:
    """Unreachable node or a nonce race: unavailable (retry); unauthorised: refused; another owner: refused."""
    key = Ed25519PrivateKey.generate()
    client = GridClient(CometRPC(f"http://127.0.0.1:{_closed_port()}", timeout=2), "test-chain", key)
    mine = SessionClaim("ev.1/0/1", "ev.1", client.address, 0, 600, 100)

    with pytest.raises(ClaimUnavailableError):
        asyncio.run(ledger_claimer(client)(mine))

    def failing(code: int) -> Callable[[GridClient, FinishedSession], ClaimRecord]:
        def claim(_c: GridClient, _s: FinishedSession) -> ClaimRecord:
            raise TxFailedError(BroadcastResult(code, "X: why", "AB", 0))

        return claim

    with pytest.raises(ClaimUnavailableError):
        asyncio.run(ledger_claimer(client, failing(5))(mine))  # NONCE_TOO_LOW
    with pytest.raises(ClaimUnavailableError):
        asyncio.run(ledger_claimer(client, failing(252))(mine))  # BUNDLE_NOT_ACTIVE: retired under it
    with pytest.raises(ClaimRefusedError, match="code 14"):
        asyncio.run(ledger_claimer(client, failing(14))(mine))  # UNAUTHORIZED
    with pytest.raises(ClaimRefusedError, match="signer"):
        asyncio.run(ledger_claimer(client)(SessionClaim("ev.1/0/1", "ev.1", OWNER, 0, 600, 100)))

    def ok(_c: GridClient, s: FinishedSession) -> ClaimRecord:
        return ClaimRecord(s, s.wh, 40, 4000, (9,), 1, chain_time=700, settles_at=4200)

    got = asyncio.run(ledger_claimer(client, ok)(mine))
    assert got == ClaimAnswer(40, 4000, (9,), 700, 4200)


def test_gateway_resumes_stored_claims_and_stops_cleanly(tmp_path: Path) -> None:
    """`run_gateway` with claim_certificates attempts a claim left in its outbox at start (the node
    is down here: it stays pending with the reason) and ends when stopped."""
    owner = DeviceKey.generate()
    owner.save(tmp_path / "owner.key.pem")
    cfg = GatewayConfig(
        chain_id="test-chain",
        state_dir=tmp_path / "gw",
        devices=(DeviceConfig("ev.1", "ocpp", charge_point_id="CP1"),),
        claim_certificates=True,
        owner_key=tmp_path / "owner.key.pem",
        node_rpc=f"http://127.0.0.1:{_closed_port()}",
    )
    claim = SessionClaim("ev.1/1000/1", "ev.1", address_of(owner.public_bytes), 1000, 1600, 300)
    (tmp_path / "gw").mkdir()
    with Outbox(tmp_path / "gw" / "outbox.sqlite") as ob:
        ob.add_claim(claim, time.time())

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_gateway(cfg, stop))
        with Outbox(tmp_path / "gw" / "outbox.sqlite") as ob:
            for _ in range(500):
                if stored(ob, claim.session_id).attempts:
                    break
                await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(go())
    with Outbox(tmp_path / "gw" / "outbox.sqlite") as ob:
        s = stored(ob, claim.session_id)
    assert (s.state, s.attempts, s.failures) == ("pending", 1, 1)
    assert s.last_error.startswith("unavailable: ")
