"""The bridge reads a member's private data under the member's read grant (issue 21).

The real bridge (TLS, member authentication) runs on 127.0.0.1 in front of the real app, driven in
process (`AppNode` answers the bridge's node calls from an `AppDriver` with private queries on, as
every node now runs). Members call the typed reads with the client library's credentials, which
send a read grant for the bridge's read key; the app checks the grant and the member's own rules.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from gridledger.api.v1 import market_api_pb2, reads_pb2
from gridledger.bridge.v1 import bridge_pb2
from gridledger.devices.v1 import devices_pb2
from gridledger.market.v1 import market_pb2
from gridwire.contract.chain import Code
from gridwire.contract.market import Paths as MarketPaths

from clients.bridge_client import bridge_credentials, bridge_server_certificate
from clients.identity import revoke_role
from clients.member_auth import GRANT_KEY, member_call_credentials
from clients.ops.consortium import Consortium
from clients.read_request import sign_read_grant, sign_read_request
from clients.servers.node import BridgeConfig
from tests.support.bridge_server import serving_bridge
from tests.support.driver import AppDriver
from tests.support.tls import self_signed_server_tls
from tests.unit.helpers import signed


class AppNode:
    """The node calls the bridge makes, answered by the app in process (one call at a time)."""

    def __init__(self, driver: AppDriver) -> None:
        self.driver = driver
        self.lock = threading.Lock()
        self.paths: list[str] = []

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
        with self.lock:
            self.paths.append(path)
            r = self.driver.query(path, data=data, prove=prove)
        return {
            "code": r.code,
            "log": r.log,
            "key": base64.b64encode(r.key).decode(),
            "value": base64.b64encode(r.value).decode(),
            "height": str(r.height),
        }

    def status(self) -> dict[str, Any]:
        return {
            "node_info": {"network": self.driver.chain_id},
            "sync_info": {"latest_block_height": str(self.driver.height), "latest_app_hash": "", "catching_up": False},
        }


@dataclass
class Net:
    target: str
    ca_pem: bytes
    node: AppNode
    consortium: Consortium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    from clients.ops.consortium import demo_consortium

    consortium = demo_consortium()
    driver = AppDriver(consortium, genesis_time=int(time.time()))  # grants and requests expire by wall clock
    driver.block([])  # init_chain state is readable from the first commit
    driver.app.private_queries = True  # as every node runs by default
    folder = tmp_path_factory.mktemp("read-grants")
    cert, key, _der = self_signed_server_tls(folder, "bridge")
    port = _free_port()
    config = BridgeConfig(f"127.0.0.1:{port}", "http://127.0.0.1:9", tls_cert=cert, tls_key=key, member_auth=True)
    node = AppNode(driver)
    with serving_bridge(config, node):
        yield Net(f"127.0.0.1:{port}", cert.read_bytes(), node, consortium)


def _call(net: Net, who: str, method: str, request: Message, response: type[Message], *, grant: bool = True) -> Any:
    """`method` called by member `who` (with the library's read grant unless `grant` is False)."""
    me = net.consortium.member(who)
    if grant:
        creds = bridge_credentials(net.target, ca_pem=net.ca_pem, member_key=me.key, member_cert_der=me.cert_der)
    else:
        server = bridge_server_certificate(net.target, net.ca_pem)
        creds = grpc.composite_channel_credentials(
            grpc.ssl_channel_credentials(root_certificates=net.ca_pem),
            member_call_credentials(me.key, me.cert_der, server),
        )
    with grpc.secure_channel(net.target, creds) as channel:
        call = channel.unary_unary(
            method, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response.FromString
        )
        return call(request, timeout=10)


def _code(net: Net, who: str, method: str, request: Message, response: type[Message], *, grant: bool = True) -> Any:
    try:
        _call(net, who, method, request, response, grant=grant)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


STATEMENTS = "/gridledger.api.v1.MarketApi/ListStatements"
ALERTS = "/gridledger.api.v1.MarketApi/ListAlerts"


def _by_owner(net: Net, who: str) -> market_api_pb2.ByOwner:
    return market_api_pb2.ByOwner(owner=net.consortium.member(who).address)


def test_the_bridge_reports_its_read_key(net: Net) -> None:
    """Bridge.Status names the bridge's 32-byte read key, which members' grants name."""
    status = _call(net, "community-a/alice", "/gridledger.bridge.v1.Bridge/Status", bridge_pb2.StatusRequest(),
                   bridge_pb2.StatusResponse)  # fmt: skip
    assert len(status.read_key) == 32


def test_the_owner_reads_its_statements_through_the_bridge_as_it_would_itself(net: Net) -> None:
    """Alice's typed read goes to the node as a granted /signed read and answers what her own signed read answers."""
    alice = net.consortium.member("community-a/alice")
    net.node.paths.clear()
    via = _call(net, "community-a/alice", STATEMENTS, _by_owner(net, "community-a/alice"), market_pb2.StatementList)
    path = MarketPaths.STATEMENTS(alice.address.hex())
    assert net.node.paths[-1] == "/signed" + path
    query_path, data = sign_read_request(alice.key, net.node.driver.chain_id, path)
    own = net.node.driver.query(query_path, data=data)
    assert own.code == 0, own.log
    assert via.SerializeToString() == own.value


def test_without_a_grant_the_node_keeps_households_data_private(net: Net) -> None:
    """A member's client sending no grant gets PERMISSION_DENIED for its own statements: the node refused
    the bridge's plain query (QUERY_PRIVATE); public reads still work."""
    request = _by_owner(net, "community-a/alice")
    code = _code(net, "community-a/alice", STATEMENTS, request, market_pb2.StatementList, grant=False)
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert net.node.driver.query(MarketPaths.STATEMENTS(request.owner.hex())).code == Code.QUERY_PRIVATE
    tariffs = "/gridledger.api.v1.GridApi/GetTariffs"
    from gridledger.grid.v1 import grid_pb2

    assert _code(net, "community-a/alice", tariffs, reads_pb2.Empty(), grid_pb2.Tariffs, grant=False) in (
        grpc.StatusCode.OK,
        grpc.StatusCode.NOT_FOUND,
    )


def test_a_member_cannot_read_another_households_data_through_the_api(net: Net) -> None:
    """Bob, holding a valid grant, is refused Alice's statements, alerts and readings (PERMISSION_DENIED)."""
    for method, response in ((STATEMENTS, market_pb2.StatementList), (ALERTS, market_pb2.AlertList)):
        code = _code(net, "community-a/bob", method, _by_owner(net, "community-a/alice"), response)
        assert code is grpc.StatusCode.PERMISSION_DENIED, method
    reading = reads_pb2.ById(id="meter-a")
    code = _code(net, "community-a/bob", "/gridledger.api.v1.DevicesApi/GetLastReading", reading,
                 devices_pb2.ReadingState)  # fmt: skip
    assert code is grpc.StatusCode.PERMISSION_DENIED


def test_the_operator_reads_feeder_views_and_no_households_data(net: Net) -> None:
    """The grid operator (its auditor role taken away) reads the interval's instruction list but its grant
    does not read a household's statements or alerts."""
    admin, control = net.consortium.member("gridop/admin"), net.consortium.member("gridop/control")
    driver = net.node.driver
    with net.node.lock:
        result = driver.block([signed(driver, admin, revoke_role(control.address, "auditor"))])
    assert result.tx_results[0].code == 0, result.tx_results[0].log
    for method, response in ((STATEMENTS, market_pb2.StatementList), (ALERTS, market_pb2.AlertList)):
        code = _code(net, "gridop/control", method, _by_owner(net, "community-a/alice"), response)
        assert code is grpc.StatusCode.PERMISSION_DENIED, method
    listing = market_api_pb2.BookRequest(interval_start=900)
    code = _code(net, "gridop/control", "/gridledger.api.v1.MarketApi/ListInstructions", listing,
                 market_pb2.GridInstructionList)  # fmt: skip
    assert code is grpc.StatusCode.OK


def _call_with_grant(net: Net, who: str, grant: bytes) -> tuple[grpc.StatusCode, str]:
    """Alice's statements read by `who` sending `grant` by hand (no grant from the client library)."""
    me = net.consortium.member(who)
    server = bridge_server_certificate(net.target, net.ca_pem)
    creds = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(root_certificates=net.ca_pem), member_call_credentials(me.key, me.cert_der, server)
    )
    with grpc.secure_channel(net.target, creds) as channel:
        call = channel.unary_unary(
            STATEMENTS, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=market_pb2.StatementList.FromString,
        )  # fmt: skip
        try:
            call(_by_owner(net, "community-a/alice"), timeout=10, metadata=((GRANT_KEY, grant),))
        except grpc.RpcError as exc:
            return exc.code(), str(exc.details())
    return grpc.StatusCode.OK, ""


