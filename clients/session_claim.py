"""A finished EV charging session claims certificates of the same hours: "charged with X % local solar".

    record = claim_session(client, FinishedSession(...))

`client` signs for the charger's owner (the beneficiary). The session's Wh are split over the
certificate periods it overlaps by seconds (the ledger's rule: floor, remainder to the last
period); for each period the owner's ACTIVE bundles of that production hour are retired, up to
the period's share, with purpose "ev-charging <session id>" and consumption period = the session
∩ the period, all in one transaction. The purpose makes the claim idempotent: what is already
retired under it (the owner's retirements of those hours, which the ledger lists for the whole
retention, though the retired bundles themselves leave after a day) counts against each
period's share, so a repeated claim retires nothing more, and a later claim (after more of the
hour's certificates were issued) only tops up.

A resend after an unknown outcome (the node timed out after the tx went out) is harmless too:
the signer's nonce is fixed before the owner's bundles are read, so a tx of an earlier attempt
that was still in flight either was committed before the read (and counts against the shares)
or holds the very nonce the new tx takes (the client keeps its nonce when the outcome is
unknown, and a fresh client reads the next above the last used), and the ledger commits at
most one tx per nonce. A tx refused NONCE_TOO_LOW (the owner's key used by another client too,
e.g. the driver's app beside the gateway) is claimed once more from fresh reads.

The record also says whether more certificates can still come for the session's hours: a
device-hour is issued once its data is complete or, at the latest, once the ledger's clock
passes the period's end + `certificates.issuance_grace_seconds` (`settles_at`; `chain_time` is
the latest block time before the bundles were read). The gateway retries a partial claim until
then (devices/session_claims.py).

This is also the function a driver's app calls when the gateway does not claim by itself
(`claim_certificates = true` in the gateway's TOML makes the gateway call it per finished session).

Imports nothing from abci_app: queries go through `abci_query` paths and the generated protos.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.contract.governance import Paths as GovernancePaths
from gridwire.contract.paths import page_suffix
from gridwire.periods import split_by_period

from clients.certificates import retire
from clients.client import NONCE_TOO_LOW, GridClient, TxFailedError

__all__ = [
    "ClaimRecord",
    "FinishedSession",
    "chain_time",
    "claim_session",
    "issuance_grace",
    "purpose_of",
    "split_by_period",
]

PERIOD_PARAM = "certificates.period_seconds"
GRACE_PARAM = "certificates.issuance_grace_seconds"
PAGE = 100


class _OfHour(Protocol):
    """A listed record of one production hour (a bundle, a retirement)."""

    @property
    def hour_start(self) -> int: ...


_T = TypeVar("_T", bound=_OfHour)
_Page = tuple[list[_T], str]  # a page's items and the next page's cursor ('' at the end)
BP = 10_000


@dataclass(frozen=True, slots=True)
class FinishedSession:
    """A finished charging session: charger device, owner (beneficiary), [start, end) and Wh."""

    session_id: str  # unique per owner, e.g. "<device>/<start>/<transaction id>"
    device_id: str
    owner: bytes
    start: int
    end: int
    wh: int


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """What the session claimed: Wh covered by retired certificates and the share in basis points."""

    session: FinishedSession
    wh: int
    covered_wh: int
    share_bp: int
    retirement_ids: tuple[int, ...]  # every retirement under the session's purpose
    new_retirements: int  # how many of them this call made
    chain_time: int = 0  # the ledger's latest block time before the bundles were read
    settles_at: int = 0  # ledger time from which no certificate of the session's hours is still due


def purpose_of(session_id: str) -> str:
    return f"ev-charging {session_id}"


def _param(client: GridClient, name: str) -> int:
    """A domain parameter (8-byte big-endian signed)."""
    return int.from_bytes(client.query_raw(GovernancePaths.PARAM(name)), "big", signed=True)


def certificate_period(client: GridClient) -> int:
    """The `certificates.period_seconds` domain parameter."""
    return _param(client, PERIOD_PARAM)


def issuance_grace(client: GridClient) -> int:
    """The `certificates.issuance_grace_seconds` domain parameter."""
    return _param(client, GRACE_PARAM)


def chain_time(client: GridClient) -> int:
    """The latest block's time (unix seconds) on the client's node."""
    stamp = str(client.rpc.status()["sync_info"]["latest_block_time"])
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def _of_hours(
    client: GridClient, path: str, decode: Callable[[bytes], _Page[_T]], first_hour: int, last_hour: int
) -> list[_T]:
    """The items of the owner-keyed list at `path` (ordered by (production hour, id)) of production hours in
    [first_hour, last_hour]: the first page starts at `first_hour` (a cursor just past hour
    first_hour - 1) and paging stops after `last_hour`."""
    found: list[_T] = []
    after = ((first_hour - 1).to_bytes(8, "big") + b"\xff" * 8).hex() if first_hour > 0 else ""
    while True:
        items, cursor = decode(client.query_raw(path + page_suffix(PAGE, after)))
        found.extend(x for x in items if first_hour <= x.hour_start <= last_hour)
        if not cursor or any(x.hour_start > last_hour for x in items):
            return found
        after = cursor


def _bundle_page(raw: bytes) -> _Page[pb.Bundle]:
    page = pb.BundleList.FromString(raw)
    return list(page.bundles), page.next


def _retirement_page(raw: bytes) -> _Page[pb.Retirement]:
    page = pb.RetirementList.FromString(raw)
    return list(page.retirements), page.next


def owner_bundles(client: GridClient, owner: bytes, first_hour: int, last_hour: int) -> list[pb.Bundle]:
    """The owner's bundles (any status) of production hours in [first_hour, last_hour]."""
    return _of_hours(client, CertificatesPaths.BUNDLES("owner", owner), _bundle_page, first_hour, last_hour)


