"""State access for orgs, members, the revocation list and device CAs."""

from __future__ import annotations

from collections.abc import Iterator

from abci_app.identity import keys
from abci_app.identity.records import DeviceCa, Member, Org
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "active_org_ids",
    "get_device_ca",
    "get_member",
    "get_org",
    "is_cert_revoked",
    "iter_device_cas",
    "iter_members",
    "iter_orgs",
    "iter_revoked_certs",
    "put_device_ca",
    "put_member",
    "put_org",
    "revoke_cert",
]


def get_org(store: KVReader, org_id: str) -> Org | None:
    """The org `org_id`, or None (also for ids longer than any org id can be)."""
    if len(org_id.encode()) > 255:
        return None  # no org id is that long (ids are [a-z0-9-]{2,32})
    raw = store.get(keys.org(org_id))
    return None if raw is None else Org.decode(raw)


def put_org(store: Branch, org: Org) -> None:
    """Store the org under its id (replacing the previous record)."""
    store.set(keys.org(org.org_id), org.encode())


def iter_orgs(store: KVReader) -> Iterator[Org]:
    """Every org, active or removed, in key order."""
    for _k, v in store.iter_range(keys.org_prefix(), prefix_end(keys.org_prefix())):
        yield Org.decode(v)


def active_org_ids(store: KVReader) -> list[str]:
    """The ids of the orgs that are still active (the electorate of governance), in key order."""
    return [o.org_id for o in iter_orgs(store) if o.active]


def get_member(store: KVReader, address: bytes) -> Member | None:
    """The member with `address`, or None."""
    raw = store.get(keys.member(address))
    return None if raw is None else Member.decode(raw)


def iter_members(store: KVReader) -> Iterator[Member]:
    """Every member, revoked ones included, in address order."""
    for _k, v in store.iter_range(keys.member_prefix(), prefix_end(keys.member_prefix())):
        yield Member.decode(v)


def put_member(store: Branch, member: Member) -> None:
    """Store the member and index it under its org (the /members/<org> query reads the index)."""
    store.set(keys.member(member.address), member.encode())
    store.set(keys.member_by_org(member.org_id, member.address), b"")


def is_cert_revoked(store: KVReader, org_id: str, serial: bytes) -> bool:
    """Whether the certificate `serial` of `org_id` was revoked: a revoked certificate can never enrol
    again."""
    return store.get(keys.revoked_cert(org_id, serial)) is not None


def iter_revoked_certs(store: KVReader) -> Iterator[tuple[str, bytes]]:
    """(org id, serial) of every revoked certificate."""
    prefix = keys.revoked_cert_prefix()
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        n = k[len(prefix)]
        yield k[len(prefix) + 1 : len(prefix) + 1 + n].decode(), k[len(prefix) + 1 + n :]


def revoke_cert(store: Branch, org_id: str, serial: bytes) -> None:
    """Mark the certificate `serial` of `org_id` revoked, for good."""
    store.set(keys.revoked_cert(org_id, serial), b"\x01")


def get_device_ca(store: KVReader, ca_id: str) -> DeviceCa | None:
    """The device CA `ca_id` (revoked or not), or None if governance never admitted it."""
    if not 1 <= len(ca_id.encode()) <= 255:
        return None
    raw = store.get(keys.device_ca(ca_id))
    return None if raw is None else DeviceCa.decode(raw)


def put_device_ca(store: Branch, ca: DeviceCa) -> None:
    """Store the device CA under its id (replacing the previous record)."""
    store.set(keys.device_ca(ca.ca_id), ca.encode())


def iter_device_cas(store: KVReader) -> Iterator[DeviceCa]:
    """Every device CA ever admitted (revoked ones included), in id order."""
    prefix = keys.device_ca_prefix()
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield DeviceCa.decode(v)
