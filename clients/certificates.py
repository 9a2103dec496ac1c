"""Client side of the certificates domain: message builders (imports nothing from abci_app)."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

__all__ = [
    "cancel_recurring",
    "claim",
    "lock",
    "recurring",
    "reinstate",
    "reject_held",
    "release",
    "release_held",
    "reserve",
    "retire",
    "revoke",
    "set_acceptance",
    "suspend",
    "transfer",
    "withdraw",
]


def transfer(bundle_id: int, wh: int, to: bytes) -> pb.TransferCertificates:
    """Move `wh` Wh of the signer's active bundle to `to`."""
    return pb.TransferCertificates(bundle_id=bundle_id, wh=wh, to=to)


def retire(
    bundle_id: int, wh: int, beneficiary: bytes, consumption: tuple[int, int], purpose: str = ""
) -> pb.RetireCertificates:
    """Claim `wh` Wh of the signer's active bundle for `beneficiary`'s consumption over
    [consumption[0], consumption[1])."""
    return pb.RetireCertificates(
        bundle_id=bundle_id,
        wh=wh,
        beneficiary=beneficiary,
        purpose=purpose,
        consumption_start=consumption[0],
        consumption_end=consumption[1],
    )


def suspend(device_id: str, from_hour: int) -> pb.SuspendBundles:
    """Certifier only: suspend the device's active bundles from `from_hour` on, and those
    issued later for its hours from `from_hour` on (a standing suspension)."""
    return pb.SuspendBundles(device_id=device_id, from_hour=from_hour)


def revoke(device_id: str, from_hour: int) -> pb.RevokeBundles:
    """Certifier only: revoke the device's active and suspended bundles from `from_hour` on,
    and those issued later for its hours from `from_hour` on (a standing revocation)."""
    return pb.RevokeBundles(device_id=device_id, from_hour=from_hour)


def reinstate(device_id: str, from_hour: int) -> pb.ReinstateBundles:
    """Certifier only: lift the device's suspension from `from_hour` on (not after the
    standing suspension's first hour): its suspended bundles become active again and later
    ones are issued active. Revoked bundles stay revoked."""
    return pb.ReinstateBundles(device_id=device_id, from_hour=from_hour)


def release_held(device_id: str, hour_start: int) -> pb.ReleaseHeldGeneration:
    """Certifier only: issue the PV generation of the device-hour held above the clear-sky bound."""
    return pb.ReleaseHeldGeneration(device_id=device_id, hour_start=hour_start)


def reject_held(device_id: str, hour_start: int, reason: str = "") -> pb.RejectHeldGeneration:
    """Certifier only: the device-hour's generation held above the clear-sky bound is never issued."""
    return pb.RejectHeldGeneration(device_id=device_id, hour_start=hour_start, reason=reason)


# ---- EnergyTag GC Registry API actions (abci_app/certificates/registry_actions.py) ----


def lock(bundle_id: int, wh: int) -> pb.LockCertificates:
    """Lock `wh` Wh of the signer's active bundle: they do not move until released."""
    return pb.LockCertificates(bundle_id=bundle_id, wh=wh)


def reserve(bundle_id: int, wh: int) -> pb.ReserveCertificates:
    """Reserve `wh` Wh of the signer's active bundle: only retirement or release."""
    return pb.ReserveCertificates(bundle_id=bundle_id, wh=wh)


def release(bundle_id: int) -> pb.ReleaseCertificates:
    """Make the signer's locked or reserved bundle active again."""
    return pb.ReleaseCertificates(bundle_id=bundle_id)


def withdraw(bundle_id: int, reason: str = "") -> pb.WithdrawCertificates:
    """The issuing body (role certifier) withdraws a bundle (final)."""
    return pb.WithdrawCertificates(bundle_id=bundle_id, reason=reason)


def claim(retirement_id: int) -> pb.ClaimCertificates:
    """The beneficiary of a retirement claims it."""
    return pb.ClaimCertificates(retirement_id=retirement_id)


def set_acceptance(
    restricted: bool, allow: list[bytes] | None = None, disallow: list[bytes] | None = None
) -> pb.SetTransferAcceptance:
    """Accept transfers from the allow-list only (`restricted`), adding and removing senders."""
    return pb.SetTransferAcceptance(restricted=restricted, allow=allow or [], disallow=disallow or [])


def recurring(
    kind: str, target: bytes, wh: int, *, first_hour: int, every_hours: int, count: int, purpose: str = ""
) -> pb.CreateRecurringAction:
    """A standing instruction: `kind` "transfer" (to target) or "cancel" (retire for target)."""
    kinds = {"transfer": pb.RECURRING_KIND_TRANSFER, "cancel": pb.RECURRING_KIND_CANCEL}
    return pb.CreateRecurringAction(
        kind=kinds[kind], target=target, wh=wh, first_hour=first_hour, every_hours=every_hours, count=count,
        purpose=purpose,
    )  # fmt: skip


def cancel_recurring(action_id: int) -> pb.CancelRecurringAction:
    """End the signer's standing instruction."""
    return pb.CancelRecurringAction(action_id=action_id)
