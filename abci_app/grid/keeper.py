"""State access for the grid domain; the market and settlement read tariffs, fees and limits here."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from abci_app.grid import keys
from abci_app.grid.records import DrEnrolment, DrEvent, DrMember, DrSnapshot, FeederLimit, GridFees, Tariffs
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "count_dr_enrolments",
    "count_feeder_members",
    "delete_dr_snapshot",
    "due_dr_events",
    "get_dr_enrolment",
    "get_dr_event",
    "get_dr_member",
    "get_dr_snapshot",
    "get_feeder_limit",
    "get_fees",
    "get_tariffs",
    "iter_dr_enrolments",
    "iter_dr_enrolments_after",
    "iter_dr_snapshots",
    "iter_feeder_members",
    "put_dr_enrolment",
    "put_dr_event",
    "put_dr_member",
    "put_dr_snapshot",
    "put_feeder_limit",
    "put_fees",
    "put_tariffs",
    "remove_dr_member",
    "remove_feeder_limit",
    "settled_dr_events",
]


def get_tariffs(store: KVReader) -> Tariffs | None:
    """The current tariffs, or None until the grid operator has published them."""
    raw = store.get(keys.tariffs())
    return None if raw is None else Tariffs.decode(raw)


def put_tariffs(store: Branch, tariffs: Tariffs) -> None:
    """Store the tariffs (replacing the previous ones)."""
    store.set(keys.tariffs(), tariffs.encode())


def get_fees(store: KVReader) -> GridFees:
    """The grid fees per kWh (zero until the operator sets them)."""
    raw = store.get(keys.fees())
    return GridFees(0, 0) if raw is None else GridFees.decode(raw)


def put_fees(store: Branch, fees: GridFees) -> None:
    """Store the grid fees (replacing the previous ones)."""
    store.set(keys.fees(), fees.encode())


def get_feeder_limit(store: KVReader, feeder: str) -> FeederLimit | None:
    """The feeder's per-interval import/export limit; None means unlimited."""
    if len(feeder.encode()) > 64:
        return None
    raw = store.get(keys.feeder_limit(feeder))
    return None if raw is None else FeederLimit.decode(raw)


def put_feeder_limit(store: Branch, limit: FeederLimit) -> None:
    """Store the feeder's limit (replacing the previous one)."""
    store.set(keys.feeder_limit(limit.feeder), limit.encode())


def remove_feeder_limit(store: Branch, feeder: str) -> None:
    """Lift the feeder's limit: it is unlimited again."""
    store.delete(keys.feeder_limit(feeder))


def get_dr_event(store: KVReader, event_id: str) -> DrEvent | None:
    """The demand-response event `event_id`, or None."""
    raw = store.get(keys.dr_event(event_id))
    return None if raw is None else DrEvent.decode(raw)


def put_dr_event(store: Branch, event: DrEvent) -> None:
    """Store the event and keep the settlement and pruning indexes in step: an unsettled event is
    due at its end; a settled one leaves the settlement index for the pruning index, which it
    leaves once archived."""
    store.set(keys.dr_event(event.event_id), event.encode())
    due = keys.dr_due(event.end, event.event_id)
    if event.settled:
        store.delete(due)
        settled = keys.dr_settled(event.end, event.event_id)
        if event.archived:
            store.delete(settled)
        else:
            store.set(settled, b"")
    else:
        store.set(due, b"")


def settled_dr_events(store: KVReader, ended_by: int, limit: int) -> list[str]:
    """Ids of settled events with live enrolments that ended at or before `ended_by`, in end-time
    order (at most `limit` of them: reads at most `limit` keys)."""
    return _event_ids(store, keys.dr_settled_prefix(), keys.dr_settled(ended_by + 1, ""), limit)


def due_dr_events(store: KVReader, now: int, limit: int) -> list[str]:
    """Ids of unsettled events that ended at or before `now`, in end-time order (at most
    `limit` of them: reads at most `limit` keys)."""
    return _event_ids(store, keys.dr_due_prefix(), keys.dr_due(now + 1, ""), limit)


def _event_ids(store: KVReader, start: bytes, end: bytes, limit: int) -> list[str]:
    """The event ids of an index keyed prefix(1) u64(end) lp(event id), from `start` up to `end`
    (at most `limit`: reads at most `limit` keys)."""
    return [k[10 : 10 + k[9]].decode() for k, _v in islice(store.iter_range(start, end), limit)]