def owner_retirements(client: GridClient, owner: bytes, first_hour: int, last_hour: int) -> list[pb.Retirement]:
    """The owner's retirements of certificates of production hours in [first_hour, last_hour], from
    the ledger's owner index of retirements (they stay there for the whole retention; the retired
    bundles leave after a day)."""
    path = CertificatesPaths.RETIREMENTS("owner", owner)
    return _of_hours(client, path, _retirement_page, first_hour, last_hour)


def _claimed(client: GridClient, owner: bytes, hours: tuple[int, int], purpose: str) -> list[pb.Retirement]:
    """The retirements made under `purpose` for the owner itself, of certificates of those hours."""
    return [r for r in owner_retirements(client, owner, *hours) if r.purpose == purpose and r.beneficiary == owner]


def claim_session(client: GridClient, session: FinishedSession) -> ClaimRecord:
    """Retire the owner's certificates of the session's hours for its energy (one tx; idempotent).

    When the tx is refused with NONCE_TOO_LOW (another client used the owner's key since this one
    last read its nonce: the driver's app beside the gateway), the claim is made once more from
    fresh reads; the purpose keeps that from retiring twice."""
    try:
        return _claim_once(client, session)
    except TxFailedError as exc:
        if exc.result.code != NONCE_TOO_LOW:
            raise
    return _claim_once(client, session)


def _claim_once(client: GridClient, session: FinishedSession) -> ClaimRecord:
    s = session
    purpose = purpose_of(s.session_id)
    if s.wh <= 0 or s.end <= s.start:
        return ClaimRecord(s, max(0, s.wh), 0, 0, (), 0)
    now = chain_time(client)
    if client.key is not None:
        client.nonce()  # fixed before anything is read: see "a resend ... is harmless" above
    period = certificate_period(client)
    shares = split_by_period(s.start, s.end, s.wh, period)
    first, last = shares[0][0], shares[-1][0]
    settles_at = last + period + issuance_grace(client)

    bundles = owner_bundles(client, s.owner, first, last)
    done: dict[int, int] = {}
    for r in _claimed(client, s.owner, (first, last), purpose):
        done[r.hour_start] = done.get(r.hour_start, 0) + r.wh
    active = sorted(
        (b for b in bundles if b.status == pb.BUNDLE_STATUS_ACTIVE and b.owner == s.owner),
        key=lambda b: (b.hour_start, b.bundle_id),
    )
    messages: list[pb.RetireCertificates] = []
    for hour, share in shares:
        need = share - done.get(hour, 0)
        for b in active:
            if need <= 0:
                break
            if b.hour_start != hour:
                continue
            take = min(need, b.end_wh - b.start_wh)
            consumption = (max(s.start, hour), min(s.end, hour + period))
            messages.append(retire(b.bundle_id, take, s.owner, consumption, purpose))
            need -= take
    if messages:
        client.submit(list(messages))
    claimed = _claimed(client, s.owner, (first, last), purpose)
    covered = min(s.wh, sum(r.wh for r in claimed))
    return ClaimRecord(
        session=s,
        wh=s.wh,
        covered_wh=covered,
        share_bp=covered * BP // s.wh,
        retirement_ids=tuple(sorted(r.retirement_id for r in claimed)),
        new_retirements=len(messages),
        chain_time=now,
        settles_at=settles_at,
    )
