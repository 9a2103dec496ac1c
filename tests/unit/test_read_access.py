"""Who reads what through the authenticated API (issue 21).

The real bridge servicer (build_server with TLS and member authentication) runs on 127.0.0.1 in a
thread of its own, in front of a fake node holding one household's device, readings, statement,
alert and forecast, and the tariffs naming the supplier of last resort. Members of one org call
the typed reads with their own certificates: the owner, a neighbour, the supplier, the grid
operator and an auditor.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from gridledger.api.v1 import market_api_pb2, reads_pb2
from gridledger.bridge.v1 import bridge_pb2
from gridledger.devices.v1 import devices_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.identity.v1 import identity_pb2
from gridledger.market.v1 import market_pb2
from gridwire.read_request import ReadGrant, ReadRequest

from clients.bridge_client import bridge_credentials
from clients.pki import Identity, new_org_ca
from clients.read_request import sign_read_request
from clients.servers.access import PRIVATE_ROOTS, Access, Subject
from clients.servers.api_reads import READS
from clients.servers.node import BridgeConfig
from tests.support.bridge_server import serving_bridge
from tests.support.tls import self_signed_server_tls

ORG = "community-a"
DEVICE = "meter-1"
PRIVATE_METHODS = {
    "GetLastReading", "GetIntervalEnergy", "GetBattery", "GetForecast", "GetPostedForecast", "GetForecastError",
    "ListForecastErrors", "ListFills", "GetRule", "ListRules", "GetAlert", "ListAlerts", "GetStatement",
    "ListStatements", "GetInstruction", "ListInstructions", "GetMatching", "GetScore",
}  # fmt: skip


def _ok(message: Message) -> dict[str, Any]:
    return {"code": 0, "value": base64.b64encode(message.SerializeToString()).decode()}


@dataclass
class FakeNode:
    """Answers the member checks and one household's records; records the paths asked."""

    org: identity_pb2.Org
    members: dict[str, identity_pb2.Member]
    records: dict[str, Message]
    queries: list[str] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
        self.queries.append(path)
        self.data.append(data)
        path = path.removeprefix("/signed")  # a granted read: the app's checks of it are in test_read_grants_bridge
        kind, _, ident = path.strip("/").partition("/")
        if kind == "org" and ident == self.org.org_id:
            return _ok(self.org)
        if kind == "member" and ident in self.members:
            return _ok(self.members[ident])
        if path in self.records:
            return _ok(self.records[path])
        return {"code": 91, "log": "QUERY_NOT_FOUND: nothing here"}

    def status(self) -> dict[str, Any]:
        return {"node_info": {"network": "test-chain"}, "sync_info": {"latest_block_height": "1",
                "latest_app_hash": "", "catching_up": False}}  # fmt: skip


@dataclass
class Net:
    port: int
    node: FakeNode
    ca_pem: bytes
    who: dict[str, Identity]


