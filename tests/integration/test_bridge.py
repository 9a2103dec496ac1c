"""The gRPC bridge in front of a real one-validator chain: broadcast, proven queries, event stream."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from gridledger.accounts.v1 import accounts_pb2
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc
from gridledger.identity.v1 import identity_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from abci_app.errors import Code
from clients.member_auth import auth_message, member_call_credentials
from clients.ops.localnet import Localnet, free_base_port
from clients.pki import Identity, new_org_ca
from clients.tx import sign_tx
from tests.support.tls import self_signed_server_tls

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
        raw = sign_tx(alice.key, net.chain_id, 1, [accounts_pb2.Transfer(to=carol.address, amount=77)])
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
            raw = sign_tx(bob.key, net.chain_id, 1, [accounts_pb2.Transfer(to=dave.address, amount=5)])
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


# -- TLS, member authentication, health, reflection, caps ------------------------------------


def _server_tls(folder: Path) -> tuple[Path, Path, bytes]:
    return self_signed_server_tls(folder, "bridge")


@contextlib.contextmanager
def _bridge(net: Localnet, *args: str) -> Iterator[tuple[int, int]]:
    """A bridge process beside node 0 with extra arguments; stopped even if the test fails."""
    port = free_base_port(1)
    cmd = [sys.executable, "-m", "clients.servers", "--listen", f"127.0.0.1:{port}"]
    cmd += ["--node", f"http://127.0.0.1:{net.ports(0).rpc}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "bridge exited"
            assert time.monotonic() < deadline, "bridge did not listen"
            time.sleep(0.1)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    return _server_tls(tmp_path_factory.mktemp("tls"))


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    code: grpc.StatusCode = info.value.code()
    return code


def test_tls_bridge_serves_only_tls(net: Localnet, tls: tuple[Path, Path, bytes], tmp_path: Path) -> None:
    """A TLS bridge answers a client that trusts its certificate; plaintext and a client trusting
    another certificate get no answer (UNAVAILABLE)."""
    cert, key, _der = tls
    with _bridge(net, "--tls-cert", str(cert), "--tls-key", str(key)) as (port, _pid):
        creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{port}", creds) as channel:
            stub = bridge_pb2_grpc.BridgeStub(channel)  # type: ignore[no-untyped-call]
            assert stub.Status(bridge_pb2.StatusRequest(), timeout=10).chain_id == net.chain_id
        with grpc.insecure_channel(f"127.0.0.1:{port}") as plain:
            stub = bridge_pb2_grpc.BridgeStub(plain)  # type: ignore[no-untyped-call]
            assert _code(lambda: stub.Status(bridge_pb2.StatusRequest(), timeout=5)) == grpc.StatusCode.UNAVAILABLE
        # a client that does not trust the bridge's certificate refuses it
        other = grpc.ssl_channel_credentials(root_certificates=_server_tls(tmp_path)[0].read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{port}", other) as channel:
            stub = bridge_pb2_grpc.BridgeStub(channel)  # type: ignore[no-untyped-call]
            assert _code(lambda: stub.Status(bridge_pb2.StatusRequest(), timeout=5)) == grpc.StatusCode.UNAVAILABLE


def test_member_auth(net: Localnet, tls: tuple[Path, Path, bytes]) -> None:
    """Over TLS, a member's certificate authenticates it; no credentials, a rogue CA, a replayed
    signature, an unenrolled key and a revoked member are refused with their codes."""
    cert, key, server_der = tls
    c = net.consortium()
    alice, admin, gateway = (
        c.member("community-a/alice"),
        c.member("community-a/admin"),
        c.member("community-a/gateway"),
    )
    root = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())

    def stub_for(call_creds: grpc.CallCredentials | None) -> tuple[grpc.Channel, bridge_pb2_grpc.BridgeStub]:
        creds = root if call_creds is None else grpc.composite_channel_credentials(root, call_creds)
        channel = grpc.secure_channel(f"127.0.0.1:{port}", creds)
        return channel, bridge_pb2_grpc.BridgeStub(channel)  # type: ignore[no-untyped-call]

    def as_member(who: Identity) -> grpc.CallCredentials:
        return member_call_credentials(who.key, who.cert_der, server_der)

    status = bridge_pb2.StatusRequest()
    with _bridge(net, "--tls-cert", str(cert), "--tls-key", str(key), "--member-auth") as (port, _pid):
        channel, stub = stub_for(as_member(alice))
        with channel:
            assert stub.Status(status, timeout=10).chain_id == net.chain_id
            raw = sign_tx(alice.key, net.chain_id, 2, [accounts_pb2.Transfer(to=admin.address, amount=1)])
            assert stub.Broadcast(bridge_pb2.BroadcastRequest(tx=raw, wait_commit=True), timeout=30).code == 0
            health_stub = health_pb2_grpc.HealthStub(channel)
            assert health_stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == 1  # SERVING

        channel, stub = stub_for(None)
        with channel:
            assert _code(lambda: stub.Status(status, timeout=5)) == grpc.StatusCode.UNAUTHENTICATED
            # health stays open for probes
            health_stub = health_pb2_grpc.HealthStub(channel)
            assert health_stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == 1
            # the same signed metadata twice: the second is a replay
            method = "/gridledger.bridge.v1.Bridge/Status"
            millis, nonce = str(int(time.time() * 1000)), "00" * 16
            signature = alice.key.sign(auth_message(method, millis, nonce, hashlib.sha256(server_der).digest()))
            metadata = (
                ("gridledger-member-cert-bin", alice.cert_der),
                ("gridledger-auth-time", millis),
                ("gridledger-auth-nonce", nonce),
                ("gridledger-auth-bin", signature),
            )
            assert stub.Status(status, metadata=metadata, timeout=5).chain_id == net.chain_id
            assert _code(lambda: stub.Status(status, metadata=metadata, timeout=5)) == grpc.StatusCode.UNAUTHENTICATED
            # signed for another method: refused
            other = (*metadata[:3], ("gridledger-auth-bin", alice.key.sign(b"something else")))
            assert _code(lambda: stub.Status(status, metadata=other, timeout=5)) == grpc.StatusCode.UNAUTHENTICATED

        rogue = new_org_ca("community-a").issue("alice.community-a", ["prosumer"], key=alice.key)
        channel, stub = stub_for(as_member(rogue))
        with channel:
            assert _code(lambda: stub.Status(status, timeout=5)) == grpc.StatusCode.UNAUTHENTICATED

        unenrolled = c.cas["community-a"].issue("mallory.community-a", ["prosumer"])
        channel, stub = stub_for(as_member(unenrolled))
        with channel:
            assert _code(lambda: stub.Status(status, timeout=5)) == grpc.StatusCode.PERMISSION_DENIED

        revoke = identity_pb2.RevokeMember(member=gateway.address, reason="lost device")
        done = net.rpc(0).broadcast_commit(sign_tx(admin.key, net.chain_id, 1, [revoke]))
        assert done.code == 0, done.log
        channel, stub = stub_for(as_member(gateway))
        with channel:
            assert _code(lambda: stub.Status(status, timeout=5)) == grpc.StatusCode.PERMISSION_DENIED


def test_health_and_reflection(net: Localnet) -> None:
    """The standard health service says SERVING; reflection lists the bridge and health services."""
    _channel, _ = _stub(net)
    with _channel as channel:
        health_stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "gridledger.bridge.v1.Bridge"):
            reply = health_stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = list(
            reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
        )
        names = {s.name for s in answers[0].list_services_response.service}
        assert {"gridledger.bridge.v1.Bridge", "grpc.health.v1.Health"} <= names


def _tcp_connections(pid: int, remote_port: int) -> int:
    """Established TCP connections of process `pid` to 127.0.0.1:`remote_port`."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[2].split(":")[1], 16) == remote_port and fields[9] in inodes:
            count += 1
    return count


