"""The certificates domain as the registry sees it."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates import (
    events,
    genesis,
    handlers,
    invariants,
    issuance,
    keys,
    messages,
    prune,
    queries,
    registry_actions,
    registry_messages,
    registry_queries,
)
from abci_app.certificates.errors import ERROR_RANGE, CertificatesCode
from abci_app.certificates.params import PARAMS
from abci_app.domain import Domain, MessageSpec
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["DOMAIN"]

_rm, _ra = registry_messages, registry_actions
# the EnergyTag GC Registry API actions (registry_actions.py)
_REGISTRY_SPECS = (
    MessageSpec(pb.LockCertificates, _rm.LockCertificates, _rm.lock_from_proto, _ra.lock_certificates),
    MessageSpec(pb.ReserveCertificates, _rm.ReserveCertificates, _rm.reserve_from_proto, _ra.reserve_certificates),
    MessageSpec(pb.ReleaseCertificates, _rm.ReleaseCertificates, _rm.release_from_proto, _ra.release_certificates),
    MessageSpec(pb.WithdrawCertificates, _rm.WithdrawCertificates, _rm.withdraw_from_proto, _ra.withdraw_certificates),
    MessageSpec(pb.ClaimCertificates, _rm.ClaimCertificates, _rm.claim_from_proto, _ra.claim_certificates),
    MessageSpec(
        pb.SetTransferAcceptance,
        _rm.SetTransferAcceptance,
        _rm.set_acceptance_from_proto,
        _ra.set_transfer_acceptance,
    ),
    MessageSpec(
        pb.CreateRecurringAction,
        _rm.CreateRecurringAction,
        _rm.create_recurring_from_proto,
        _ra.create_recurring_action,
    ),
    MessageSpec(
        pb.CancelRecurringAction,
        _rm.CancelRecurringAction,
        _rm.cancel_recurring_from_proto,
        _ra.cancel_recurring_action,
    ),
)


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Issuance, storage, deliveries, standing instructions and expiry (issuance.py), then pruning of
    what is past its retention (prune.py)."""
    return issuance.end_block(store, block) + prune.end_block(store, block)


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
        *_REGISTRY_SPECS,
    ),
    queries={**queries.QUERIES, **registry_queries.QUERIES},
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    params=PARAMS,
    end_block=end_block,
    invariants=(
        invariants.issued_within_generation,
        invariants.generators_issue_once,
        invariants.bundles_tile_issued,
        invariants.storage_lineage_indexed,
        invariants.standing_oversight_holds,
        invariants.pending_deliveries_well_formed,
        invariants.storage_records_trace,
        invariants.recurring_actions_indexed,
        invariants.hour_indexes_complete,
        invariants.retired_bundles_ahead_of_pruning,
        invariants.retired_ranges_disjoint,
        invariants.retirements_indexed_by_owner,
    ),
)