def _member(who: Identity, roles: list[str]) -> identity_pb2.Member:
    serial = who.cert.serial_number
    return identity_pb2.Member(
        address=who.address,
        public_key=who.public_key,
        org_id=ORG,
        roles=roles,
        cert_serial=serial.to_bytes((serial.bit_length() + 7) // 8, "big"),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    folder = tmp_path_factory.mktemp("read-access")
    cert, key, _der = self_signed_server_tls(folder, "bridge")
    ca = new_org_ca(ORG)
    roles = {"owner": ["prosumer"], "neighbour": ["prosumer"], "supplier": ["issuer"], "operator": ["operator"]}
    roles["auditor"] = ["auditor"]
    who = {name: ca.issue(name, r) for name, r in roles.items()}
    owner = who["owner"].address
    records: dict[str, Message] = {
        f"/device/{DEVICE}": devices_pb2.Device(device_id=DEVICE, owner=owner, feeder="f1"),
        f"/reading/{DEVICE}": devices_pb2.ReadingState(seq=3),
        f"/energy/{DEVICE}/900": devices_pb2.IntervalEnergy(interval_start=900, import_wh=412),
        f"/statement/{owner.hex()}/900": market_pb2.Statement(owner=owner),
        "/alert/7": market_pb2.Alert(owner=owner),
        "/tariffs": grid_pb2.Tariffs(supplier=who["supplier"].address, operator=who["operator"].address),
    }
    node = FakeNode(
        identity_pb2.Org(org_id=ORG, root_ca_der=ca.cert_der, active=True),
        {w.address.hex(): _member(w, roles[name]) for name, w in who.items()},
        records,
    )
    port = _free_port()
    config = BridgeConfig(f"127.0.0.1:{port}", "http://127.0.0.1:9", tls_cert=cert, tls_key=key, member_auth=True)
    with serving_bridge(config, node):
        yield Net(port, node, cert.read_bytes(), who)


def _call(net: Net, caller: str, method: str, request: Message, response: type[Message]) -> Message:
    """`method` (/service/name) called by member `caller`; raises grpc.RpcError when refused."""
    me = net.who[caller]
    target = f"127.0.0.1:{net.port}"
    creds = bridge_credentials(target, ca_pem=net.ca_pem, member_key=me.key, member_cert_der=me.cert_der)
    with grpc.secure_channel(target, creds) as channel:
        call = channel.unary_unary(
            method, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response.FromString
        )
        result: Message = call(request, timeout=10)
        return result


def _code(net: Net, caller: str, method: str, request: Message, response: type[Message]) -> grpc.StatusCode:
    try:
        _call(net, caller, method, request, response)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


READING = ("/gridledger.api.v1.DevicesApi/GetLastReading", reads_pb2.ById(id=DEVICE), devices_pb2.ReadingState)
ENERGY = (
    "/gridledger.api.v1.DevicesApi/GetIntervalEnergy",
    reads_pb2.IntervalEnergyRequest(device_id=DEVICE, interval_start=900),
    devices_pb2.IntervalEnergy,
)
ALERT = ("/gridledger.api.v1.MarketApi/GetAlert", reads_pb2.ByNumber(id=7), market_pb2.Alert)


def _statement(net: Net) -> tuple[str, Message, type[Message]]:
    request = market_api_pb2.StatementRequest(owner=net.who["owner"].address, interval_start=900)
    return "/gridledger.api.v1.MarketApi/GetStatement", request, market_pb2.Statement


def test_every_read_declares_a_rule_and_households_data_is_not_public() -> None:
    """A READS row without an access rule, or a household's data readable by anyone, fails here."""
    for rpc in READS:
        assert isinstance(rpc.access, Access), rpc.method
        assert isinstance(rpc.subject, Subject), rpc.method
        private = rpc.access is not Access.PUBLIC
        assert private == (rpc.method in PRIVATE_METHODS), rpc.method
        if rpc.access in (Access.OWNER, Access.OWNER_OR_SUPPLIER):
            assert rpc.subject != Subject(), f"{rpc.method} names no owner to check"


def test_the_owner_reads_its_own_readings_statement_and_alert(net: Net) -> None:
    """The household reads its device's reading and interval energy, its statement and its alert."""
    for method, request, response in (READING, ENERGY, _statement(net), ALERT):
        assert _code(net, "owner", method, request, response) is grpc.StatusCode.OK, method


def test_a_neighbour_cannot_read_another_households_data(net: Net) -> None:
    """Another prosumer of the same org is refused PERMISSION_DENIED with a readable reason, before the data is read."""
    for method, request, response in (READING, ENERGY, _statement(net), ALERT):
        with pytest.raises(grpc.RpcError) as caught:
            _call(net, "neighbour", method, request, response)
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED, method
        assert "may not read data of" in str(caught.value.details())
    net.node.queries.clear()
    _code(net, "neighbour", *READING)
    assert f"/reading/{DEVICE}" not in net.node.queries  # refused before the node was asked for it


def test_the_supplier_reads_its_customers_but_not_their_alerts(net: Net) -> None:
    """The supplier of last resort reads readings and statements (owner-or-supplier), not alerts (owner only)."""
    for method, request, response in (READING, ENERGY, _statement(net)):
        assert _code(net, "supplier", method, request, response) is grpc.StatusCode.OK, method
    assert _code(net, "supplier", *ALERT) is grpc.StatusCode.PERMISSION_DENIED


def test_the_operator_reads_feeder_views_not_households(net: Net) -> None:
    """The grid operator reads the per-interval instructions list but no household's readings or statement."""
    for method, request, response in (READING, ENERGY, _statement(net), ALERT):
        assert _code(net, "operator", method, request, response) is grpc.StatusCode.PERMISSION_DENIED, method
    listing = ("/gridledger.api.v1.MarketApi/ListInstructions", market_api_pb2.BookRequest(interval_start=900))
    assert _code(net, "operator", *listing, market_pb2.GridInstructionList) is not grpc.StatusCode.PERMISSION_DENIED
    assert _code(net, "neighbour", *listing, market_pb2.GridInstructionList) is grpc.StatusCode.PERMISSION_DENIED


def test_an_auditor_reads_everything(net: Net) -> None:
    """A member holding the auditor role reads every household's data, and raw private roots."""
    for method, request, response in (READING, ENERGY, _statement(net), ALERT):
        assert _code(net, "auditor", method, request, response) is grpc.StatusCode.OK, method
    raw = bridge_pb2.QueryRequest(path=f"/reading/{DEVICE}")
    assert _code(net, "auditor", "/gridledger.bridge.v1.Bridge/Query", raw, bridge_pb2.QueryResponse).name == "OK"


def test_the_raw_query_serves_no_household_root_to_members(net: Net) -> None:
    """Bridge.Query of a private root (readings, statements, raw store keys) is refused even to the owner."""
    owner = net.who["owner"].address.hex()
    for path in (f"/reading/{DEVICE}", f"/statement/{owner}/900", "/store/00", f"/alerts/{owner}?limit=5"):
        request = bridge_pb2.QueryRequest(path=path)
        code = _code(net, "owner", "/gridledger.bridge.v1.Bridge/Query", request, bridge_pb2.QueryResponse)
        assert code is grpc.StatusCode.PERMISSION_DENIED, path
    public = bridge_pb2.QueryRequest(path="/tariffs")
    assert _code(net, "neighbour", "/gridledger.bridge.v1.Bridge/Query", public, bridge_pb2.QueryResponse).name == "OK"
    assert {"reading", "statement", "store", "alerts"} <= PRIVATE_ROOTS


def test_a_device_that_does_not_exist_is_refused_not_revealed(net: Net) -> None:
    """A device with no owner on the ledger cannot be read by a non-auditor (no oracle of its data)."""
    request = reads_pb2.ById(id="nobody")
    code = _code(net, "neighbour", "/gridledger.api.v1.DevicesApi/GetLastReading", request, devices_pb2.ReadingState)
    assert code is grpc.StatusCode.PERMISSION_DENIED


def test_the_bridge_forwards_a_members_signed_read_request(net: Net) -> None:
    """Bridge.Query of /signed/<path> passes the member's signed request to the node unchanged (the node checks it)."""
    owner = net.who["owner"]
    path, data = sign_read_request(owner.key, "test-chain", f"/reading/{DEVICE}")
    request = bridge_pb2.QueryRequest(path=path, data=data)
    net.node.queries.clear()
    net.node.data.clear()
    _code(net, "neighbour", "/gridledger.bridge.v1.Bridge/Query", request, bridge_pb2.QueryResponse)
    assert net.node.queries[-1] == path
    assert net.node.data[-1] == data


def test_the_bridge_reads_a_members_data_under_the_members_grant(net: Net) -> None:
    """The owner's typed read reaches the node as /signed/<path> signed by the bridge's read key, carrying the
    owner's grant for that key; the same read without member auth data would be the plain path."""
    net.node.queries.clear()
    net.node.data.clear()
    assert _code(net, "owner", *READING) is grpc.StatusCode.OK
    assert net.node.queries[-1] == f"/signed/reading/{DEVICE}"
    request = ReadRequest.decode(net.node.data[-1])
    assert request is not None
    grant = ReadGrant.decode(request.grant)
    assert grant is not None
    assert grant.member_key == net.who["owner"].public_key
    assert grant.reader_key == request.public_key  # the bridge's own key signed the request
