"""Queries: /bundle/<id>, /retirement/<id>, /cert_issued/<device>/<hour> (provable records);
/bundles/{owner,device,hour,status}/<value> (paginated BundleList); /retirements/owner/<address>[/<hour>]
(paginated RetirementList: the owner's retirements by production hour, as long as they are live); /bundle_history/<id>
(BundleHistoryView: the bundle's history, then its ancestors'); /matching/<member>/<hour>,
/score/<member>/<from>/<to>, /residual/<region>/<hour> (views, see matching.py);
/oversight/<device> (provable StandingOversight: the certifier's standing suspension or
revocation of the device; no value when there is none); /pending_deliveries[/<hour>]
(paginated PendingDeliveryList: delivery versus payment still owed, see dvp.py);
/clear_sky_hold/<device>/<hour> (provable ClearSkyHold: PV generation of the device-hour held
above the clear-sky bound; no value when there is none); /archive_commitment/<height> (provable
commitment, root and count, of the records block `height` pruned, prune.py). A retirement that
pruning archived answers RECORD_ARCHIVED, saying so (prove it from the archive instead), and so
do /matching, /score and /residual for hours before the devices' pruning watermark (their
consumption is gone, their claims and the residual mix's archived retired Wh archived)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.contract.certificates import Paths

from abci_app.certificates import keeper, keys, matching, prune
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.params import period
from abci_app.certificates.records import STATUS_NAMES, Bundle, PendingDelivery
from abci_app.devices import keeper as devices
from abci_app.domain import QueryHandler, QueryResult
from abci_app.errors import Code, TxError
from abci_app.query_util import address_arg, args_exactly, id_arg, int_arg, page, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]

MAX_SCORE_HOURS = 366 * 24
MAX_ANCESTORS = 64
STATUS_BY_NAME = {v: k for k, v in STATUS_NAMES.items()}


def _hour(store: KVReader, text: str, name: str) -> int:
    value = int_arg(text, name)
    length = period(store)
    if value % length:
        raise TxError(Code.QUERY_BAD_REQUEST, f"{name} {value} is not a multiple of the certificate period {length}")
    return value


def bundle(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/bundle/<id>: the stored Bundle, provable against the app hash."""
    (bundle_id,) = args_exactly(args, 1, "/bundle/<id>")
    return record(store, keys.bundle(int_arg(bundle_id, "bundle id")))


