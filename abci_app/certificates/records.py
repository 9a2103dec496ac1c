"""Stored records of the certificates domain (the protobuf messages of
`gridledger.certificates.v1`, whose encodings are the provable query answers) and the
bundle statuses."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

__all__ = [
    "ACTIVE",
    "CONSUMED",
    "EXPIRED",
    "RETIRED",
    "REVOKED",
    "STATUS_NAMES",
    "SUSPENDED",
    "Bundle",
    "BundleHistory",
    "HistoryEntry",
    "Retirement",
    "StorageLot",
    "StorageState",
]

Bundle = pb.Bundle
BundleHistory = pb.BundleHistory
HistoryEntry = pb.HistoryEntry
Retirement = pb.Retirement
StorageLot = pb.StorageLot
StorageState = pb.StorageState

ACTIVE = pb.BUNDLE_STATUS_ACTIVE
RETIRED = pb.BUNDLE_STATUS_RETIRED
SUSPENDED = pb.BUNDLE_STATUS_SUSPENDED
REVOKED = pb.BUNDLE_STATUS_REVOKED
CONSUMED = pb.BUNDLE_STATUS_CONSUMED_BY_STORAGE
EXPIRED = pb.BUNDLE_STATUS_EXPIRED
STATUS_NAMES: dict[int, str] = {
    ACTIVE: "active",
    RETIRED: "retired",
    SUSPENDED: "suspended",
    REVOKED: "revoked",
    CONSUMED: "consumed_by_storage",
    EXPIRED: "expired",
}
