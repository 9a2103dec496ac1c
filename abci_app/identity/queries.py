"""Queries: /org/<id>, /orgs, /member/<address>, /members/<org id>, /device_ca/<id>,
/device_cas (lists paginated)."""

from __future__ import annotations

from collections.abc import Mapping

from gridledger.identity.v1 import identity_pb2
from gridledger.tx.v1 import tx_pb2
from gridwire.contract.identity import Paths

from abci_app.domain import QueryHandler, QueryResult
from abci_app.identity import keys
from abci_app.query_util import address_arg, args_exactly, id_arg, page, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]


def org(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/org/<org id>: the stored Org, provable against the app hash."""
    (org_id,) = args_exactly(args, 1, "/org/<org id>")
    return record(store, keys.org(id_arg(org_id, "org id")))


def orgs(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/orgs: one page of orgs in key order (OrgList, with the next page's cursor)."""
    args_exactly(args, 0, "/orgs")
    items, cursor = page(store, keys.org_prefix(), options, lambda _k, v: identity_pb2.Org.FromString(v))
    out = identity_pb2.OrgList(orgs=items, page=tx_pb2.PageInfo(next=cursor))
    return QueryResult(out.SerializeToString())


def member(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/member/<address hex>: the stored Member, provable against the app hash."""
    (address,) = args_exactly(args, 1, "/member/<address hex>")
    return record(store, keys.member(address_arg(address)))


def members(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/members/<org id>: one page of that org's members (MemberList, with the next page's cursor)."""
    (org_id,) = args_exactly(args, 1, "/members/<org id>")
    prefix = keys.member_by_org_prefix(id_arg(org_id, "org id"))

    def load(k: bytes, _v: bytes) -> identity_pb2.Member | None:
        raw = store.get(keys.member(k[len(prefix) :]))
        return None if raw is None else identity_pb2.Member.FromString(raw)

    items, cursor = page(store, prefix, options, load)
    out = identity_pb2.MemberList(members=items, page=tx_pb2.PageInfo(next=cursor))
    return QueryResult(out.SerializeToString())


def device_ca(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """One device CA (a DeviceCa record; revoked ones too, with revoked_at)."""
    (ca_id,) = args_exactly(args, 1, "/device_ca/<ca id>")
    return record(store, keys.device_ca(id_arg(ca_id, "ca id")))


def device_cas(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """Every device CA governance admitted, in id order (a DeviceCaList, paginated)."""
    args_exactly(args, 0, "/device_cas")
    items, cursor = page(store, keys.device_ca_prefix(), options, lambda _k, v: identity_pb2.DeviceCa.FromString(v))
    out = identity_pb2.DeviceCaList(device_cas=items, page=tx_pb2.PageInfo(next=cursor))
    return QueryResult(out.SerializeToString())


QUERIES: dict[str, QueryHandler] = {
    Paths.ORG.root: org,
    Paths.ORGS.root: orgs,
    Paths.MEMBER.root: member,
    Paths.MEMBERS.root: members,
    Paths.DEVICE_CA.root: device_ca,
    Paths.DEVICE_CAS.root: device_cas,
}
