"""Client side of the certificates domain: message builders (imports nothing from abci_app)."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

__all__ = ["reinstate", "reject_held", "release_held", "retire", "revoke", "suspend", "transfer"]


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
