"""Durable, retried certificate claims of finished EV sessions ("charged with X % local solar").

A finished session's claim is stored in the outbox's `session_claims` table before anything is
sent, in the same SQLite transaction that closes the session's OCPP transaction (`SessionHook.claim`
is the central system's `claim_of`; all before the charger gets its StopTransaction answer), and
the gateway's claim loop (`SessionClaims.run`) attempts every due claim, one at a time, through
a `Claimer` (the real one: `ledger_claimer`, i.e. `clients.session_claim.claim_session` signed
with the owner's key). What an attempt can end in:

- an answer from the ledger that is final: every Wh of the session is covered, or the ledger's
  clock has passed `settles_at` (the end of the session's last certificate period + the governed
  issuance grace, after which no certificate of those hours is due any more) plus
  `RetryPolicy.settle_margin_s` for late readings: the claim is `done`, with the share covered
  (0 % is a valid final answer: no local certificates for those hours);
- an answer that is not final yet (the hours' certificates are not, or not all, issued): the
  share so far is recorded and the claim stays `pending`; the next attempt is after the backoff,
  or at the moment the answer becomes final if that is sooner;
- no answer (`ClaimUnavailableError`: node unreachable, timed out, a nonce race, bundles that
  changed under the claim; or any unexpected error): `pending`, `failures` + 1, the next attempt
  after an exponential backoff (`first_backoff_s` × 2^(n−1), capped at `max_backoff_s`: the
  same rule as the reading submission's tenacity `wait_exponential`, but the schedule lives in
  the outbox because it must outlive a restart);
- a permanent refusal (`ClaimRefusedError`: unauthorised, revoked or unknown signer, expired
  member certificate, a malformed or oversized tx…): `given_up` with the ledger's reason,
  logged as an error; nothing is resent.

Retrying stops at the first final answer, at a refusal, or after `max_failures` attempts in a
row with no answer (default 700: about a week at the 15-minute cap), which gives the claim up
as "no answer". While the ledger keeps answering, a partial claim is retried until its answer
is final, which the ledger bounds (the grace is at most 30 days). A resend is harmless however
the previous attempt ended: the claim is idempotent by its purpose (see clients/session_claim.py).
The driver's record is `Outbox.get_claim(session_id)`: state, covered Wh, share, retirements.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from devices.ocpp_central import ChargingSession
from devices.outbox import DONE, GIVEN_UP, PENDING, Outbox, SessionClaim, StoredClaim

if TYPE_CHECKING:
    from clients.client import GridClient
    from clients.session_claim import ClaimRecord, FinishedSession

__all__ = [
    "PERMANENT_CODES",
    "ClaimAnswer",
    "ClaimRefusedError",
    "ClaimUnavailableError",
    "Claimer",
    "ClaimsReport",
    "RetryPolicy",
    "SessionClaims",
    "SessionHook",
    "ledger_claimer",
    "session_id_of",
]

log = logging.getLogger(__name__)

# The ledger's codes that no resend of the same claim can change (envelope and signer codes,
# and the certificates domain's invalid recipient / consumption period). Every other code
# (a nonce race, a full mempool, a bundle retired or moved under the claim, …) is retried.
PERMANENT_CODES = frozenset({
    1,  # TX_MALFORMED
    2,  # TX_TOO_LARGE
    3,  # WRONG_CHAIN_ID
    4,  # BAD_SIGNATURE
    7,  # TOO_MANY_MESSAGES
    10,  # UNKNOWN_SIGNER
    11,  # MEMBER_REVOKED
    12,  # CERT_EXPIRED
    13,  # ORG_INACTIVE
    14,  # UNAUTHORIZED
    15,  # UNKNOWN_MESSAGE
    16,  # INVALID_ARGUMENT
    254,  # UNKNOWN_RECIPIENT
    255,  # BAD_CONSUMPTION_PERIOD
})  # fmt: skip


class ClaimUnavailableError(Exception):
    """No answer from the ledger this time (retry later)."""


class ClaimRefusedError(Exception):
    """The ledger refused the claim for good (the message says why)."""


@dataclass(frozen=True, slots=True)
class ClaimAnswer:
    """The ledger's answer to one attempt."""

    covered_wh: int
    share_bp: int
    retirement_ids: tuple[int, ...]
    chain_time: int  # the ledger's clock when it answered
    settles_at: int  # ledger time from which no certificate of the session's hours is due any more


