"""The dashboard's ASGI app against fake nodes (Starlette's TestClient): each view's reads,
failover to the next node, refusal of bad input before any read, the page's own (JavaScript)
audit of a retirement export run under node, and the live stream's messages."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format
from google.protobuf.message import Message
from gridledger.api.v1 import certificates_api_pb2
from gridledger.certificates.v1 import certificates_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.identity.v1 import identity_pb2
from gridledger.market.v1 import market_pb2
from gridwire.contract.certificates import CertificatesCode
from starlette.testclient import TestClient

from clients.ops.consortium import Consortium
from clients.read_request import sign_read_grant
from clients.rpc import RPCError
from clients.servers.dashboard.app import create_app
from clients.servers.dashboard.inputs import BadInputError
from clients.servers.dashboard.live import Feed, Subscriber, messages_of_new_block
from clients.servers.dashboard.nodes import NodePool
from clients.signals import SignalFilter
from tests.support.driver import AppDriver
from tests.unit.helpers import balance

ALICE = bytes(range(20))
INTERVAL = 900
NOW = 1_700_000_100  # chain time: interval start 1_699_999_200


class FakeRpc:
    """A node answering CometBFT RPC from canned data; `down` makes every call fail; `calls` logs them."""

    def __init__(self, url: str, records: dict[str, Message | bytes], *, height: int = 10) -> None:
        self.url = url
        self.records = records
        self.height = height
        self.down = False
        self.calls: list[str] = []

    def call(self, method: str, **params: Any) -> Any:
        self.calls.append(method)
        if self.down:
            raise RPCError(f"{method} on {self.url}: connection refused")
        if method == "status":
            return {
                "node_info": {"network": "test-chain", "moniker": self.url[-5:]},
                "sync_info": {
                    "latest_block_height": str(self.height),
                    "latest_app_hash": "AB" * 32,
                    "latest_block_time": "2023-11-14T22:15:00.123456789Z",
                    "catching_up": False,
                },
            }
        if method == "validators":
            return {"validators": [{"address": "AA" * 20, "voting_power": "10", "pub_key": {"value": "x"}}]}
        if method == "block":
            return {"block": {"header": {"app_hash": "CD" * 32}}}
        if method == "blockchain":
            return {
                "block_metas": [
                    {"header": {"height": str(h), "time": f"2023-11-14T22:15:{h:02d}.000Z"}, "num_txs": "1"}
                    for h in range(int(params["minHeight"]), int(params["maxHeight"]) + 1)
                ]
            }
        if method == "num_unconfirmed_txs":
            return {"n_txs": "3"}
        raise AssertionError(f"unexpected RPC {method}")

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
        self.calls.append(path)
        if self.down:
            raise RPCError(f"abci_query on {self.url}: connection refused")
        record = self.records.get(path)
        if record is None:
            return {"code": 91, "log": "not found"}
        raw = record if isinstance(record, bytes) else record.SerializeToString()
        return {"code": 0, "value": base64.b64encode(raw).decode()}


def _records() -> dict[str, Message | bytes]:
    member = identity_pb2.Member(address=ALICE, org_id="community-a", common_name="alice", roles=["prosumer"])
    interval = NOW - NOW % INTERVAL
    return {
        "/param/devices.settlement_interval_seconds": INTERVAL.to_bytes(8, "big"),
        "/proposals": governance_pb2.ProposalList(proposals=[governance_pb2.Proposal(id=1, title="fees")]),
        "/members/community-a": identity_pb2.MemberList(members=[member]),
        f"/member/{ALICE.hex()}": member,
        f"/balance/{ALICE.hex()}": (1234).to_bytes(8, "big"),
        f"/alerts/{ALICE.hex()}": market_pb2.AlertList(alerts=[market_pb2.Alert(alert_id=5, owner=ALICE, rule_id=2)]),
        f"/book/{interval}": market_pb2.OrderList(
            orders=[
                market_pb2.Order(order_id=1, side=market_pb2.SIDE_SELL, energy_wh=300, limit_price=900),
                market_pb2.Order(order_id=2, side=market_pb2.SIDE_SELL, energy_wh=200, limit_price=500),
                market_pb2.Order(order_id=3, side=market_pb2.SIDE_BUY, energy_wh=400, limit_price=1200),
            ]
        ),
        f"/clearing/{interval}": market_pb2.ClearingResult(interval_start=interval, pool_price=900, total_wh=400),
        "/bundles/status/active": certificates_pb2.BundleList(
            bundles=[certificates_pb2.Bundle(bundle_id=4, hour_start=3600, end_wh=700, energy_source="solar")]
        ),
    }


@pytest.fixture
def nodes() -> list[FakeRpc]:
    return [FakeRpc("http://127.0.0.1:1", _records()), FakeRpc("http://127.0.0.1:2", _records(), height=11)]


@pytest.fixture
def client(nodes: list[FakeRpc]) -> TestClient:
    return TestClient(create_app(NodePool(nodes)))


def test_network_lists_validators_nodes_blocks_and_proposals(client: TestClient) -> None:
    """The network view carries the validator set, each node's height, block gaps, mempool and proposals."""
    d = client.get("/api/network").json()
    assert d["height"] == 10
    assert d["validators"] == [{"address": "AA" * 20, "voting_power": 10, "pub_key": "x"}]
    assert [n["height"] for n in d["nodes"]] == [10, 11]
    assert d["agreement"] == {
        "height": 10,
        "hashes": {"http://127.0.0.1:1": "CD" * 32, "http://127.0.0.1:2": "CD" * 32},
        "agree": True,
    }
    assert d["blocks"][-1]["height"] == 10
    assert d["blocks"][-1]["seconds"] == 1.0
    assert d["mempool"] == 3
    assert d["proposals"][0]["title"] == "fees"
    assert d["reading_from"] == "http://127.0.0.1:1"


