"""The certificates domain as the registry sees it."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates import events, genesis, handlers, invariants, issuance, keys, messages, queries
from abci_app.certificates.errors import ERROR_RANGE, CertificatesCode
from abci_app.certificates.params import PARAMS
from abci_app.domain import Domain, MessageSpec

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="certificates",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=CertificatesCode,
    messages=(
        MessageSpec(
            pb.TransferCertificates,
            messages.TransferCertificates,
            messages.transfer_from_proto,
            handlers.transfer_certificates,
        ),
        MessageSpec(
            pb.RetireCertificates, messages.RetireCertificates, messages.retire_from_proto, handlers.retire_certificates
        ),
        MessageSpec(pb.SuspendBundles, messages.SuspendBundles, messages.suspend_from_proto, handlers.suspend_bundles),
        MessageSpec(pb.RevokeBundles, messages.RevokeBundles, messages.revoke_from_proto, handlers.revoke_bundles),
        MessageSpec(
            pb.ReinstateBundles, messages.ReinstateBundles, messages.reinstate_from_proto, handlers.reinstate_bundles
        ),
        MessageSpec(
            pb.ReleaseHeldGeneration,
            messages.ReleaseHeldGeneration,
            messages.release_held_from_proto,
            handlers.release_held_generation,
        ),
        MessageSpec(
            pb.RejectHeldGeneration,
            messages.RejectHeldGeneration,
            messages.reject_held_from_proto,
            handlers.reject_held_generation,
        ),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    params=PARAMS,
    end_block=issuance.end_block,
    invariants=(
        invariants.issued_within_generation,
        invariants.generators_issue_once,
        invariants.bundles_tile_issued,
        invariants.storage_lineage_indexed,
        invariants.standing_oversight_holds,
        invariants.pending_deliveries_well_formed,
    ),
)
