"""Who reads what on a real node (issue 21): a one-validator localnet, its app started as every app
is by default (private queries), refuses households' data on the node's RPC, answers the public
feeder aggregate, and serves the data to the owner's signed read request through the client library."""

from __future__ import annotations

import pytest
from gridledger.market.v1 import market_pb2
from gridwire.contract.chain import Code
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.market import Paths as MarketPaths

from clients.client import GridClient, QueryFailedError
from tests.integration.conftest import NetFactory

pytestmark = pytest.mark.integration


def test_the_node_rpc_refuses_private_paths_and_owners_read_with_signed_requests(
    localnet_factory: NetFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default plain abci_query of Alice's statements, alerts and readings is QUERY_PRIVATE with no value; her
    client reads them; Bob's is READ_DENIED."""
    monkeypatch.delenv("GRIDLEDGER_PRIVATE_QUERIES", raising=False)
    net = localnet_factory("private-reads", n=1)
    consortium, rpc = net.consortium(), net.rpc(0)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    path = MarketPaths.STATEMENTS(alice.address.hex())
    for private in (path, MarketPaths.ALERTS(alice.address.hex()), DevicesPaths.READING("meter-a"), "/store/00"):
        answer = rpc.abci_query(private)
        assert int(answer["code"]) == Code.QUERY_PRIVATE, private
        assert not answer.get("value"), private
    assert int(rpc.abci_query(DevicesPaths.FEEDER_ENERGY("feeder-1", 900))["code"]) == 0  # the public aggregate
    listed = market_pb2.StatementList.FromString(GridClient(rpc, net.chain_id, alice.key).query_raw(path))
    assert list(listed.statements) == []
    with pytest.raises(QueryFailedError) as refused:
        GridClient(rpc, net.chain_id, bob.key).query_raw(path)
    assert refused.value.code == Code.READ_DENIED