def test_reads_fail_over_when_the_node_is_down(client: TestClient, nodes: list[FakeRpc]) -> None:
    """With its node down the dashboard answers from the next node, says so, and marks the node down."""
    nodes[0].down = True
    d = client.get("/api/network").json()
    assert d["reading_from"] == "http://127.0.0.1:2"
    assert d["failovers"] == 1
    assert [n["up"] for n in d["nodes"]] == [False, True]
    assert client.get("/api/home", params={"member": "community-a/alice"}).status_code == 200


def test_all_nodes_down_is_a_503(client: TestClient, nodes: list[FakeRpc]) -> None:
    """When no node answers, the page gets 503 and a message, not a crash."""
    for n in nodes:
        n.down = True
    r = client.get("/api/network")
    assert r.status_code == 503
    assert "no node answered" in r.json()["error"]


def test_home_resolves_org_and_name_and_shows_the_accept_command(client: TestClient) -> None:
    """A member named org/name is found on chain; its balance is read and open alerts carry the gridctl command."""
    d = client.get("/api/home", params={"member": "community-a/alice"}).json()
    assert d["address"] == ALICE.hex()
    assert d["balance"] == 1234
    assert d["alerts"][0]["accept_command"] == "gridctl --as community-a/alice accept 5 --limit <new price per kWh>"
    assert client.get("/api/home", params={"member": ALICE.hex()}).json()["balance"] == 1234


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"member": "zz" * 20}, "40 hex digits"),
        ({"member": "<script>alert(1)</script>"}, "organisation must be"),
        ({"member": '"; DROP TABLE x'}, "40 hex digits"),
        ({"member": "community-a/<img src=x>"}, "member name must be"),
        ({"member": "community-a/nobody"}, "no member with that name"),
        ({}, "40 hex digits"),
    ],
)
def test_home_refuses_bad_members(
    client: TestClient, nodes: list[FakeRpc], params: dict[str, str], message: str
) -> None:
    """A malformed or hostile member reference gets a 400 with a clear message and the node sees no member read."""
    r = client.get("/api/home", params=params)
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert not any(c.startswith("/member/") for c in nodes[0].calls)


def test_market_curves_and_clearing(client: TestClient) -> None:
    """The current interval's book becomes cumulative supply (rising) and demand (falling) curves with its clearing."""
    d = client.get("/api/market").json()
    assert d["interval"] == NOW - NOW % INTERVAL
    assert d["curves"]["supply"] == [{"wh": 200, "price": 500}, {"wh": 500, "price": 900}]
    assert d["curves"]["demand"] == [{"wh": 400, "price": 1200}]
    assert d["clearing"]["pool_price"] == 900
    assert d["day"][-1]["total_wh"] == 400