def retirement(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/retirement/<id>: the stored Retirement, provable against the app hash."""
    (rid,) = args_exactly(args, 1, "/retirement/<id>")
    retirement_id = int_arg(rid, "retirement id")
    found = record(store, keys.retirement(retirement_id))
    if found.value is None and 0 < retirement_id <= prune.archived_retirement(store):
        raise TxError(
            CertificatesCode.RECORD_ARCHIVED,
            f"retirement {retirement_id} left live state after its retention (retirements up to "
            f"{prune.archived_retirement(store)} are archived): prove it from the certificates_archived event of "
            f"the block that pruned it against that block's /archive_commitment/<height>",
        )
    return found


def retirements(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/retirements/owner/<address hex>[/<hour>]: one page of the owner's retirements still in live state
    (of one production hour when given), in hour then id order (a RetirementList with the next page's
    cursor); QUERY_BAD_REQUEST otherwise."""
    usage = "/retirements/owner/<address hex>[/<hour start>]"
    if len(args) not in (2, 3) or args[0] != "owner":
        raise TxError(Code.QUERY_BAD_REQUEST, f"usage: {usage}")
    hour = _hour(store, args[2], "hour") if len(args) == 3 else None
    prefix = keys.retirement_by_owner_prefix(address_arg(args[1]), hour)

    def decode(key: bytes, _value: bytes) -> pb.Retirement | None:
        r = keeper.get_retirement(store, int.from_bytes(key[-8:], "big"))
        return None if r is None else r.to_proto()

    items, cursor = page(store, prefix, options, decode)
    return QueryResult(pb.RetirementList(retirements=items, next=cursor).SerializeToString(deterministic=True))


def archive_commitment(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/archive_commitment/<height>: the archive commitment (root, count) of block `height`, provable;
    not found when that block archived nothing."""
    (height,) = args_exactly(args, 1, "/archive_commitment/<height>")
    return record(store, keys.archive_commitment(int_arg(height, "height")))


def issued(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/cert_issued/<device>/<hour>: the Wh issued for that device-hour (8 bytes big-endian; once pruning
    archived some of its bundles, 16: issued, then the Wh archived), provable."""
    device_id, hour = args_exactly(args, 2, "/cert_issued/<device>/<hour>")
    return record(store, keys.issued(id_arg(device_id, "device id"), _hour(store, hour, "hour")))


def oversight(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/oversight/<device>: the certifier's standing oversight of the device, provable; not found when
    there is none."""
    (device_id,) = args_exactly(args, 1, "/oversight/<device>")
    return record(store, keys.oversight(id_arg(device_id, "device id")))


def clear_sky_hold(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/clear_sky_hold/<device>/<hour>: the ClearSkyHold of that device-hour, provable."""
    device_id, hour = args_exactly(args, 2, "/clear_sky_hold/<device>/<hour>")
    return record(store, keys.clear_sky_hold(id_arg(device_id, "device id"), _hour(store, hour, "hour")))


def bundles(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/bundles/owner|device|hour|status/<value>: one page of bundles through that index (BundleList with
    the next page's cursor); QUERY_BAD_REQUEST for another index or an unknown status."""
    usage = "/bundles/owner/<address hex> | device/<id> | hour/<hour start> | status/<name>"
    kind, value = args_exactly(args, 2, usage)
    if kind == "owner":
        prefix = keys.by_owner_prefix(address_arg(value))
    elif kind == "device":
        prefix = keys.by_device_prefix(id_arg(value, "device id"))
    elif kind == "hour":
        prefix = keys.by_hour_prefix(_hour(store, value, "hour"))
    elif kind == "status" and value in STATUS_BY_NAME:
        prefix = keys.by_status_prefix(STATUS_BY_NAME[value])
    else:
        raise TxError(Code.QUERY_BAD_REQUEST, f"usage: {usage}; statuses: {sorted(STATUS_BY_NAME)}")

    def decode(key: bytes, value: bytes) -> pb.Bundle | None:
        raw_id = value if kind == "device" else key[-8:]
        b = keeper.get_bundle(store, int.from_bytes(raw_id, "big"))
        return None if b is None else b.to_proto()

    items, cursor = page(store, prefix, options, decode)
    return QueryResult(pb.BundleList(bundles=items, next=cursor).SerializeToString(deterministic=True))


def history(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/bundle_history/<id>: the histories of the bundle and of its ancestors (the bundles it was cut
    from), nearest first, at most MAX_ANCESTORS; not found for an unknown bundle."""
    (bundle_id,) = args_exactly(args, 1, "/bundle_history/<id>")
    b = keeper.get_bundle(store, int_arg(bundle_id, "bundle id"))
    if b is None:
        return QueryResult(None)
    view = pb.BundleHistoryView()
    current: Bundle | None = b
    for _ in range(MAX_ANCESTORS):
        if current is None:
            break
        h = keeper.get_history(store, current.bundle_id)
        if h is not None:
            view.chain.append(h.to_proto())
        current = keeper.get_bundle(store, current.parent_id) if current.parent_id else None
    return QueryResult(view.SerializeToString(deterministic=True))


def _consumption_live(store: KVReader, hour_start: int) -> None:
    """RECORD_ARCHIVED for an hour starting before the devices' pruning watermark: its metered
    consumption may be pruned and its claims archived (prune.py), so a matching view of it would
    be wrong rather than empty."""
    if devices.may_be_pruned(store, hour_start):
        raise TxError(
            CertificatesCode.RECORD_ARCHIVED,
            f"hour {hour_start} starts before the devices' pruning watermark {devices.pruned_before(store)}: its "
            "metered consumption left live state with the devices' retention, and its claims and archived "
            "retired Wh were archived (prove them from the certificates_archived events)",
        )


def matching_q(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/matching/<member>/<hour>: the member's consumption in that hour and the certificates retired for it
    (a Matching view)."""
    member, hour = args_exactly(args, 2, "/matching/<member address hex>/<hour start>")
    hour_start = _hour(store, hour, "hour")
    _consumption_live(store, hour_start)
    view = matching.matching(store, address_arg(member), hour_start)
    return QueryResult(pb.Matching(**asdict(view)).SerializeToString(deterministic=True))


def score(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/score/<member>/<from hour>/<to hour>: the member's hourly matching score over at most
    MAX_SCORE_HOURS hours (QUERY_BAD_REQUEST for a wider or reversed range)."""
    member, start, end = args_exactly(args, 3, "/score/<member address hex>/<from hour>/<to hour>")
    lo, hi = _hour(store, start, "from"), _hour(store, end, "to")
    if not lo <= hi <= lo + MAX_SCORE_HOURS * period(store):
        raise TxError(Code.QUERY_BAD_REQUEST, f"need from <= to <= from + {MAX_SCORE_HOURS} hours")
    _consumption_live(store, lo)
    view = matching.score(store, address_arg(member), lo, hi)
    return QueryResult(pb.Score(**asdict(view)).SerializeToString(deterministic=True))


def residual(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/residual/<grid region>/<hour>: the region's generation in that hour without certificates retired
    against it (a Residual view); RECORD_ARCHIVED for an hour before the devices' pruning watermark."""
    region, hour = args_exactly(args, 2, "/residual/<grid region>/<hour start>")
    hour_start = _hour(store, hour, "hour")
    _consumption_live(store, hour_start)  # its archived retired Wh leave then (prune.py)
    view = matching.residual(store, id_arg(region, "grid region"), hour_start)
    return QueryResult(pb.Residual(**asdict(view)).SerializeToString(deterministic=True))


def pending_deliveries(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/pending_deliveries[/<hour start>]: one page of the deliveries versus payment still owed (of one
    production hour when given), in key order."""
    if len(args) > 1:
        raise TxError(Code.QUERY_BAD_REQUEST, "usage: /pending_deliveries[/<hour start>]")
    prefix = keys.pending_delivery_prefix(_hour(store, args[0], "hour") if args else None)

    def decode(_key: bytes, value: bytes) -> pb.PendingDelivery:
        return PendingDelivery.decode(value).to_proto()

    items, cursor = page(store, prefix, options, decode)
    return QueryResult(pb.PendingDeliveryList(deliveries=items, next=cursor).SerializeToString(deterministic=True))


QUERIES: dict[str, QueryHandler] = {
    Paths.BUNDLE.root: bundle,
    Paths.BUNDLES.root: bundles,
    Paths.BUNDLE_HISTORY.root: history,
    Paths.RETIREMENT.root: retirement,
    Paths.RETIREMENTS.root: retirements,
    Paths.CERT_ISSUED.root: issued,
    Paths.MATCHING.root: matching_q,
    Paths.SCORE.root: score,
    Paths.RESIDUAL.root: residual,
    Paths.OVERSIGHT.root: oversight,
    Paths.PENDING_DELIVERIES.root: pending_deliveries,
    Paths.CLEAR_SKY_HOLD.root: clear_sky_hold,
    Paths.ARCHIVE_COMMITMENT.root: archive_commitment,
}
