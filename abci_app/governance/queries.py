"""Queries: /proposal/<id>, /proposals (paginated), /validators, /params, /param/<name>, /upgrade_plan,
/applied_upgrades."""

from __future__ import annotations

from collections.abc import Mapping

from gridledger.governance.v1 import governance_pb2
from gridledger.tx.v1 import tx_pb2
from gridwire.contract.governance import Paths

from abci_app import keys as chain_keys
from abci_app.domain import QueryHandler, QueryResult
from abci_app.errors import Code, TxError
from abci_app.governance import keeper, keys, upgrades
from abci_app.governance.messages import MAX_PROPOSAL_ID
from abci_app.params import DOMAIN_PARAMS, domain_param
from abci_app.query_util import args_exactly, int_arg, page, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]


def proposal(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    (pid,) = args_exactly(args, 1, "/proposal/<id>")
    return record(store, keys.proposal(int_arg(pid, "proposal id", MAX_PROPOSAL_ID)))


def proposals(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    args_exactly(args, 0, "/proposals")
    items, cursor = page(store, keys.proposal_prefix(), options, lambda _k, v: governance_pb2.Proposal.FromString(v))
    out = governance_pb2.ProposalList(proposals=items, page=tx_pb2.PageInfo(next=cursor))
    return QueryResult(out.SerializeToString())


def validators(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    args_exactly(args, 0, "/validators")
    out = governance_pb2.ValidatorList(
        validators=[governance_pb2.ValidatorEntry(pub_key_ed25519=k, power=p) for k, p in keeper.iter_validators(store)]
    )
    return QueryResult(out.SerializeToString())


def params(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    args_exactly(args, 0, "/params")
    return record(store, chain_keys.params())


def param(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """A domain parameter's value as 8 bytes big-endian signed (its default if never set)."""
    (name,) = args_exactly(args, 1, "/param/<name>")
    if name not in DOMAIN_PARAMS:
        raise TxError(Code.QUERY_BAD_REQUEST, f"unknown domain parameter {name[:64]!r}; known: {sorted(DOMAIN_PARAMS)}")
    return QueryResult(domain_param(store, name).to_bytes(8, "big", signed=True))


def upgrade_plan(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """The pending UpgradePlan (provable; not found: no upgrade is planned)."""
    args_exactly(args, 0, "/upgrade_plan")
    return record(store, keys.upgrade_plan())


def applied_upgrades(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """Every applied upgrade and its height (AppliedUpgradeList)."""
    args_exactly(args, 0, "/applied_upgrades")
    out = governance_pb2.AppliedUpgradeList(
        upgrades=[governance_pb2.AppliedUpgrade(name=a.name, height=a.height) for a in upgrades.iter_applied(store)]
    )
    return QueryResult(out.SerializeToString())


QUERIES: dict[str, QueryHandler] = {
    Paths.PROPOSAL.root: proposal,
    Paths.PROPOSALS.root: proposals,
    Paths.VALIDATORS.root: validators,
    Paths.PARAMS.root: params,
    Paths.PARAM.root: param,
    Paths.UPGRADE_PLAN.root: upgrade_plan,
    Paths.APPLIED_UPGRADES.root: applied_upgrades,
}