def test_market_day_prices_min_max_and_volume_weighted_average(nodes: list[FakeRpc]) -> None:
    """Per interval: the lowest and highest clearing price over the feeders' auctions and the pool,
    and their average weighted by the Wh each cleared (floor, integers only)."""
    interval = NOW - NOW % INTERVAL
    clearing = market_pb2.ClearingResult(
        interval_start=interval,
        pool_price=900,
        pool_wh=100,
        pool_cleared=True,
        total_wh=400,
        feeders=[
            market_pb2.FeederClearing(feeder="f1", local_price=700, local_wh=200, local_cleared=True),
            market_pb2.FeederClearing(feeder="f2", local_price=1000, local_wh=100, local_cleared=True),
            market_pb2.FeederClearing(feeder="f3", local_price=5, local_wh=0, local_cleared=False),
        ],
    )
    for node in nodes:
        node.records[f"/clearing/{interval}"] = clearing
    with TestClient(create_app(NodePool(nodes))) as client:
        row = client.get("/api/market").json()["day"][-1]
    assert (row["min_price"], row["max_price"]) == (700, 1000)
    assert row["avg_price"] == (700 * 200 + 1000 * 100 + 900 * 100) // 400


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("-900", "must not be negative"),
        ("12abc", "whole number"),
        ("901", "multiple of 900"),
        ("9" * 30, "whole number"),
    ],
)
def test_market_refuses_bad_intervals(client: TestClient, nodes: list[FakeRpc], interval: str, message: str) -> None:
    """A negative, non-numeric, misaligned or huge interval is refused with a clear message and no book is read."""
    r = client.get("/api/market", params={"interval": interval})
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert not any(c.startswith("/book/") for c in nodes[0].calls)


def test_grid_lists_dr_events_with_each_enrolments_baseline_and_delivered_reduction(nodes: list[FakeRpc]) -> None:
    """The Grid view carries every DR event and, per event, its enrolled devices' baseline,
    measured use, delivered reduction and reward, as the chain stores them; an archived event's
    enrolments left live state, so they are not asked for (the chain would refuse)."""
    old = grid_pb2.DrEvent(event_id="ev0", feeder="f1", settled=True, archived=True)
    event = grid_pb2.DrEvent(event_id="ev1", feeder="f1", requested_reduction_wh=500, reward_per_kwh=200)
    enrolment = grid_pb2.DrEnrolment(
        event_id="ev1", device_id="hp-1", baseline_wh=900, actual_wh=600, reduction_wh=300, reward=60, measured=True
    )
    for node in nodes:
        node.records["/dr_events"] = grid_pb2.DrEventList(events=[old, event])
        node.records["/dr_enrolments/ev1?limit=100"] = grid_pb2.DrEnrolmentList(enrolments=[enrolment])
    with TestClient(create_app(NodePool(nodes))) as client:
        body = client.get("/api/grid").json()
    assert [e["event_id"] for e in body["dr_events"]] == ["ev0", "ev1"]
    assert not any(c.startswith("/dr_enrolments/ev0") for node in nodes for c in node.calls)
    (row,) = body["dr_enrolments"]
    assert (row["device_id"], row["baseline_wh"], row["actual_wh"], row["reduction_wh"], row["reward"]) == (
        "hp-1",
        900,
        600,
        300,
        60,
    )


def test_certificates_filter_and_issued_per_hour(client: TestClient) -> None:
    """Bundles listed by status carry their Wh, and the issued Wh is summed per hour and source."""
    d = client.get("/api/certificates", params={"status": "active"}).json()
    assert [(b["bundle_id"], b["wh"]) for b in d["bundles"]] == [(4, 700)]
    assert d["issued_per_hour"] == [{"hour": 3600, "by_source": {"solar": 700}}]


@pytest.mark.parametrize(
    "params",
    [{"status": "gone"}, {"device": "../../x"}, {"hour": "-1"}, {"status": "active", "device": "d"}, {}],
)
def test_certificates_refuse_bad_filters(client: TestClient, params: dict[str, str]) -> None:
    """Unknown statuses, hostile ids, negative hours and zero or two filters are refused."""
    r = client.get("/api/certificates", params=params)
    assert r.status_code == 400
    assert r.json()["error"]


NODE = shutil.which("node")
NOBLE = Path(__file__).resolve().parents[2] / "clients" / "servers" / "dashboard" / "node_modules" / "@noble"
HARNESS = Path(__file__).resolve().parents[1] / "support" / "verify_export.mjs"
needs_node = pytest.mark.skipif(
    NODE is None or not (NOBLE / "ed25519").is_dir(), reason="node and the dashboard's npm packages (make setup)"
)


def page_verifies(client: TestClient, export: str, anchor: str) -> dict[str, Any]:
    """The verdict of the page's own verifier (static/verify.js, run by node with the page's libraries)."""
    contract = client.get("/api/audit-contract").json()
    payload = json.dumps({"contract": contract, "export": export, "anchor": anchor})
    r = subprocess.run(
        [str(NODE), str(HARNESS)], input=payload, capture_output=True, text=True, check=False, timeout=60
    )
    assert r.returncode == 0, r.stderr
    verdict: dict[str, Any] = json.loads(r.stdout)
    return verdict


