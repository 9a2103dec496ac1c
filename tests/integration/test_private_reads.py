"""Who reads what on a real node (issue 21): a one-validator localnet whose app runs with
--private-queries (GRIDLEDGER_PRIVATE_QUERIES=1) refuses households' data on the node's RPC and
serves it to the owner's signed read request through the client library."""

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
    """Plain abci_query of Alice's statements is QUERY_PRIVATE; her client reads them; Bob's is READ_DENIED."""
    monkeypatch.setenv("GRIDLEDGER_PRIVATE_QUERIES", "1")
    net = localnet_factory("private-reads", n=1)
    consortium, rpc = net.consortium(), net.rpc(0)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    path = MarketPaths.STATEMENTS(alice.address.hex())
    assert int(rpc.abci_query(path)["code"]) == Code.QUERY_PRIVATE
    assert int(rpc.abci_query(DevicesPaths.FEEDER_ENERGY("feeder-1", 900))["code"]) == 0  # the public aggregate
    listed = market_pb2.StatementList.FromString(GridClient(rpc, net.chain_id, alice.key).query_raw(path))
    assert list(listed.statements) == []
    with pytest.raises(QueryFailedError) as refused:
        GridClient(rpc, net.chain_id, bob.key).query_raw(path)
    assert refused.value.code == Code.READ_DENIED
