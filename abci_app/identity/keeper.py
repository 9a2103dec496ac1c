"""State access for orgs, members and the revocation list."""

from __future__ import annotations

from collections.abc import Iterator

from abci_app import keys
from abci_app.identity.records import Member, Org, decode_member, decode_org
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "active_org_ids",
    "get_member",
    "get_org",
    "is_cert_revoked",
    "iter_orgs",
    "put_member",
    "put_org",
    "revoke_cert",
]


def get_org(store: KVReader, org_id: str) -> Org | None:
    raw = store.get(keys.org(org_id))
    return None if raw is None else decode_org(raw)


def put_org(store: Branch, org: Org) -> None:
    store.set(keys.org(org.org_id), org.encode())


def iter_orgs(store: KVReader) -> Iterator[Org]:
    prefix = keys.ORG
    for _k, v in store.iter_range(prefix, keys.MEMBER):
        yield decode_org(v)


def active_org_ids(store: KVReader) -> list[str]:
    return [o.org_id for o in iter_orgs(store) if o.active]


def get_member(store: KVReader, address: bytes) -> Member | None:
    raw = store.get(keys.member(address))
    return None if raw is None else decode_member(raw)


def put_member(store: Branch, member: Member) -> None:
    store.set(keys.member(member.address), member.encode())
    store.set(keys.member_by_org(member.org_id, member.address), b"")


def is_cert_revoked(store: KVReader, org_id: str, serial: bytes) -> bool:
    return store.get(keys.revoked_cert(org_id, serial)) is not None


def revoke_cert(store: Branch, org_id: str, serial: bytes) -> None:
    store.set(keys.revoked_cert(org_id, serial), b"\x01")