def test_audit_contract_is_the_retirement_layout(client: TestClient) -> None:
    """The layout the page's verifier decodes is the contract's key prefix and every Retirement field."""
    from gridwire.contract.certificates import retirement_key

    c = client.get("/api/audit-contract").json()
    assert bytes.fromhex(c["retirement_key_prefix"]) + (7).to_bytes(8, "big") == retirement_key(7)
    names = [f["name"] for f in c["retirement_fields"]]
    assert names == [f.name for f in certificates_pb2.Retirement.DESCRIPTOR.fields]
    assert {f["kind"] for f in c["retirement_fields"]} <= {"uint64", "bytes", "string"}
    assert client.post("/api/audit", json={}).status_code in (404, 405)


@needs_node
def test_the_pages_verifier_accepts_a_real_export_and_rejects_tampering(client: TestClient) -> None:
    """The in-browser verifier accepts an export signed by a changing validator set from the genesis set's
    hash (and from the exported header's hash), and rejects a changed amount, a changed record, a forged
    signature, a wrong anchor and a malformed one, each with a plain reason."""
    from tests.unit.test_export_trust import GENESIS, RID, _exported

    _node, _light, export = _exported()
    text = json_format.MessageToJson(export)
    ok = page_verifies(client, text, GENESIS.hex())
    assert ok["verified"] is True, ok
    assert ok["retirement"]["retirement_id"] == str(RID)
    assert ok["retirement"]["wh"] == str(export.retirement.wh)
    assert "3 trust step" in ok["trust"]
    assert page_verifies(client, text, export.header_hash.hex())["verified"] is True

    amount = json.loads(text)
    amount["retirement"]["wh"] = "999"
    bad = page_verifies(client, json.dumps(amount), GENESIS.hex())
    assert (bad["verified"], "wh = 999" in bad["reason"]) == (False, True)

    record = certificates_api_pb2.RetirementExport()
    record.CopyFrom(export)
    record.retirement.wh = 999
    record.record = record.retirement.SerializeToString()
    bad = page_verifies(client, json_format.MessageToJson(record), GENESIS.hex())
    assert (bad["verified"], bad["reason"]) == (False, "the Merkle proof does not match the app hash")

    forged = json.loads(text)
    signed = json.loads(forged["signedHeaderJson"])
    sig = next(s for s in signed["commit"]["signatures"] if s["signature"])
    raw = bytearray(base64.b64decode(sig["signature"]))
    raw[5] ^= 1
    sig["signature"] = base64.b64encode(bytes(raw)).decode()
    forged["signedHeaderJson"] = json.dumps(signed)
    bad = page_verifies(client, json.dumps(forged), GENESIS.hex())
    assert (bad["verified"], "bad precommit signature" in bad["reason"]) == (False, True)

    assert page_verifies(client, text, "00" * 32)["verified"] is False
    bad = page_verifies(client, text, "not a hash")
    assert (bad["verified"], "trust anchor" in bad["reason"]) == (False, True)
    assert page_verifies(client, "{", GENESIS.hex()) == {"verified": False, "reason": "the export is not JSON"}


