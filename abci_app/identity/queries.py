"""Queries: /org/<id>, /orgs, /member/<address>, /members/<org id>."""

from __future__ import annotations

from abci_app import keys
from abci_app.domain import QueryHandler, QueryResult
from abci_app.identity import keeper
from abci_app.pb import query_pb2, state_pb2
from abci_app.query_util import address_arg, args_exactly, record
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]


def org(store: KVReader, args: list[str]) -> QueryResult:
    (org_id,) = args_exactly(args, 1, "/org/<org id>")
    return record(store, keys.org(org_id))


def orgs(store: KVReader, args: list[str]) -> QueryResult:
    args_exactly(args, 0, "/orgs")
    out = query_pb2.OrgList(orgs=[state_pb2.Org.FromString(o.encode()) for o in keeper.iter_orgs(store)])
    return QueryResult(out.SerializeToString())


def member(store: KVReader, args: list[str]) -> QueryResult:
    (address,) = args_exactly(args, 1, "/member/<address hex>")
    return record(store, keys.member(address_arg(address)))


def members(store: KVReader, args: list[str]) -> QueryResult:
    (org_id,) = args_exactly(args, 1, "/members/<org id>")
    prefix = keys.member_by_org_prefix(org_id)
    out = query_pb2.MemberList()
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        raw = store.get(keys.member(k[len(prefix) :]))
        if raw is not None:
            out.members.append(state_pb2.Member.FromString(raw))
    return QueryResult(out.SerializeToString())


QUERIES: dict[str, QueryHandler] = {"org": org, "orgs": orgs, "member": member, "members": members}
