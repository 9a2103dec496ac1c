"""The gateway and gridctl reach a TLS, member-authenticated bridge.

The real bridge servicer (clients.servers.server.build_server with --tls-cert/--tls-key/--member-auth)
runs on 127.0.0.1 in a thread of its own, in front of a fake node that answers the member
checks (`/org/<id>`, `/member/<address>`), the account read and the readings tx. The gateway's
sink, built from its TOML config (`bridge_ca`, `gateway_cert`), submits a batch through it;
without the certificate, without TLS or trusting another CA it does not get through.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from gridledger.accounts.v1 import accounts_pb2
from gridledger.api.v1 import reads_pb2, reads_pb2_grpc
from gridledger.identity.v1 import identity_pb2

from clients.bridge_client import bridge_server_certificate, load_certificate_der
from clients.cli_support import Context
from clients.cli_types import UsageError
from clients.commands.market import bridge_channel_credentials
from clients.gridctl import build_parser
from clients.pki import Identity, new_org_ca
from clients.rpc import BroadcastResult
from clients.servers.node import BridgeConfig
from devices.config import parse_config
from devices.gateway import build_sink
from devices.sink import Outcome, SinkUnavailableError
from tests.devices.helpers import signed
from tests.support.bridge_server import serving_bridge
from tests.support.tls import self_signed_server_tls

CHAIN = "test-chain"  # the helpers' readings are signed for it
ORG = "community-a"


def _server_tls(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key, _der = self_signed_server_tls(folder, name)
    return cert, key


def _ok(message: Any) -> dict[str, Any]:
    return {"code": 0, "value": base64.b64encode(message.SerializeToString()).decode()}


@dataclass
class FakeNode:
    """Answers what the bridge asks the node for these calls; records the queries and txs."""

    org: identity_pb2.Org
    members: dict[str, identity_pb2.Member]
    nonce: int = 4
    queries: list[str] = field(default_factory=list)
    txs: list[bytes] = field(default_factory=list)

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
        self.queries.append(path)
        kind, _, ident = path.strip("/").partition("/")
        if kind == "org" and ident == self.org.org_id:
            return _ok(self.org)
        if kind == "member" and ident in self.members:
            return _ok(self.members[ident])
        if kind == "account":
            return _ok(accounts_pb2.AccountView(balance=0, nonce=self.nonce))
        return {"code": 91, "log": "NOT_FOUND: nothing here"}

    def broadcast_sync(self, tx: bytes) -> BroadcastResult:
        self.txs.append(tx)
        return BroadcastResult(0, "", hashlib.sha256(tx).hexdigest().upper())

    def tx(self, tx_hash_hex: str) -> dict[str, Any]:
        attributes = [{"key": "device", "value": "dev-1"}, {"key": "seq", "value": "1"}]
        accepted = {"type": "reading_accepted", "attributes": attributes}
        return {"height": "9", "tx_result": {"code": 0, "log": "", "events": [accepted]}}


def _member(who: Identity, roles: list[str]) -> identity_pb2.Member:
    serial = who.cert.serial_number
    return identity_pb2.Member(
        address=who.address,
        public_key=who.public_key,
        org_id=ORG,
        roles=roles,
        cert_serial=serial.to_bytes((serial.bit_length() + 7) // 8, "big"),
    )


@dataclass
class Bridge:
    port: int
    node: FakeNode
    ca: Path  # the bridge's self-signed certificate: what clients trust
    folder: Path
    gateway: Identity

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    folder = tmp_path_factory.mktemp("bridge-tls")
    cert, key = _server_tls(folder, "bridge")
    ca = new_org_ca(ORG)
    gateway = ca.issue("gateway-1", ["gateway"])
    gateway.save(folder, "gateway")
    node = FakeNode(
        identity_pb2.Org(org_id=ORG, root_ca_der=ca.cert_der, active=True),
        {gateway.address.hex(): _member(gateway, ["gateway"])},
    )
    port = _free_port()
    config = BridgeConfig(f"127.0.0.1:{port}", "http://127.0.0.1:9", tls_cert=cert, tls_key=key, member_auth=True)
    with serving_bridge(config, node):
        yield Bridge(port, node, cert, folder, gateway)


def _gateway_config(b: Bridge, **gateway: Any) -> Any:
    data = {
        "gateway": {
            "chain_id": CHAIN,
            "state_dir": "state",
            "sink": "grpc",
            "bridge": b.target,
            "gateway_key": "gateway.key.pem",
            **gateway,
        }
    }
    return parse_config(data, b.folder)


def test_config_reads_the_bridge_tls_fields(tmp_path: Path) -> None:
    for name in ("k.pem", "ca.pem", "gw.pem"):
        (tmp_path / name).write_text("-")
    cfg = parse_config(
        {"gateway": {"chain_id": "c", "gateway_key": "k.pem", "bridge_ca": "ca.pem", "gateway_cert": "gw.pem"}},
        tmp_path,
    )
    assert (cfg.bridge_ca, cfg.gateway_cert) == (tmp_path / "ca.pem", tmp_path / "gw.pem")
    assert parse_config({"gateway": {"chain_id": "c"}}, tmp_path).bridge_ca is None
    with pytest.raises(ValueError, match="needs bridge_ca"):
        parse_config({"gateway": {"chain_id": "c", "gateway_key": "k.pem", "gateway_cert": "gw.pem"}}, tmp_path)


def test_the_gateway_submits_through_a_tls_member_authenticated_bridge(bridge: Bridge) -> None:
    """bridge_ca + gateway_cert: the account read and the readings tx both pass member
    authentication as the gateway member (its certificate checked against the chain)."""
    cfg = _gateway_config(bridge, bridge_ca=bridge.ca.name, gateway_cert="gateway.cert.pem")

    async def go() -> Any:
        sink = build_sink(cfg)  # the aio channel belongs to the running loop
        try:
            return await sink.submit([signed()])
        finally:
            await sink.close()  # type: ignore[attr-defined]

    bridge.node.txs.clear()
    results = asyncio.run(go())
    assert [(r.device_id, r.seq, r.outcome, r.height) for r in results] == [("dev-1", 1, Outcome.ACCEPTED, 9)]
    assert len(bridge.node.txs) == 1
    assert f"/member/{bridge.gateway.address.hex()}" in bridge.node.queries


@pytest.mark.parametrize(
    ("gateway", "status"),
    [
        ({"bridge_ca": "bridge.cert.pem"}, "UNAUTHENTICATED"),  # TLS, but no member certificate
        ({}, "UNAVAILABLE"),  # plaintext to a TLS-only bridge
        ({"bridge_ca": "other.cert.pem", "gateway_cert": "gateway.cert.pem"}, "UNAVAILABLE"),  # another CA
    ],
)
def test_the_gateway_does_not_get_through_otherwise(bridge: Bridge, gateway: dict[str, str], status: str) -> None:
    _server_tls(bridge.folder, "other")
    cfg = _gateway_config(bridge, **gateway)

    async def go() -> None:
        sink = build_sink(cfg)
        try:
            await sink.submit([signed()])
        finally:
            await sink.close()  # type: ignore[attr-defined]

    bridge.node.txs.clear()
    with pytest.raises(SinkUnavailableError, match=status):
        asyncio.run(go())
    assert bridge.node.txs == []


def test_the_server_certificate_is_fetched_and_checked(bridge: Bridge) -> None:
    """What the member's signature binds to: the certificate the bridge presents, checked
    against the trusted CA; a CA that did not issue it refuses the handshake."""
    assert bridge_server_certificate(bridge.target, bridge.ca.read_bytes()) == load_certificate_der(bridge.ca)
    other, _ = _server_tls(bridge.folder, "stranger")
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        bridge_server_certificate(bridge.target, other.read_bytes())


def _gridctl(argv: list[str]) -> tuple[Context, argparse.Namespace]:
    args = build_parser().parse_args(argv)
    return Context(args), args


def test_gridctl_bridge_credentials(bridge: Bridge) -> None:
    """gridctl's --bridge-ca and --member-cert (with --key) authenticate its bridge calls (the
    same credentials `alerts --watch --bridge` streams with)."""
    key, cert = str(bridge.folder / "gateway.key.pem"), str(bridge.folder / "gateway.cert.pem")
    base = ["--bridge", bridge.target, "--bridge-ca", str(bridge.ca)]
    ctx, args = _gridctl([*base, "--key", key, "--member-cert", cert, "alerts", "--watch"])
    creds = bridge_channel_credentials(ctx, args)
    assert creds is not None
    with grpc.secure_channel(bridge.target, creds) as channel:
        stub = reads_pb2_grpc.AccountsApiStub(channel)  # type: ignore[no-untyped-call]
        view = stub.GetAccount(reads_pb2.ByAddress(address=bridge.gateway.address), timeout=10)
    assert view.nonce == bridge.node.nonce
    ctx, args = _gridctl([*base, "--key", key, "alerts", "--watch"])  # TLS only: no member certificate
    creds = bridge_channel_credentials(ctx, args)
    assert creds is not None
    with grpc.secure_channel(bridge.target, creds) as channel, pytest.raises(grpc.RpcError) as refused:
        reads_pb2_grpc.AccountsApiStub(channel).GetAccount(  # type: ignore[no-untyped-call]
            reads_pb2.ByAddress(address=bridge.gateway.address), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    ctx, args = _gridctl(["--bridge", bridge.target, "--key", key, "--member-cert", cert, "alerts", "--watch"])
    with pytest.raises(UsageError, match="needs --bridge-ca"):
        bridge_channel_credentials(ctx, args)