@needs_node
def test_the_page_serves_its_crypto_libraries(client: TestClient) -> None:
    """Ed25519 and SHA-2 come from the dashboard itself as JavaScript modules (no CDN)."""
    for path in ("/vendor/noble-ed25519/index.js", "/vendor/noble-hashes/sha2.js", "/static/verify.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "javascript" in r.headers["content-type"]
    assert '<script type="module" src="/static/audit.js">' in client.get("/").text


def test_the_page_and_its_headers(client: TestClient) -> None:
    """The page is served with a content security policy that allows no inline or foreign scripts."""
    r = client.get("/")
    assert r.status_code == 200
    assert 'src="/vendor/chart.js"' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200


def _new_block(height: int, owner: bytes) -> dict[str, Any]:
    alert = {
        "type": "alert",
        "attributes": [{"key": "owner", "value": owner.hex()}, {"key": "alert_id", "value": "9"}],
    }
    return {
        "block": {"header": {"height": str(height), "time": "t"}, "data": {"txs": []}},
        "result_finalize_block": {"tx_results": [], "events": [alert]},
    }


def test_block_messages_carry_only_the_subscribers_alerts() -> None:
    """A block's alert reaches its owner's stream and not another member's; both get the block."""
    mine = messages_of_new_block(_new_block(7, ALICE), SignalFilter(owner=ALICE.hex()), "n0")
    theirs = messages_of_new_block(_new_block(7, ALICE), SignalFilter(owner="11" * 20), "n0")
    assert [m["type"] for m in mine] == ["block", "signal"]
    assert mine[1]["attributes"]["alert_id"] == "9"
    assert [m["type"] for m in theirs] == ["block"]


class _PrimedFeed(Feed):
    """A feed whose new subscribers find one block already published (no websocket)."""

    def subscribe(self, who: SignalFilter) -> Subscriber | None:
        sub = super().subscribe(who)
        assert sub is not None
        for m in messages_of_new_block(_new_block(8, ALICE), who, "n0"):
            sub.queue.put_nowait(m)
        return sub


def test_event_stream_sends_blocks_and_alerts(nodes: list[FakeRpc]) -> None:
    """The SSE stream sends the block and the owner's alert as named events, then ends at its limit."""
    feed = _PrimedFeed([])
    client = TestClient(create_app(NodePool(nodes), feed))
    with client.stream("GET", "/api/events", params={"owner": ALICE.hex(), "limit": "2"}) as r:
        body = "".join(r.iter_text())
    assert "event: block" in body
    assert "event: signal" in body
    assert '"alert_id": "9"' in body
    assert feed.subscribers == set()
    assert client.get("/api/events", params={"owner": "nothex"}).status_code == 400


def test_a_full_subscriber_loses_messages_not_the_feed() -> None:
    """A subscriber that does not read is dropped messages; publishing never blocks."""

    async def run() -> int:
        feed = Feed([])
        sub = feed.subscribe(SignalFilter())
        assert sub is not None
        for h in range(300):
            feed.publish(_new_block(h + 1, ALICE), "n0")
        return sub.dropped

    assert asyncio.run(run()) > 0


class DriverRpc:
    """A node whose queries are answered by the real app (in-process, tests/support/driver)."""

    url = "http://driver"

    def __init__(self, driver: AppDriver) -> None:
        self.driver = driver

    def call(self, method: str, **params: Any) -> Any:
        if method == "status":  # the chain time is all the views ask of it
            stamp = dt.datetime.fromtimestamp(self.driver.time, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return {"node_info": {"network": self.driver.chain_id}, "sync_info": {"latest_block_time": stamp}}
        raise RPCError(f"{method}: the in-process app has no CometBFT RPC")

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
        r = self.driver.query(path, data=data, prove=prove)
        return {"code": r.code, "log": r.log, "value": base64.b64encode(r.value).decode()}


def _now_driver(consortium: Consortium) -> AppDriver:
    """An app whose chain time is the wall clock's (read grants and requests expire by it), genesis committed."""
    driver = AppDriver(consortium, genesis_time=int(time.time()))
    driver.app.private_queries = True  # as every node runs by default
    driver.block([])
    return driver


def _grant_header(pool: NodePool, driver: AppDriver, key: Ed25519PrivateKey) -> dict[str, str]:
    """The header a member's page sends: its read grant for the dashboard's read key."""
    grant = sign_read_grant(key, driver.chain_id, pool.read_public_key())
    return {"X-Gridledger-Read-Grant": base64.b64encode(grant).decode()}


def test_home_reads_a_real_members_state(consortium: Consortium) -> None:
    """Against the real app's queries, bob's page carries his on-chain balance and his empty lists."""
    bob = consortium.member("community-a/bob")
    driver = _now_driver(consortium)
    pool = NodePool([DriverRpc(driver)])
    client = TestClient(create_app(pool))
    r = client.get("/api/home", params={"member": "community-a/bob"}, headers=_grant_header(pool, driver, bob.key))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["address"] == bob.address.hex()
    assert d["balance"] == balance(driver, bob)
    assert d["orders"] == []
    assert d["alerts"] == []
    assert d["private"] == []


def test_home_without_the_members_grant_says_what_is_private(consortium: Consortium) -> None:
    """Without a grant, or with alice's grant for bob's page, bob's public data shows and his alerts, rules, fills
    and statements are marked private instead of failing the page."""
    driver = _now_driver(consortium)
    pool = NodePool([DriverRpc(driver)])
    client = TestClient(create_app(pool))
    alice = consortium.member("community-a/alice")
    for headers in ({}, _grant_header(pool, driver, alice.key)):
        r = client.get("/api/home", params={"member": "community-a/bob"}, headers=headers)
        assert r.status_code == 200, r.text
        d = r.json()
        assert {"alerts", "rules", "fills", "statements"} <= set(d["private"])
        assert d["balance"] == balance(driver, consortium.member("community-a/bob"))
    assert client.get("/api/read-key").json()["read_key"] == pool.read_public_key().hex()


def test_actions_show_the_exact_gridctl_command(client: TestClient) -> None:
    """Accepting new terms, placing and cancelling an order and setting a rule each give the gridctl argv
    of the member's own key, filled in from the form (irrelevant fields left out)."""

    def argv(**form: str) -> list[str]:
        r = client.get("/api/command", params={"member": "community-a/bob", **form})
        assert r.status_code == 200, r.text
        assert r.json()["command"] == " ".join(r.json()["argv"])
        result: list[str] = r.json()["argv"]
        return result

    who = ["gridctl", "--as", "community-a/bob"]
    assert argv(action="accept", alert_id="5", limit="600") == [*who, "accept", "5", "--limit", "600"]
    assert argv(action="order-cancel", order_id="12") == [*who, "order", "cancel", "12"]
    assert argv(action="order-place", side="buy", interval="1800", energy_wh="300", limit="700", site="s1") == [
        *who, "order", "place", "buy", "1800", "300", "700", "--site", "s1",
    ]  # fmt: skip
    assert argv(action="order-place", side="sell", interval="1800", energy_wh="300", limit="0", device="pv-1")[-2:] == [
        "--device",
        "pv-1",
    ]
    assert argv(action="rule-set", kind="buy", limit="500", site="s1", max_wh_per_interval="100") == [
        *who, "rule", "set", "buy", "--limit", "500", "--site", "s1", "--max-wh-per-interval", "100",
    ]  # fmt: skip


PLACE = {"action": "order-place", "side": "buy", "interval": "60", "energy_wh": "1", "limit": "1", "site": "s1"}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "accept", "alert_id": "5", "limit": "-1"}, "must not be negative"),
        ({"action": "accept", "alert_id": "5", "limit": "1.5"}, "whole number"),
        ({"action": "accept", "alert_id": "0", "limit": "5"}, "alert id must be between 1"),
        ({**PLACE, "site": "a;rm -rf ~"}, "site id must be"),
        ({**PLACE, "side": "sideways"}, "side must be"),
        ({**PLACE, "energy_wh": "-300"}, "energy (Wh) must not be negative"),
        ({"action": "rule-set", "kind": "buy", "limit": "5", "device": "<img src=x>"}, "device id must be"),
        ({"action": "rule-set", "kind": "steal", "limit": "5"}, "rule kind must be"),
        ({"action": "transfer", "limit": "5"}, "action must be one of"),
        ({"action": "order-cancel", "order_id": "9" * 40}, "whole number"),
        ({"action": "order-cancel", "order_id": "1", "member": "00" * 20}, "as org/name"),
        ({"action": "order-cancel", "order_id": "1", "member": "a/$(id)"}, "member name must be"),
    ],
)  # fmt: skip
def test_actions_refuse_bad_values_with_a_clear_message(client: TestClient, form: dict[str, str], message: str) -> None:
    """A malformed value, a negative price or a hostile string gets a 400 with a clear message and no command."""
    r = client.get("/api/command", params={"member": "community-a/bob", **form})
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert "command" not in r.json()


