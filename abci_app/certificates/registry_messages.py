"""The EnergyTag GC Registry API actions as frozen records, and their converters (every bound checked here)."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates.registry_records import RecurringKind
from abci_app.codec_util import MAX_AMOUNT, address_field, nonneg_field, positive_field, text_field
from abci_app.errors import Code, TxError
from abci_app.types import Address

__all__ = [
    "MAX_ACCEPTANCE_CHANGES",
    "MAX_RECURRENCES",
    "CancelRecurringAction",
    "ClaimCertificates",
    "CreateRecurringAction",
    "LockCertificates",
    "ReleaseCertificates",
    "ReserveCertificates",
    "SetTransferAcceptance",
    "WithdrawCertificates",
    "cancel_recurring_from_proto",
    "claim_from_proto",
    "create_recurring_from_proto",
    "lock_from_proto",
    "release_from_proto",
    "reserve_from_proto",
    "set_acceptance_from_proto",
    "withdraw_from_proto",
]

MAX_ACCEPTANCE_CHANGES = 64  # senders one SetTransferAcceptance adds or removes
MAX_RECURRENCES = 366 * 24  # a standing instruction's count and its every_hours: at most a year of hours


@dataclass(frozen=True, slots=True)
class LockCertificates:
    """Lock `wh` Wh of the signer's bundle `bundle_id`."""

    bundle_id: int
    wh: int


@dataclass(frozen=True, slots=True)
class ReserveCertificates:
    """Reserve `wh` Wh of the signer's bundle `bundle_id` for a later cancellation."""

    bundle_id: int
    wh: int


@dataclass(frozen=True, slots=True)
class ReleaseCertificates:
    """Release the signer's locked or reserved bundle `bundle_id`."""

    bundle_id: int


@dataclass(frozen=True, slots=True)
class WithdrawCertificates:
    """Withdraw bundle `bundle_id` for good, giving the reason (certifiers)."""

    bundle_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class ClaimCertificates:
    """Record the beneficiary's claim of retirement `retirement_id`."""

    retirement_id: int


@dataclass(frozen=True, slots=True)
class SetTransferAcceptance:
    """Restrict or open who may transfer certificates to the signer; add `allow` to and remove `disallow`
    from its allow-list."""

    restricted: bool
    allow: tuple[Address, ...]
    disallow: tuple[Address, ...]


@dataclass(frozen=True, slots=True)
class CreateRecurringAction:
    """A standing transfer to / cancellation for `target` of up to `wh` Wh per run, from `first_hour`,
    every `every_hours` hours, `count` times."""

    kind: RecurringKind
    target: Address
    wh: int
    first_hour: int
    every_hours: int
    count: int
    purpose: str


@dataclass(frozen=True, slots=True)
class CancelRecurringAction:
    """Delete the signer's standing instruction `action_id`."""

    action_id: int


def lock_from_proto(m: pb.LockCertificates) -> LockCertificates:
    """A LockCertificates of a positive bundle id and Wh."""
    return LockCertificates(positive_field(m.bundle_id, "bundle_id"), positive_field(m.wh, "wh"))


def reserve_from_proto(m: pb.ReserveCertificates) -> ReserveCertificates:
    """A ReserveCertificates of a positive bundle id and Wh."""
    return ReserveCertificates(positive_field(m.bundle_id, "bundle_id"), positive_field(m.wh, "wh"))


def release_from_proto(m: pb.ReleaseCertificates) -> ReleaseCertificates:
    """A ReleaseCertificates of a positive bundle id."""
    return ReleaseCertificates(positive_field(m.bundle_id, "bundle_id"))


def withdraw_from_proto(m: pb.WithdrawCertificates) -> WithdrawCertificates:
    """A WithdrawCertificates of a positive bundle id with a reason of at most 128 bytes."""
    return WithdrawCertificates(positive_field(m.bundle_id, "bundle_id"), text_field(m.reason, "reason", 128))


def claim_from_proto(m: pb.ClaimCertificates) -> ClaimCertificates:
    """A ClaimCertificates of a positive retirement id."""
    return ClaimCertificates(positive_field(m.retirement_id, "retirement_id"))


def _addresses(values: object, name: str) -> tuple[Address, ...]:
    items = list(values)  # type: ignore[call-overload]
    if len(items) > MAX_ACCEPTANCE_CHANGES:
        raise TxError(Code.INVALID_ARGUMENT, f"{name}: at most {MAX_ACCEPTANCE_CHANGES} addresses")
    return tuple(address_field(x, name) for x in items)


def set_acceptance_from_proto(m: pb.SetTransferAcceptance) -> SetTransferAcceptance:
    """A SetTransferAcceptance whose allow and disallow lists are 20-byte addresses, none in both
    (INVALID_ARGUMENT)."""
    allow, disallow = _addresses(m.allow, "allow"), _addresses(m.disallow, "disallow")
    if set(allow) & set(disallow):
        raise TxError(Code.INVALID_ARGUMENT, "an address is both allowed and disallowed")
    return SetTransferAcceptance(bool(m.restricted), allow, disallow)


def create_recurring_from_proto(m: pb.CreateRecurringAction) -> CreateRecurringAction:
    """A CreateRecurringAction of kind transfer or cancel, a 20-byte target, positive Wh, and an interval
    and count in [1, MAX_RECURRENCES]."""
    if int(m.kind) not in (RecurringKind.TRANSFER, RecurringKind.CANCEL):
        raise TxError(Code.INVALID_ARGUMENT, "kind: expected transfer or cancel")
    every = nonneg_field(m.every_hours, "every_hours", MAX_RECURRENCES)
    count = nonneg_field(m.count, "count", MAX_RECURRENCES)
    if every == 0 or count == 0:
        raise TxError(Code.INVALID_ARGUMENT, "every_hours and count must be above 0")
    return CreateRecurringAction(
        RecurringKind(m.kind),
        address_field(m.target, "target"),
        positive_field(m.wh, "wh"),
        nonneg_field(m.first_hour, "first_hour", MAX_AMOUNT),
        every,
        count,
        text_field(m.purpose, "purpose", 128),
    )


def cancel_recurring_from_proto(m: pb.CancelRecurringAction) -> CancelRecurringAction:
    """A CancelRecurringAction of a positive action id."""
    return CancelRecurringAction(positive_field(m.action_id, "action_id"))
