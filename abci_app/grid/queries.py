"""Queries: /tariffs, /fees, /feeder/<feeder>, /feeders, /dr/<event id>, /dr_events,
/dr_enrolments/<event id>, /dr_member/<device id> (lists paginated), /grid_archive_commitment/<height>.

An archived event's enrolments left live state (prune.py): /dr_enrolments answers
DR_ENROLMENTS_ARCHIVED, and each is proven from the archive of the block that removed it."""

from __future__ import annotations

from collections.abc import Mapping

from gridledger.grid.v1 import grid_pb2
from gridledger.tx.v1 import tx_pb2
from gridwire.contract.grid import GridCode, Paths

from abci_app.domain import QueryHandler, QueryResult
from abci_app.errors import TxError
from abci_app.grid import keeper, keys
from abci_app.query_util import args_exactly, id_arg, int_arg, page, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]


def tariffs(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/tariffs: the tariffs (provable), absent until published."""
    args_exactly(args, 0, "/tariffs")
    return record(store, keys.tariffs())


def fees(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/fees: the grid fees (provable), absent until set."""
    args_exactly(args, 0, "/fees")
    return record(store, keys.fees())


def feeder(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/feeder/<feeder>: the feeder's limit (provable), absent when unlimited."""
    (name,) = args_exactly(args, 1, "/feeder/<feeder>")
    return record(store, keys.feeder_limit(id_arg(name, "feeder")))


def feeders(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/feeders: one page of feeder limits, in key order."""
    args_exactly(args, 0, "/feeders")
    items, cursor = page(store, keys.feeder_limit_prefix(), options, lambda _k, v: grid_pb2.FeederLimit.FromString(v))
    return QueryResult(grid_pb2.FeederLimitList(limits=items, page=tx_pb2.PageInfo(next=cursor)).SerializeToString())


def dr_event(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/dr/<event id>: the demand-response event (provable)."""
    (event_id,) = args_exactly(args, 1, "/dr/<event id>")
    return record(store, keys.dr_event(id_arg(event_id, "event id")))


def dr_events(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/dr_events: one page of demand-response events, in key order."""
    args_exactly(args, 0, "/dr_events")
    items, cursor = page(store, keys.dr_event_prefix(), options, lambda _k, v: grid_pb2.DrEvent.FromString(v))
    return QueryResult(grid_pb2.DrEventList(events=items, page=tx_pb2.PageInfo(next=cursor)).SerializeToString())


def dr_enrolments(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/dr_enrolments/<event id>: one page of the event's enrolments, in device key order."""
    (arg,) = args_exactly(args, 1, "/dr_enrolments/<event id>")
    event_id = id_arg(arg, "event id")
    event = keeper.get_dr_event(store, event_id)
    if event is not None and event.archived:
        raise TxError(
            GridCode.DR_ENROLMENTS_ARCHIVED,
            f"the enrolments of DR event {event_id!r} left live state after its retention: prove each from the "
            "grid_archived event of the block that pruned it against that block's /grid_archive_commitment/<height>",
        )
    prefix = keys.dr_enrolment_prefix(event_id)
    items, cursor = page(store, prefix, options, lambda _k, v: grid_pb2.DrEnrolment.FromString(v))
    return QueryResult(
        grid_pb2.DrEnrolmentList(enrolments=items, page=tx_pb2.PageInfo(next=cursor)).SerializeToString()
    )


def dr_member(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/dr_member/<device id>: the device's programme membership (provable)."""
    (device_id,) = args_exactly(args, 1, "/dr_member/<device id>")
    return record(store, keys.dr_member(id_arg(device_id, "device id")))


def archive_commitment(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/grid_archive_commitment/<height>: the archive commitment (root, count) of what block `height`'s
    pruning removed, provable; not found for a block that archived nothing."""
    (height,) = args_exactly(args, 1, "/grid_archive_commitment/<height>")
    return record(store, keys.archive_commitment(int_arg(height, "height")))


QUERIES: dict[str, QueryHandler] = {
    Paths.TARIFFS.root: tariffs,
    Paths.FEES.root: fees,
    Paths.FEEDER.root: feeder,
    Paths.FEEDERS.root: feeders,
    Paths.DR.root: dr_event,
    Paths.DR_EVENTS.root: dr_events,
    Paths.DR_ENROLMENTS.root: dr_enrolments,
    Paths.DR_MEMBER.root: dr_member,
    Paths.ARCHIVE_COMMITMENT.root: archive_commitment,
}