def test_matching_heatmap_score_and_residual_from_the_real_app(consortium: Consortium) -> None:
    """A consumer's matching view asks the real app (under bob's read grant) for 3 x 24 periods, their 24/7 score
    over them and the residual mix of their regions; without the grant it is private; an unknown member or a
    hostile one is refused."""
    driver = _now_driver(consortium)
    pool = NodePool([DriverRpc(driver)])
    client = TestClient(create_app(pool))
    hidden = client.get("/api/matching", params={"member": "community-a/bob"})
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["private"] is True
    assert hidden.json()["hours"] == []
    headers = _grant_header(pool, driver, consortium.member("community-a/bob").key)
    r = client.get("/api/matching", params={"member": "community-a/bob"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["private"] is False
    d = r.json()
    hours = [c["hour"] for c in d["hours"]]
    assert len(hours) == 72
    assert all(b - a == d["period_seconds"] for a, b in itertools.pairwise(hours))
    assert d["score"]["from_hour"] == hours[0]
    assert d["score"]["to_hour"] == hours[-1] + d["period_seconds"]
    assert d["residual"] == {}  # bob has no sites, so no region
    assert client.get("/api/matching", params={"member": "00" * 20}).status_code == 400
    assert client.get("/api/matching", params={"member": "a/<script>"}).status_code == 400


def test_matching_marks_hours_whose_consumption_left_the_ledger_and_scores_the_rest() -> None:
    """Hours before the devices' pruning watermark answer RECORD_ARCHIVED: their heat-map cells are
    marked archived (not an error page, not a fake 0 % hour) and the 24/7 score covers the live hours;
    the residual mix leaves out the hours it answers RECORD_ARCHIVED for."""
    from clients.servers.dashboard.history import matching

    period, latest = 3600, 1_800_000_000 - 1_800_000_000 % 3600
    watermark = latest - 24 * period  # the first two days of the heat-map are behind it
    member = bytes(20)

    class Pruned(FakeRpc):
        def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
            root, *args = path.strip("/").split("/")
            if root in ("matching", "score") and int(args[1]) < watermark:
                return {"code": int(CertificatesCode.RECORD_ARCHIVED), "log": "before the devices' pruning watermark"}
            if root == "residual":  # as if the watermark had moved on 12 hours by then
                if int(args[1]) < watermark + 12 * period:
                    return {"code": int(CertificatesCode.RECORD_ARCHIVED), "log": "before the watermark"}
                mix = certificates_pb2.Residual(grid_region=args[0], hour_start=int(args[1]), issued_wh=10)
                return {"code": 0, "value": base64.b64encode(mix.SerializeToString()).decode()}
            if root == "matching":
                view = certificates_pb2.Matching(
                    member=member, hour_start=int(args[1]), consumption_wh=100, claimed_wh=50
                )
                return {"code": 0, "value": base64.b64encode(view.SerializeToString()).decode()}
            if root == "score":
                score = certificates_pb2.Score(
                    member=member, from_hour=int(args[1]), to_hour=int(args[2]), consumption_wh=1
                )
                return {"code": 0, "value": base64.b64encode(score.SerializeToString()).decode()}
            return super().abci_query(path, data, height=height, prove=prove)

    d = matching(NodePool([Pruned("http://127.0.0.1:1", {})]), member, ["nl-north"], latest, period)
    archived = [c["hour"] for c in d["hours"] if c.get("archived")]
    assert len(d["hours"]) == 72
    assert archived == [h for h in (c["hour"] for c in d["hours"]) if h < watermark]
    assert len(archived) == 48
    assert (int(d["score"]["from_hour"]), int(d["score"]["to_hour"])) == (watermark, latest)
    assert all(c["consumption_wh"] == 100 for c in d["hours"] if not c.get("archived"))
    # the residual mix of the last 24 periods: the ones whose mix left the ledger are left out
    assert [int(r["hour_start"]) for r in d["residual"]["nl-north"]] == [latest - k * period for k in range(12, 0, -1)]


def _readings_tx(device: str, seqs_socs: list[tuple[int, int, int]]) -> str:
    """A committed SubmitReadings tx (base64) carrying `device`'s readings (seq, end, soc_wh)."""
    from gridledger.devices.v1 import devices_pb2
    from gridledger.tx.v1 import tx_pb2
    from gridwire.tx import pack

    readings = [devices_pb2.SignedReading(device_id=device, seq=q, end=end, soc_wh=soc) for q, end, soc in seqs_socs]
    body = tx_pb2.TxBody(chain_id="c", messages=[pack(devices_pb2.SubmitReadings(readings=readings))])
    return base64.b64encode(tx_pb2.Tx(body=body.SerializeToString()).SerializeToString()).decode()


def test_soc_history_comes_from_the_batterys_accepted_readings() -> None:
    """The state of charge over the day is what the battery signed in readings the chain accepted: a rejected
    reading, a failed tx and a reading older than a day are left out; a hostile device id is refused."""
    from clients.servers.dashboard.history import soc_history

    now = 1_000_000

    def accepted(*seqs: int) -> list[dict[str, Any]]:
        return [
            {
                "type": "reading_accepted",
                "attributes": [{"key": "device", "value": "bat"}, {"key": "seq", "value": str(q)}],
            }
            for q in seqs
        ]

    class TxIndex(FakeRpc):
        def call(self, method: str, **params: Any) -> Any:
            assert (method, params["query"]) == ("tx_search", "reading_accepted.device='bat'")
            txs = [
                {
                    "tx": _readings_tx("bat", [(5, now - 60, 700), (6, now - 30, 900)]),
                    "tx_result": {"events": accepted(5)},
                },
                {"tx": _readings_tx("bat", [(4, now - 600, 400)]), "tx_result": {"code": 0, "events": accepted(4)}},
                {"tx": _readings_tx("bat", [(3, now - 900, 999)]), "tx_result": {"code": 7, "events": accepted(3)}},
                {"tx": _readings_tx("bat", [(1, now - 90_000, 100)]), "tx_result": {"events": accepted(1)}},
            ]
            return {"txs": txs, "total_count": str(len(txs))}

    pool = NodePool([TxIndex("http://127.0.0.1:1", {})])
    assert soc_history(pool, "bat", now) == [{"time": now - 600, "soc_wh": 400}, {"time": now - 60, "soc_wh": 700}]
    with pytest.raises(BadInputError):
        soc_history(pool, "bat' OR tx.height>0", now)  # never reaches the tx index's query syntax


SIGN_HARNESS = Path(__file__).resolve().parents[1] / "support" / "sign_tx.mjs"


def page_signs(client: TestClient, pem: str, action: str, values: dict[str, str], nonce: int = 7) -> dict[str, str]:
    """The tx the page's own code (static/txcodec.js, run by node with the page's Ed25519) signs."""
    contract = client.get("/api/sign-contract").json()
    payload = {"pem": pem, "chain_id": "gridledger-test", "nonce": nonce, "contract": contract, "action": action}
    r = subprocess.run(
        [str(NODE), str(SIGN_HARNESS)],
        input=json.dumps({**payload, "values": values}),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    answer: dict[str, str] = json.loads(r.stdout)
    return answer


@needs_node
def test_the_page_signs_the_same_read_grant_as_the_client_library() -> None:
    """The read grant the page signs from a key file is byte for byte the client library's (Ed25519 is
    deterministic), so the app accepts it as the member's."""
    from cryptography.hazmat.primitives import serialization

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    reader = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    payload = {"pem": pem, "chain_id": "gridledger-test", "grant": {"reader": reader.hex(), "until": 1_800_000_000}}
    r = subprocess.run(
        [str(NODE), str(SIGN_HARNESS)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    expected = sign_read_grant(key, "gridledger-test", reader, expiry=1_800_000_000)
    assert base64.b64decode(json.loads(r.stdout)["grant"]) == expected


@needs_node
def test_the_page_signs_the_same_bytes_as_gridctl(client: TestClient) -> None:
    """Accepting new terms and cancelling an order, signed in the page from a PKCS#8 key file, are byte for byte
    the transactions clients.tx signs (Ed25519 is deterministic); a damaged key or a negative price is refused."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from clients import market as mc
    from clients.tx import sign_tx

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    accept = page_signs(client, pem, "accept", {"alert_id": "5", "new_limit_price": "3300"})
    assert base64.b64decode(accept["tx"]) == sign_tx(key, "gridledger-test", 7, [mc.accept_terms(5, 3300)])
    cancel = page_signs(client, pem, "order-cancel", {"order_id": "12"}, nonce=300)
    assert base64.b64decode(cancel["tx"]) == sign_tx(key, "gridledger-test", 300, [mc.cancel(12)])
    zero = page_signs(client, pem, "accept", {"alert_id": "5", "new_limit_price": "0"})  # proto3 omits 0 alike
    assert base64.b64decode(zero["tx"]) == sign_tx(key, "gridledger-test", 7, [mc.accept_terms(5, 0)])
    damaged = pem.replace(pem.splitlines()[1][:8], "AAAAAAAA")
    assert "not an Ed25519 private key" in page_signs(client, damaged, "accept", {"alert_id": "5"})["error"]
    assert "PKCS#8 PEM" in page_signs(client, "ssh-ed25519 AAAA", "accept", {"alert_id": "5"})["error"]
    negative = page_signs(client, pem, "accept", {"alert_id": "5", "new_limit_price": "-1"})
    assert negative == {"error": "new_limit_price must not be negative"}


class Relaying(FakeRpc):
    """A node that takes broadcast txs into its mempool and commits them when first asked for them."""

    def __init__(self, url: str) -> None:
        super().__init__(url, {})
        self.sent: list[bytes] = []
        self.asked = 0

    def call(self, method: str, **params: Any) -> Any:
        if method == "broadcast_tx_sync":
            self.sent.append(base64.b64decode(params["tx"]))
            return {"code": 0, "log": "", "hash": "AB" * 32}
        if method == "tx":
            self.asked += 1
            if self.asked == 1:
                raise RPCError("tx: tx (ABAB) not found")
            return {"height": "42", "tx_result": {"code": 0, "log": ""}}
        return super().call(method, **params)


def test_broadcast_relays_a_signed_tx_and_refuses_anything_else() -> None:
    """A well-formed signed tx is relayed unchanged and its commit reported (a not-yet-committed answer is not a
    node failure); bytes that are not a signed tx, or not base64, are refused before any node is asked."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from clients import market as mc
    from clients.tx import sign_tx

    node = Relaying("http://127.0.0.1:1")
    pool = NodePool([node])
    client = TestClient(create_app(pool))
    raw = sign_tx(Ed25519PrivateKey.generate(), "gridledger-test", 1, [mc.cancel(3)])
    r = client.post("/api/broadcast", json={"tx": base64.b64encode(raw).decode()})
    assert r.status_code == 200, r.text
    assert r.json() == {"hash": "AB" * 32, "code": 0, "log": "", "height": 42, "committed": True}
    assert node.sent == [raw]
    assert pool.failovers == 0
    for bad, message in (
        (base64.b64encode(raw[:-3]).decode(), "not a signed transaction"),
        ("not base64!", "not base64"),
        ("", "1 to"),
    ):
        r = client.post("/api/broadcast", json={"tx": bad})
        assert (r.status_code, message in r.json()["error"]) == (400, True)
    assert client.post("/api/broadcast", json={"tx": 5}).status_code == 400
    assert node.sent == [raw]