def test_subscription_cap_and_one_shared_websocket(net: Localnet) -> None:
    """Two subscribers share one websocket to the node; a third is RESOURCE_EXHAUSTED; a bad
    query is INVALID_ARGUMENT; a malformed request is INVALID_ARGUMENT."""
    c = net.consortium()
    carol = c.member("community-b/carol")

    async def scenario(port: int, pid: int) -> None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = bridge_pb2_grpc.BridgeStub(channel)  # type: ignore[no-untyped-call]
            query = f"transfer.recipient='{carol.address.hex()}'"
            first = stub.SubscribeEvents(bridge_pb2.SubscribeRequest(query=query))
            second = stub.SubscribeEvents(bridge_pb2.SubscribeRequest(query="transfer.amount > 0"))
            await asyncio.sleep(1.5)
            assert _tcp_connections(pid, net.ports(0).rpc) == 1
            third = stub.SubscribeEvents(bridge_pb2.SubscribeRequest(query=query))
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await asyncio.wait_for(third.read(), timeout=10)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            first.cancel()
            await asyncio.sleep(0.5)
            bad = stub.SubscribeEvents(bridge_pb2.SubscribeRequest(query="this is not a query"))
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await asyncio.wait_for(bad.read(), timeout=10)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            second.cancel()
            for request in (bridge_pb2.QueryRequest(path="balance"), bridge_pb2.QueryRequest(path="/" + "x" * 600)):
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.Query(request, timeout=5)
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.Broadcast(bridge_pb2.BroadcastRequest(tx=b""), timeout=5)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    with _bridge(net, "--max-subscribers", "2") as (port, pid):
        asyncio.run(scenario(port, pid))
