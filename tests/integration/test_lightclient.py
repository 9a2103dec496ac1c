"""A lying node is caught: an HTTP proxy in front of a real node rewrites its answers, and the
client's proof check (light client + Merkle proof for the asked key) refuses every lie."""

from __future__ import annotations

import base64
import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from clients.client import GridClient
from clients.lightclient import (
    LightClient,
    UntrustedHeaderError,
    Validator,
    header_hash,
    validator_set_hash,
    vote_sign_bytes,
)
from clients.ops.localnet import Localnet, free_base_port
from clients.proof import ProofError, fetch_proven
from clients.rpc import CometRPC
from tests.integration.conftest import NetFactory

pytestmark = pytest.mark.integration

Rewrite = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


class LyingProxy:
    """Forwards JSON-RPC POSTs to `upstream`; `rewrite(request, response)` may change each answer
    (and `rewrite_request` each request) before the client sees it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rewrite: Rewrite | None = None
        self.rewrite_request: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if proxy.rewrite_request is not None:
                    request = proxy.rewrite_request(request)
                upstream_req = urllib.request.Request(
                    proxy.upstream, data=json.dumps(request).encode(), headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(upstream_req, timeout=10) as resp:
                    body = json.loads(resp.read())
                if proxy.rewrite is not None and "result" in body:
                    body = proxy.rewrite(request, body)
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_base_port(1)), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LyingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def net(module_localnet_factory: NetFactory) -> Localnet:
    return module_localnet_factory("light", n=1, wait_height=3)


@pytest.fixture
def liar(net: Localnet) -> Iterator[LyingProxy]:
    with LyingProxy(f"http://127.0.0.1:{net.ports(0).rpc}") as proxy:
        yield proxy


def _genesis(net: Localnet) -> dict[str, Any]:
    return dict(json.loads((net.node_home(0) / "config" / "genesis.json").read_text()))


def _light(net: Localnet, url: str) -> LightClient:
    return LightClient.from_genesis(CometRPC(url), _genesis(net))


def _alice(net: Localnet) -> bytes:
    return net.consortium().member("community-a/alice").address


def _balance_of(net: Localnet, url: str) -> int:
    address = _alice(net)
    proven = fetch_proven(CometRPC(url), f"/balance/{address.hex()}", b"\x07" + address, _light(net, url))
    assert proven.value is not None
    return int.from_bytes(proven.value, "big")


def test_honest_answers_through_the_proxy_verify(net: Localnet, liar: LyingProxy) -> None:
    """Control: the untouched answers verify, and match the node's own balance answer."""
    direct = net.rpc(0).abci_query(f"/balance/{_alice(net).hex()}")
    assert _balance_of(net, liar.url) == int.from_bytes(base64.b64decode(direct["value"]), "big") > 0
    client = GridClient(CometRPC(liar.url), net.chain_id)
    assert client.proven_balance(_alice(net), light=_light(net, liar.url)) > 0


def test_rewritten_value_is_refused(net: Localnet, liar: LyingProxy) -> None:
    def rewrite(request: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if request["method"] == "abci_query":
            body["result"]["response"]["value"] = base64.b64encode((10**12).to_bytes(8, "big")).decode()
        return body

    liar.rewrite = rewrite
    with pytest.raises(ProofError, match="does not match app hash"):
        _balance_of(net, liar.url)


def test_answer_for_another_key_is_refused(net: Localnet, liar: LyingProxy) -> None:
    """The node answers (with a valid proof) about bob's balance when alice's was asked."""
    bob = net.consortium().member("community-a/bob").address

    def swap(request: dict[str, Any]) -> dict[str, Any]:
        if request["method"] == "abci_query":
            request["params"]["path"] = f"/balance/{bob.hex()}"
        return request

    liar.rewrite_request = swap
    with pytest.raises(ProofError, match="not the asked"):
        _balance_of(net, liar.url)


def test_rewritten_app_hash_in_header_is_refused(net: Localnet, liar: LyingProxy) -> None:
    """The header's app hash is replaced: it no longer hashes to the block the validators signed."""

    def rewrite(request: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if request["method"] == "commit":
            body["result"]["signed_header"]["header"]["app_hash"] = "AB" * 32
        return body

    liar.rewrite = rewrite
    with pytest.raises(UntrustedHeaderError, match="hashes to"):
        _balance_of(net, liar.url)


def _forge(body: dict[str, Any], chain_id: str, key: SigningKey, *, own_set: bool) -> None:
    """Rewrite a commit answer into a self-consistent forged block signed by `key`."""
    signed = body["result"]["signed_header"]
    header, commit = signed["header"], signed["commit"]
    header["app_hash"] = "CD" * 32
    if own_set:
        forged_set = validator_set_hash([Validator(bytes(key.verify_key), 1)])
        header["validators_hash"] = header["next_validators_hash"] = forged_set.hex().upper()
    commit["block_id"]["hash"] = header_hash(header).hex().upper()
    for sig in commit["signatures"]:
        height, round_ = int(commit["height"]), int(commit["round"])
        message = vote_sign_bytes(chain_id, height, round_, commit["block_id"], sig["timestamp"])
        sig["signature"] = base64.b64encode(key.sign(message).signature).decode()


@pytest.mark.parametrize("own_set", [False, True], ids=["same-validator-set", "liars-validator-set"])
def test_forged_and_resigned_header_is_refused(net: Localnet, liar: LyingProxy, own_set: bool) -> None:
    """The liar forges a whole header with its own app hash and signs the commit with its own
    key, either claiming the real validator set or its own (and serving that set)."""
    attacker = SigningKey.generate()

    def rewrite(request: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if request["method"] == "commit":
            _forge(body, net.chain_id, attacker, own_set=own_set)
        if request["method"] == "validators" and own_set:
            for v in body["result"]["validators"]:
                v["pub_key"]["value"] = base64.b64encode(bytes(attacker.verify_key)).decode()
                v["voting_power"] = "1"
        return body

    liar.rewrite = rewrite
    # a liar with its own validator set is caught either way: as a set that is not the trusted
    # one, or (when the light client skips ahead) by its commit not verifying under trusted keys
    expected = "not the trusted validator set|bad precommit signature" if own_set else "bad precommit signature"
    with pytest.raises(UntrustedHeaderError, match=expected):
        _balance_of(net, liar.url)


def test_trusted_hash_anchor(net: Localnet, tmp_path: Path) -> None:
    """A client anchored at a trusted (height, hash) verifies later headers, and refuses a wrong anchor."""
    rpc = net.rpc(0)
    trusted = bytes.fromhex(rpc.block(2)["block_id"]["hash"])
    light = LightClient.from_trusted_hash(rpc, net.chain_id, 2, trusted)
    height = rpc.height()
    assert light.verified_header(height).hash == bytes.fromhex(rpc.block(height)["block_id"]["hash"])
    assert light.verified_header(1).hash == bytes.fromhex(rpc.block(1)["block_id"]["hash"])
    with pytest.raises(UntrustedHeaderError):
        LightClient.from_trusted_hash(rpc, net.chain_id, 2, b"\x01" * 32)
