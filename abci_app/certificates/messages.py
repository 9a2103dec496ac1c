"""Certificates messages as frozen records, and their converters (every bound checked here)."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.codec_util import MAX_AMOUNT, address_field, id_field, nonneg_field, positive_field, text_field
from abci_app.errors import Code, TxError
from abci_app.types import Address

__all__ = [
    "MAX_CONSUMPTION_SECONDS",
    "ReinstateBundles",
    "RejectHeldGeneration",
    "ReleaseHeldGeneration",
    "RetireCertificates",
    "RevokeBundles",
    "SuspendBundles",
    "TransferCertificates",
    "reinstate_from_proto",
    "reject_held_from_proto",
    "release_held_from_proto",
    "retire_from_proto",
    "revoke_from_proto",
    "suspend_from_proto",
    "transfer_from_proto",
]

MAX_CONSUMPTION_SECONDS = 31 * 86_400  # a claim's consumption period: at most 31 days (744 hourly claims)


@dataclass(frozen=True, slots=True)
class TransferCertificates:
    """Move `wh` Wh of bundle `bundle_id` to member `to`."""

    bundle_id: int
    wh: int
    to: Address


@dataclass(frozen=True, slots=True)
class RetireCertificates:
    """Retire `wh` Wh of bundle `bundle_id` for `beneficiary`'s consumption in [consumption_start,
    consumption_end)."""

    bundle_id: int
    wh: int
    beneficiary: Address
    purpose: str
    consumption_start: int
    consumption_end: int


@dataclass(frozen=True, slots=True)
class SuspendBundles:
    """Suspend the device's bundles from production hour `from_hour` on (certifiers)."""

    device_id: str
    from_hour: int


@dataclass(frozen=True, slots=True)
class RevokeBundles:
    """Revoke the device's bundles from production hour `from_hour` on (certifiers)."""

    device_id: str
    from_hour: int


@dataclass(frozen=True, slots=True)
class ReinstateBundles:
    """Lift the device's suspension from production hour `from_hour` on (certifiers)."""

    device_id: str
    from_hour: int


def transfer_from_proto(m: pb.TransferCertificates) -> TransferCertificates:
    """A TransferCertificates of a positive bundle id and Wh to a 20-byte address (INVALID_ARGUMENT
    otherwise)."""
    return TransferCertificates(
        positive_field(m.bundle_id, "bundle_id"), positive_field(m.wh, "wh"), address_field(m.to, "to")
    )


def retire_from_proto(m: pb.RetireCertificates) -> RetireCertificates:
    """A RetireCertificates of a positive bundle id and Wh for a 20-byte beneficiary, a purpose of at most
    128 bytes and a consumption period start < end <= start + MAX_CONSUMPTION_SECONDS."""
    start = nonneg_field(m.consumption_start, "consumption_start", MAX_AMOUNT)
    end = nonneg_field(m.consumption_end, "consumption_end", MAX_AMOUNT)
    if not start < end <= start + MAX_CONSUMPTION_SECONDS:
        raise TxError(
            Code.INVALID_ARGUMENT,
            f"consumption period must satisfy start < end <= start + {MAX_CONSUMPTION_SECONDS}",
        )
    return RetireCertificates(
        positive_field(m.bundle_id, "bundle_id"),
        positive_field(m.wh, "wh"),
        address_field(m.beneficiary, "beneficiary"),
        text_field(m.purpose, "purpose", 128),
        start,
        end,
    )


def _hour(value: int) -> int:
    """A production hour to act from (bundles of hours starting at or after it)."""
    return nonneg_field(value, "from_hour", MAX_AMOUNT)


def suspend_from_proto(m: pb.SuspendBundles) -> SuspendBundles:
    """A SuspendBundles of a device id and a production hour to suspend from."""
    return SuspendBundles(id_field(m.device_id, "device_id"), _hour(m.from_hour))


def revoke_from_proto(m: pb.RevokeBundles) -> RevokeBundles:
    """A RevokeBundles of a device id and a production hour to revoke from."""
    return RevokeBundles(id_field(m.device_id, "device_id"), _hour(m.from_hour))


def reinstate_from_proto(m: pb.ReinstateBundles) -> ReinstateBundles:
    """A ReinstateBundles of a device id and a production hour to reinstate from."""
    return ReinstateBundles(id_field(m.device_id, "device_id"), _hour(m.from_hour))


@dataclass(frozen=True, slots=True)
class ReleaseHeldGeneration:
    """Issue the generation held above the clear-sky bound of a device-hour (certifiers)."""

    device_id: str
    hour_start: int


@dataclass(frozen=True, slots=True)
class RejectHeldGeneration:
    """Refuse for good the generation held above the clear-sky bound of a device-hour (certifiers)."""

    device_id: str
    hour_start: int
    reason: str


def release_held_from_proto(m: pb.ReleaseHeldGeneration) -> ReleaseHeldGeneration:
    """A ReleaseHeldGeneration of a device id and the start of the held hour."""
    return ReleaseHeldGeneration(
        id_field(m.device_id, "device_id"), nonneg_field(m.hour_start, "hour_start", MAX_AMOUNT)
    )


def reject_held_from_proto(m: pb.RejectHeldGeneration) -> RejectHeldGeneration:
    """A RejectHeldGeneration of a device id, the start of the held hour and a reason of at most 128 bytes."""
    return RejectHeldGeneration(
        id_field(m.device_id, "device_id"),
        nonneg_field(m.hour_start, "hour_start", MAX_AMOUNT),
        text_field(m.reason, "reason", 128),
    )
