"""The gRPC bridge in front of a real one-validator chain: broadcast, proven queries, event stream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc

from abci_app.errors import Code
from abci_app.pb import tx_pb2
from clients.localnet import Localnet, free_base_port
from clients.tx import msg, sign_tx

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    home = tmp_path_factory.mktemp("bridge") / "net"
    localnet = Localnet(home, n=1, base_port=free_base_port(1), timeout_commit="200ms")
    localnet.init()
    try:
        localnet.start()
        localnet.start_bridge(0)
        localnet.wait_height(2, timeout=60)
        yield localnet
    finally:
        localnet.stop()


def _stub(net: Localnet) -> tuple[grpc.Channel, bridge_pb2_grpc.BridgeStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{net.ports(0).bridge}")
    grpc.channel_ready_future(channel).result(timeout=30)
    return channel, bridge_pb2_grpc.BridgeStub(channel)  # type: ignore[no-untyped-call]


def test_broadcast_commit_and_proven_query(net: Localnet) -> None:
    """A tx sent through the bridge commits, and a proven balance query is verified by the bridge."""
    c = net.consortium()
    alice, carol = c.member("community-a/alice"), c.member("community-b/carol")
    channel, stub = _stub(net)
    with channel:
        status = stub.Status(bridge_pb2.StatusRequest())
        assert status.chain_id == net.chain_id
        before = stub.Query(bridge_pb2.QueryRequest(path=f"/balance/{carol.address.hex()}"))
        raw = sign_tx(alice.key, net.chain_id, 1, [msg(transfer=tx_pb2.Transfer(to=carol.address, amount=77))])
        done = stub.Broadcast(bridge_pb2.BroadcastRequest(tx=raw, wait_commit=True))
        assert done.code == 0, done.log
        assert done.committed
        assert done.height > 0
        again = stub.Broadcast(
            bridge_pb2.BroadcastRequest(tx=sign_tx(alice.key, net.chain_id, 1, []), wait_commit=True)
        )
        assert again.code == Code.NO_MESSAGES
        proven = stub.Query(bridge_pb2.QueryRequest(path=f"/balance/{carol.address.hex()}", prove=True))
        assert proven.verified
        assert len(proven.app_hash) == 32
        assert int.from_bytes(proven.value, "big") == int.from_bytes(before.value, "big") + 77


def test_event_stream_delivers_committed_transfers(net: Localnet) -> None:
    """A subscriber filtered on a recipient receives the transfer event once the tx commits."""
    c = net.consortium()
    bob, dave = c.member("community-a/bob"), c.member("community-b/dave")

    async def scenario() -> bridge_pb2.TxEvents:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{net.ports(0).bridge}") as channel:
            stub = bridge_pb2_grpc.BridgeStub(channel)  # type: ignore[no-untyped-call]
            stream = stub.SubscribeEvents(
                bridge_pb2.SubscribeRequest(query=f"transfer.recipient='{dave.address.hex()}'")
            )
            await asyncio.sleep(1.0)  # let the subscription reach the node
            raw = sign_tx(bob.key, net.chain_id, 1, [msg(transfer=tx_pb2.Transfer(to=dave.address, amount=5))])
            result = await stub.Broadcast(bridge_pb2.BroadcastRequest(tx=raw, wait_commit=False))
            assert result.code == 0
            first: bridge_pb2.TxEvents = await asyncio.wait_for(stream.read(), timeout=30)
            stream.cancel()
            return first

    events = asyncio.run(scenario())
    assert events.code == 0
    transfers = [e for e in events.events if e.type == "transfer"]
    assert transfers
    attrs = {a.key: a.value for a in transfers[0].attributes}
    assert attrs["recipient"] == dave.address.hex()
    assert attrs["amount"] == "5"
