"""Queries of the EnergyTag records: /scr/<id>, /sdr/<id> (provable StorageChargeRecord,
StorageDischargeRecord); /storage_lineage/<bundle id> (StorageLineage: a storage
certificate's SDR, its SCR and the bundle consumed, back through every battery to issued
generation, at most MAX_HOPS storage hops); /registry_info (provable RegistryInfo; no value
when genesis set none); /recurring_action/<id> (provable RecurringAction);
/transfer_acceptance/<member hex> (provable TransferAcceptance; no value: accepts everyone)."""

from __future__ import annotations

from collections.abc import Mapping

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.contract.certificates import Paths

from abci_app.certificates import keeper, keys, registry_keeper
from abci_app.domain import QueryHandler, QueryResult
from abci_app.errors import Code, TxError
from abci_app.query_util import address_arg, args_exactly, int_arg, record
from abci_app.store.branch import KVReader

__all__ = ["MAX_HOPS", "QUERIES", "lineage"]

MAX_HOPS = 16


def scr(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/scr/<id>: the StorageChargeRecord, provable against the app hash."""
    (scr_id,) = args_exactly(args, 1, "/scr/<id>")
    return record(store, keys.scr(int_arg(scr_id, "scr id")))


def sdr(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/sdr/<id>: the StorageDischargeRecord, provable against the app hash."""
    (sdr_id,) = args_exactly(args, 1, "/sdr/<id>")
    return record(store, keys.sdr(int_arg(sdr_id, "sdr id")))


def registry_info(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/registry_info: the registry's RegistryInfo, provable against the app hash."""
    args_exactly(args, 0, "/registry_info")
    return record(store, keys.registry_info())


def recurring_action(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/recurring_action/<id>: the standing RecurringAction, provable against the app hash."""
    (action_id,) = args_exactly(args, 1, "/recurring_action/<id>")
    return record(store, keys.recurring(int_arg(action_id, "action id")))


def transfer_acceptance(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/transfer_acceptance/<member>: the member's TransferAcceptance, provable; not found when it accepts
    from anyone."""
    (member,) = args_exactly(args, 1, "/transfer_acceptance/<member address hex>")
    return record(store, keys.acceptance(address_arg(member)))


def lineage(store: KVReader, bundle_id: int) -> pb.StorageLineage:
    """The bundle, then for a storage certificate its SDR, SCR and the bundle consumed, and so
    on while the consumed bundle is itself a storage certificate (at most MAX_HOPS hops)."""
    view = pb.StorageLineage()
    b = keeper.get_bundle(store, bundle_id)
    hops = 0
    while b is not None:
        view.bundles.append(b.to_proto())
        d = registry_keeper.get_sdr(store, b.sdr_id) if b.sdr_id else None
        if d is None or hops == MAX_HOPS:
            break
        view.sdrs.append(d.to_proto())
        c = registry_keeper.get_scr(store, d.scr_id) if d.scr_id else None
        if c is None:
            break
        view.scrs.append(c.to_proto())
        b = keeper.get_bundle(store, c.bundle_id)
        hops += 1
    return view


def storage_lineage(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/storage_lineage/<bundle id>: the charge and discharge records linking a storage certificate to the
    generation that went in (QUERY_NOT_FOUND for an unknown bundle)."""
    (bundle_id,) = args_exactly(args, 1, "/storage_lineage/<bundle id>")
    bid = int_arg(bundle_id, "bundle id")
    if keeper.get_bundle(store, bid) is None:
        raise TxError(Code.QUERY_NOT_FOUND, f"bundle {bid} does not exist")
    return QueryResult(lineage(store, bid).SerializeToString(deterministic=True))


QUERIES: dict[str, QueryHandler] = {
    Paths.SCR.root: scr,
    Paths.SDR.root: sdr,
    Paths.STORAGE_LINEAGE.root: storage_lineage,
    Paths.REGISTRY_INFO.root: registry_info,
    Paths.RECURRING_ACTION.root: recurring_action,
    Paths.TRANSFER_ACCEPTANCE.root: transfer_acceptance,
}