Claimer = Callable[[SessionClaim], Coroutine[Any, Any, ClaimAnswer]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a pending claim is attempted again, and when it is given up."""

    first_backoff_s: float = 30.0
    max_backoff_s: float = 900.0
    max_failures: int = 700  # attempts in a row with no answer (≈ a week at the cap)
    settle_margin_s: int = 3_600  # after `settles_at`, for readings that arrive late

    def __post_init__(self) -> None:
        if self.first_backoff_s <= 0 or self.max_backoff_s < self.first_backoff_s or self.max_failures < 1:
            raise ValueError("backoffs must be positive (first <= max) and max_failures at least 1")
        if self.settle_margin_s < 0:
            raise ValueError("settle_margin_s must not be negative")

    def backoff(self, n: int) -> float:
        """The wait after the n-th (1-based) attempt: exponential, capped."""
        return min(self.max_backoff_s, self.first_backoff_s * float(2 ** min(max(0, n - 1), 32)))


@dataclass(frozen=True, slots=True)
class ClaimsReport:
    """What one `run_due` did."""

    attempted: int
    done: int
    given_up: int
    pending: int  # still pending after it (due or not)


def session_id_of(device_id: str, session: ChargingSession) -> str:
    """The claim's session id (and so its purpose): unique per charger, start and transaction."""
    return f"{device_id}/{session.start}/{session.transaction_id}"


class SessionHook:
    """A finished session's claim (`claim`), and the central system's `on_session` that stores
    it (idempotent: the same claim stored already, e.g. with its transaction, is a no-op) and
    wakes the claim loop."""

    def __init__(self, claims: SessionClaims, devices: Mapping[str, str], owner: bytes) -> None:
        self._claims = claims
        self._devices = devices
        self._owner = owner

    def claim(self, session: ChargingSession) -> SessionClaim | None:
        """The session's claim: None for a charger not in `devices`, or no energy."""
        device_id = self._devices.get(session.charge_point_id)
        if device_id is None or session.energy_wh <= 0:
            return None
        return SessionClaim(
            session_id_of(device_id, session), device_id, self._owner, session.start, session.end, session.energy_wh
        )

    def __call__(self, session: ChargingSession) -> None:
        claim = self.claim(session)
        if claim is None:
            return
        try:
            self._claims.add(claim)
        except Exception:  # the charger's answer must not fail; the session list still has it
            log.exception("storing the certificate claim of session %s failed", claim.session_id)


class SessionClaims:
    """Runs the outbox's session claims through `claimer` (single-threaded, on the event loop)."""

    def __init__(
        self,
        outbox: Outbox,
        claimer: Claimer,
        policy: RetryPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        batch: int = 20,
    ) -> None:
        self.outbox = outbox
        self._claimer = claimer
        self.policy = policy or RetryPolicy()
        self._clock = clock
        self._batch = batch
        self._wake = asyncio.Event()

    def add(self, claim: SessionClaim) -> bool:
        """Store `claim` (due now) and wake the loop; False if it was already stored."""
        new = self.outbox.add_claim(claim, self._clock())
        self._wake.set()
        return new

    def hook(self, devices: Mapping[str, str], owner: bytes) -> SessionHook:
        """The central system's hook for the finished sessions of the chargers in `devices`
        (charge point id → device id), claimed for `owner`: set `claim_of` to `hook.claim` and
        `on_session` to the hook, and the claim is stored with the transaction's closing and
        the loop woken; called alone, the hook stores the claim itself."""
        return SessionHook(self, dict(devices), owner)

    async def run_due(self, stop: asyncio.Event | None = None) -> ClaimsReport:
        """Attempt every claim due now, one at a time, each at most once (until `stop` is set);
        returns what happened."""
        attempted = done = given_up = 0
        now = self._clock()  # a claim attempted here is next due strictly later (backoff > 0)
        while True:
            due = self.outbox.due_claims(now, self._batch)
            if not due:
                break
            for stored in due:
                if stop is not None and stop.is_set():
                    return ClaimsReport(attempted, done, given_up, self.outbox.claim_counts()[PENDING])
                after = await self._attempt(stored)
                self.outbox.save_claim(after)
                attempted += 1
                done += after.state == DONE
                given_up += after.state == GIVEN_UP
        return ClaimsReport(attempted, done, given_up, self.outbox.claim_counts()[PENDING])

    async def run(self, stop: asyncio.Event, *, idle_s: float = 60.0) -> None:
        """Attempt claims as they fall due (or are added) until `stop` is set."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.run_due(stop)
            except Exception:  # the outbox itself failed: log, and try again later
                log.exception("running the session claims failed")
            nxt = self.outbox.next_claim_due()
            delay = idle_s if nxt is None else min(idle_s, max(0.0, nxt - self._clock()))
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await w

    async def _attempt(self, stored: StoredClaim) -> StoredClaim:
        c, p = stored.claim, self.policy
        attempts = stored.attempts + 1
        try:
            answer = await self._claimer(c)
        except ClaimRefusedError as exc:
            now = self._clock()
            log.error("session %s: certificate claim refused by the ledger, given up: %s", c.session_id, exc)
            return replace(stored, state=GIVEN_UP, attempts=attempts, last_error=f"refused: {exc}", finished_at=now)
        except Exception as exc:
            now = self._clock()
            failures = stored.failures + 1
            if not isinstance(exc, ClaimUnavailableError):
                log.exception("session %s: unexpected error while claiming certificates", c.session_id)
            if failures >= p.max_failures:
                log.error(
                    "session %s: no answer to the certificate claim after %d attempts, given up: %s",
                    c.session_id, failures, exc,
                )  # fmt: skip
                return replace(
                    stored,
                    state=GIVEN_UP,
                    attempts=attempts,
                    failures=failures,
                    last_error=f"no answer after {failures} attempts: {exc}",
                    finished_at=now,
                )
            wait = p.backoff(failures)
            log.warning(
                "session %s: certificate claim not answered (attempt %d), retry in %.0f s: %s",
                c.session_id, attempts, wait, exc,
            )  # fmt: skip
            return replace(
                stored,
                attempts=attempts,
                failures=failures,
                next_attempt_at=now + wait,
                last_error=f"unavailable: {exc}",
            )
        now = self._clock()
        answered = replace(
            stored,
            attempts=attempts,
            failures=0,
            covered_wh=answer.covered_wh,
            share_bp=answer.share_bp,
            retirement_ids=answer.retirement_ids,
        )
        final_at = answer.settles_at + p.settle_margin_s
        if answer.covered_wh >= c.wh or answer.chain_time >= final_at:
            log.info(
                "session %s: charged with %d.%02d %% local certificates (%d of %d Wh), retirements %s",
                c.session_id, answer.share_bp // 100, answer.share_bp % 100, answer.covered_wh, c.wh,
                list(answer.retirement_ids),
            )  # fmt: skip
            return replace(answered, state=DONE, last_error="", finished_at=now)
        wait = min(p.backoff(attempts), max(1.0, float(final_at - answer.chain_time)))  # > 0
        log.info(
            "session %s: %d of %d Wh covered so far; certificates of its hours may still be issued, retry in %.0f s",
            c.session_id, answer.covered_wh, c.wh, wait,
        )  # fmt: skip
        return replace(
            answered,
            next_attempt_at=now + wait,
            last_error=f"not final: {answer.covered_wh} of {c.wh} Wh covered so far, final at chain time {final_at}",
        )


def ledger_claimer(
    client: GridClient,
    claim: Callable[[GridClient, FinishedSession], ClaimRecord] | None = None,
) -> Claimer:
    """The real claimer: `claim_session` (or `claim`) with `client` (the owner's key), in a
    worker thread, with the ledger's failures sorted into refused (`PERMANENT_CODES`) and
    unavailable (everything else). Attempts must not overlap (the client's nonce):
    `SessionClaims` makes them one at a time."""
    from clients.client import QueryFailedError, TxFailedError  # noqa: PLC0415 - only claiming gateways
    from clients.rpc import RPCError  # noqa: PLC0415
    from clients.session_claim import FinishedSession, claim_session  # noqa: PLC0415

    run = claim or claim_session

    async def attempt(c: SessionClaim) -> ClaimAnswer:
        if c.owner != client.address:
            raise ClaimRefusedError(f"the claim's owner {c.owner.hex()} is not the signer {client.address.hex()}")
        session = FinishedSession(c.session_id, c.device_id, c.owner, c.start, c.end, c.wh)
        try:
            record = await asyncio.to_thread(run, client, session)
        except TxFailedError as exc:
            if exc.result.code in PERMANENT_CODES:
                raise ClaimRefusedError(str(exc)) from exc
            raise ClaimUnavailableError(str(exc)) from exc
        except (RPCError, QueryFailedError, OSError) as exc:
            raise ClaimUnavailableError(str(exc)) from exc
        return ClaimAnswer(
            record.covered_wh, record.share_bp, record.retirement_ids, record.chain_time, record.settles_at
        )

    return attempt
