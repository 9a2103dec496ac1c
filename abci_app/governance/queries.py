"""Queries: /proposal/<id>, /proposals, /validators, /params."""

from __future__ import annotations

from abci_app import keys
from abci_app.domain import QueryHandler, QueryResult
from abci_app.governance import keeper
from abci_app.pb import query_pb2, state_pb2
from abci_app.query_util import args_exactly, int_arg, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]


def proposal(store: KVReader, args: list[str]) -> QueryResult:
    (pid,) = args_exactly(args, 1, "/proposal/<id>")
    return record(store, keys.proposal(int_arg(pid)))


def proposals(store: KVReader, args: list[str]) -> QueryResult:
    args_exactly(args, 0, "/proposals")
    out = query_pb2.ProposalList(
        proposals=[state_pb2.Proposal.FromString(p.encode()) for p in keeper.iter_proposals(store)]
    )
    return QueryResult(out.SerializeToString())


def validators(store: KVReader, args: list[str]) -> QueryResult:
    args_exactly(args, 0, "/validators")
    out = query_pb2.ValidatorList(
        validators=[query_pb2.ValidatorEntry(pub_key_ed25519=k, power=p) for k, p in keeper.iter_validators(store)]
    )
    return QueryResult(out.SerializeToString())


def params(store: KVReader, args: list[str]) -> QueryResult:
    args_exactly(args, 0, "/params")
    return record(store, keys.params())


QUERIES: dict[str, QueryHandler] = {
    "proposal": proposal,
    "proposals": proposals,
    "validators": validators,
    "params": params,
}