def get_dr_enrolment(store: KVReader, event_id: str, device_id: str) -> DrEnrolment | None:
    """The device's enrolment in the event, or None."""
    raw = store.get(keys.dr_enrolment(event_id, device_id))
    return None if raw is None else DrEnrolment.decode(raw)


def put_dr_enrolment(store: Branch, enrolment: DrEnrolment) -> None:
    """Store the enrolment (replacing the previous one)."""
    store.set(keys.dr_enrolment(enrolment.event_id, enrolment.device_id), enrolment.encode())


def iter_dr_enrolments(store: KVReader, event_id: str) -> Iterator[DrEnrolment]:
    """An event's enrolments in device-id key order."""
    prefix = keys.dr_enrolment_prefix(event_id)
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield DrEnrolment.decode(v)


def iter_dr_enrolments_after(store: KVReader, event_id: str, cursor: str) -> Iterator[DrEnrolment]:
    """An event's enrolments after the one of device `cursor` ("": from the first), in key
    order (length-prefixed device id: shorter ids first)."""
    prefix = keys.dr_enrolment_prefix(event_id)
    start = prefix if not cursor else keys.dr_enrolment(event_id, cursor) + b"\x00"
    for _k, v in store.iter_range(start, prefix_end(prefix)):
        yield DrEnrolment.decode(v)


def count_dr_enrolments(store: KVReader, event_id: str, limit: int) -> int:
    """An event's enrolments, counted up to `limit` (reads at most `limit` keys)."""
    prefix = keys.dr_enrolment_prefix(event_id)
    n = 0
    for _ in store.iter_range(prefix, prefix_end(prefix)):
        n += 1
        if n >= limit:
            break
    return n


def get_dr_member(store: KVReader, device_id: str) -> DrMember | None:
    """The device's demand-response programme membership, or None."""
    raw = store.get(keys.dr_member(device_id))
    return None if raw is None else DrMember.decode(raw)


def put_dr_member(store: Branch, member: DrMember) -> None:
    """Put the device in its feeder's programme, with its entry in the members-by-feeder index."""
    store.set(keys.dr_member(member.device_id), member.encode())
    store.set(keys.dr_feeder_member(member.feeder, member.device_id), b"")


def remove_dr_member(store: Branch, member: DrMember) -> None:
    """Take the device out of its feeder's programme and of the members-by-feeder index."""
    store.delete(keys.dr_member(member.device_id))
    store.delete(keys.dr_feeder_member(member.feeder, member.device_id))


def iter_feeder_members(store: KVReader, feeder: str) -> Iterator[str]:
    """Device ids of the feeder's programme members, in key order."""
    prefix = keys.dr_feeder_member_prefix(feeder)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield k[len(prefix) + 1 :].decode()


def count_feeder_members(store: KVReader, feeder: str, limit: int) -> int:
    """The feeder's programme members, counted up to `limit` (reads at most `limit` keys)."""
    return sum(1 for _ in islice(iter_feeder_members(store, feeder), limit))


def get_dr_snapshot(store: KVReader, event_id: str, device_id: str) -> DrSnapshot | None:
    """How far the member's readings reached when the event was announced, or None (not a member
    then, or enrolled since)."""
    raw = store.get(keys.dr_snapshot(event_id, device_id))
    return None if raw is None else DrSnapshot.decode(raw)


def put_dr_snapshot(store: Branch, snapshot: DrSnapshot) -> None:
    """Store a member's snapshot for the event."""
    store.set(keys.dr_snapshot(snapshot.event_id, snapshot.device_id), snapshot.encode())


def delete_dr_snapshot(store: Branch, event_id: str, device_id: str) -> None:
    """Drop a member's snapshot for the event (it enrolled, or settlement is done with it)."""
    store.delete(keys.dr_snapshot(event_id, device_id))


def iter_dr_snapshots(store: KVReader, event_id: str) -> Iterator[DrSnapshot]:
    """An event's remaining snapshots (members that have not enrolled), in key order."""
    prefix = keys.dr_snapshot_prefix(event_id)
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield DrSnapshot.decode(v)