def test_the_bridge_refuses_a_grant_that_is_not_the_callers_or_not_for_it(net: Net) -> None:
    """A grant of another member (Alice's, sent by an auditor, whom the bridge's rules let read her statements)
    is PERMISSION_DENIED, a grant for another read key UNAUTHENTICATED, both before the node is asked; Alice's
    own grant for this bridge reads."""
    alice = net.consortium.member("community-a/alice")
    status = _call(net, "community-a/alice", "/gridledger.bridge.v1.Bridge/Status", bridge_pb2.StatusRequest(),
                   bridge_pb2.StatusResponse)  # fmt: skip
    chain_id = net.node.driver.chain_id
    alices = sign_read_grant(alice.key, chain_id, status.read_key)
    net.node.paths.clear()
    code, why = _call_with_grant(net, "utility/ops", alices)
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert "not the calling member's" in why
    other = sign_read_grant(alice.key, chain_id, b"\x07" * 32)
    code, why = _call_with_grant(net, "community-a/alice", other)
    assert code is grpc.StatusCode.UNAUTHENTICATED
    assert "another bridge read key" in why
    assert not any(p.startswith("/signed") for p in net.node.paths)
    assert _call_with_grant(net, "community-a/alice", alices) == (grpc.StatusCode.OK, "")


def test_the_client_library_makes_one_grant_per_bridge_read_key() -> None:
    """ReadGrants signs a grant for the bridge's read key once and reuses it; a bridge without a read key,
    or one that cannot be asked, gets none (the call goes without, public reads still work)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from gridwire.read_request import ReadGrant

    from clients.member_auth import ReadGrants

    key, asked = Ed25519PrivateKey.generate(), []
    reader = b"\x05" * 32

    def info() -> tuple[str, bytes]:
        asked.append(1)
        return "chain-x", reader

    grants = ReadGrants(key, info)
    first = grants.current()
    assert first is not None
    assert grants.current() == first
    assert len(asked) == 1
    decoded = ReadGrant.decode(first)
    assert decoded is not None
    assert decoded.reader_key == reader
    assert decoded.member_key == key.public_key().public_bytes_raw()

    def down() -> tuple[str, bytes]:
        raise OSError("connection refused")

    assert ReadGrants(key, down).current() is None
    assert ReadGrants(key, lambda: ("chain-x", b"")).current() is None
