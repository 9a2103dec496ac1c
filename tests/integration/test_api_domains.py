"""GridApi, MarketApi and CertificatesApi through the real bridge against a real 1-node chain
(accelerated clock: 10 s delivery intervals), and signals end to end: a demand-response event
published by the grid operator and a market alert raised by a standing buy rule arrive on
GatewayApi.Signals, live and when resuming from a height."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from google.protobuf.message import Message
from gridledger.api.v1 import (
    certificates_api_pb2,
    certificates_api_pb2_grpc,
    gateway_pb2,
    gateway_pb2_grpc,
    grid_api_pb2,
    grid_api_pb2_grpc,
    market_api_pb2,
    market_api_pb2_grpc,
    reads_pb2,
    reads_pb2_grpc,
    tx_pb2,
    tx_pb2_grpc,
)
from gridledger.certificates.v1 import certificates_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.market.v1 import market_pb2
from gridwire.reading import Reading

from abci_app.certificates import keys as certificate_keys
from clients import certificates as cc
from clients import devices as dc
from clients import market as mc
from clients.lightclient import genesis_validator_set_hash
from clients.ops.localnet import Localnet, free_base_port
from clients.pki import Identity
from clients.proof import ProofError
from clients.retirement_export import retirement_key, verify_retirement_export
from clients.tx import sign_tx
from devices.keys import DeviceKey
from tests.support.devices import CERTIFIER, commission_msgs

pytestmark = pytest.mark.integration

INTERVAL = 10  # accelerated clock: 10 s delivery intervals
PARAMS = {
    "devices.settlement_interval_seconds": INTERVAL,
    "market.gate_closure_seconds": 2,
    "grid.dr_settlement_grace_seconds": 0,
    "grid.dr_baseline_days": 1,  # a device registered 10 s before an announcement may enrol
    "grid.dr_baseline_period_seconds": 10,
    "certificates.period_seconds": 10,  # accelerated: a 10 s production "hour" (genesis may go below 900 s)
    "devices.min_reading_seconds": 5,
}
PV_KEY = DeviceKey.generate()
HOUR = 10  # the certificate period of this chain (PARAMS)
PV_W = 1_000_000  # pv-a's nameplate: 100 Wh in 5 s is within it


def test_retirement_key_is_the_domains_layout() -> None:
    """The export's key check uses the certificates domain's own key for a retirement."""
    for rid in (1, 7, 2**40):
        assert retirement_key(rid) == certificate_keys.retirement(rid)


# ---- the chain, the channel and helpers ----------------------------------------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    home = tmp_path_factory.mktemp("api_domains") / "net"
    localnet = Localnet(home, n=1, base_port=free_base_port(1), timeout_commit="200ms")
    # The localnet's bridge runs without member authentication, so it holds no members' read grants and
    # a private node would refuse its reads of households' data; these tests are about the API's wiring,
    # so the node answers them plainly (--public-queries). Granted reads: tests/unit/test_read_grants_bridge.py.
    public = pytest.MonkeyPatch()
    public.setenv("GRIDLEDGER_PRIVATE_QUERIES", "0")
    localnet.init(params=PARAMS)
    try:
        localnet.start()
        localnet.start_bridge(0)
        localnet.wait_height(2, timeout=60)
        yield localnet
    finally:
        localnet.stop()
        public.undo()


@pytest.fixture(scope="module")
def channel(net: Localnet) -> Iterator[grpc.Channel]:
    ch = grpc.insecure_channel(f"127.0.0.1:{net.ports(0).bridge}")
    grpc.channel_ready_future(ch).result(timeout=30)
    with ch:
        yield ch


def submit(channel: grpc.Channel, net: Localnet, who: Identity, *messages: Message) -> tx_pb2.SubmitTxResponse:
    """Sign `messages` as `who` with its next nonce and submit through TxApi, waiting for the commit."""
    accounts = reads_pb2_grpc.AccountsApiStub(channel)  # type: ignore[no-untyped-call]
    nonce = int(accounts.GetAccount(reads_pb2.ByAddress(address=who.address)).nonce)
    stub = tx_pb2_grpc.TxApiStub(channel)  # type: ignore[no-untyped-call]
    raw = sign_tx(who.key, net.chain_id, nonce + 1, list(messages))
    response: tx_pb2.SubmitTxResponse = stub.SubmitTx(
        tx_pb2.SubmitTxRequest(signed_tx=raw, wait_commit=True), timeout=60
    )
    return response


def attrs_of(response: tx_pb2.SubmitTxResponse, event_type: str) -> dict[str, str]:
    for e in response.events:
        if e.type == event_type:
            return {a.key: a.value for a in e.attributes}
    raise AssertionError(f"no {event_type} event in {[e.type for e in response.events]}")


def status_of(method: Callable[[Message], object], request: Message) -> grpc.StatusCode:
    """The status code `method(request)` fails with."""
    with pytest.raises(grpc.RpcError) as err:
        method(request)
    code: grpc.StatusCode = err.value.code()
    return code


def wait_for(what: str, probe: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.5)


@dataclass
class Listener:
    """A live Signals stream read on a thread: every (height, signal) it delivered."""

    call: grpc.Future
    seen: list[tuple[int, gateway_pb2.Signal]] = field(default_factory=list)
    heights: list[int] = field(default_factory=list)

    def run(self) -> None:
        try:
            for response in self.call:
                self.heights.append(response.height)
                self.seen.extend((response.height, s) for s in response.signals)
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.CANCELLED:
                raise

    def types(self) -> list[str]:
        return [s.type for _, s in self.seen]


@dataclass
class World:
    alice: Identity
    bob: Identity
    carol: Identity
    operator: Identity
    hour: int  # the production hour of pv-a's certificates
    start_height: int
    listener: Listener
    registered_at: float  # wall-clock time right after pv-a was registered


@pytest.fixture(scope="module")
def world(net: Localnet, channel: grpc.Channel) -> Iterator[World]:
    """Tariffs, fees and a feeder limit; alice's site and PV on feeder-1 with an hour of
    readings (its certificates are issued); bob's site on feeder-1; a live Signals stream
    for bob started before anything happens."""
    c = net.consortium()
    alice, bob, carol = c.member("community-a/alice"), c.member("community-a/bob"), c.member("community-b/carol")
    operator, treasury = c.member("gridop/control"), c.member("utility/treasury")
    gateway = gateway_pb2_grpc.GatewayApiStub(channel)  # type: ignore[no-untyped-call]
    listener = Listener(gateway.Signals(gateway_pb2.SignalsRequest(owner=bob.address.hex()), timeout=600))
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    start_height = net.rpc(0).height()
    submit(
        channel,
        net,
        operator,
        grid_pb2.SetTariffs(
            supplier=treasury.address,
            retail_per_kwh=300,
            feed_in_per_kwh=80,
            imbalance_short_per_kwh=400,
            imbalance_long_per_kwh=50,
        ),
        grid_pb2.SetGridFees(intra_feeder_per_kwh=5, inter_feeder_per_kwh=10),
        grid_pb2.SetFeederLimit(feeder="feeder-1", import_wh=1_000_000, export_wh=900_000),
    )
    submit(
        channel,
        net,
        alice,
        dc.register_site("site-a", "feeder-1", "nl"),
        dc.register_device(
            "pv-a", "site-a", "pv", PV_KEY.public_bytes, PV_W, grid_region="nl", country="NL", energy_source="solar",
            device_cert=net.consortium().device_ca().issue_device_cert("pv-a", "pv", PV_KEY.public_bytes, PV_W),
        ),
    )  # fmt: skip
    # the certifier commissions it: only then does it earn certificates and may it sell
    submit(channel, net, net.consortium().member(CERTIFIER), *commission_msgs("pv-a"))
    registered_at = time.time()
    submit(channel, net, bob, dc.register_site("site-b", "feeder-1", "nl"))
    # a production "hour" (a 10 s certificate period here) that starts after pv-a's registration:
    # no reading may cover time before it
    hour = (int(registered_at) // HOUR + 2) * HOUR
    readings = [
        Reading("pv-a", 1, hour - HOUR // 2, hour, 0, 1_000),  # the baseline
        Reading("pv-a", 2, hour, hour + HOUR // 2, 0, 1_100),
        Reading("pv-a", 3, hour + HOUR // 2, hour + HOUR, 0, 1_200),
    ]
    done = submit(
        channel, net, alice, dc.submit_readings([dc.sign_reading(PV_KEY.private, net.chain_id, r) for r in readings])
    )
    assert [e.type for e in done.events].count("reading_accepted") == 3
    try:
        yield World(alice, bob, carol, operator, hour, start_height, listener, registered_at)
    finally:
        listener.call.cancel()
        thread.join(timeout=10)


# ---- the grid --------------------------------------------------------------------------------


def test_grid_reads(channel: grpc.Channel, world: World) -> None:
    """Tariffs, fees and feeder limits come back as the grid domain's records."""
    grid = grid_api_pb2_grpc.GridApiStub(channel)  # type: ignore[no-untyped-call]
    tariffs = grid.GetTariffs(reads_pb2.Empty())
    assert (tariffs.retail_per_kwh, tariffs.operator) == (300, world.operator.address)
    assert grid.GetGridFees(reads_pb2.Empty()).inter_feeder_per_kwh == 10
    limit = grid.GetFeederLimit(reads_pb2.ById(id="feeder-1"))
    assert (limit.import_wh, limit.export_wh) == (1_000_000, 900_000)
    assert [x.feeder for x in grid.ListFeederLimits(reads_pb2.PageRequest()).limits] == ["feeder-1"]
    assert status_of(grid.GetFeederLimit, reads_pb2.ById(id="feeder-9")) is grpc.StatusCode.NOT_FOUND
    assert status_of(grid.GetDrEvent, reads_pb2.ById(id="no-such-event")) is grpc.StatusCode.NOT_FOUND
    for bad in (reads_pb2.ById(id=""), reads_pb2.ById(id="a/b")):
        assert status_of(grid.GetDrEvent, bad) is grpc.StatusCode.INVALID_ARGUMENT
    assert (
        status_of(grid.ListDrEnrolments, grid_api_pb2.ListDrEnrolmentsRequest(event_id="x?y"))
        is grpc.StatusCode.INVALID_ARGUMENT
    )
    assert status_of(grid.ListDrEvents, reads_pb2.PageRequest(limit=501)) is grpc.StatusCode.INVALID_ARGUMENT


def test_wrong_roles_are_permission_denied(net: Localnet, channel: grpc.Channel, world: World) -> None:
    """A prosumer setting tariffs, and a non-certifier revoking certificates: code 14."""
    with pytest.raises(grpc.RpcError) as tariffs:
        submit(channel, net, world.alice, grid_pb2.SetGridFees(intra_feeder_per_kwh=1, inter_feeder_per_kwh=2))
    assert tariffs.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert dict(tariffs.value.trailing_metadata() or ())["gridledger-code"] == "14"
    with pytest.raises(grpc.RpcError) as revoke:
        submit(channel, net, world.carol, cc.revoke("pv-a", world.hour))
    assert revoke.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert dict(revoke.value.trailing_metadata() or ())["gridledger-code"] == "14"
    grid = grid_api_pb2_grpc.GridApiStub(channel)  # type: ignore[no-untyped-call]
    assert grid.GetGridFees(reads_pb2.Empty()).intra_feeder_per_kwh == 5  # unchanged


# ---- certificates ----------------------------------------------------------------------------


def _issued(channel: grpc.Channel, world: World) -> certificates_pb2.Bundle:
    certs = certificates_api_pb2_grpc.CertificatesApiStub(channel)  # type: ignore[no-untyped-call]
    found: list[certificates_pb2.Bundle] = []

    def probe() -> bool:
        found[:] = certs.ListBundles(certificates_api_pb2.ListBundlesRequest(device_id="pv-a")).bundles
        return bool(found)

    wait_for("issuance of pv-a's hour", probe, timeout=30)
    return found[0]


def test_certificates_reads_and_a_retirement_export_checked_offline(
    net: Localnet, channel: grpc.Channel, world: World
) -> None:
    """The issued bundle is listed by owner, device, hour and status; a retirement is read,
    its history and the matching views follow it, and its export verifies offline against the
    genesis validators (and fails when the record is changed)."""
    certs = certificates_api_pb2_grpc.CertificatesApiStub(channel)  # type: ignore[no-untyped-call]
    bundle = _issued(channel, world)
    assert (bundle.hour_start, bundle.end_wh - bundle.start_wh, bundle.owner) == (world.hour, 200, world.alice.address)
    assert certs.GetBundle(reads_pb2.ByNumber(id=bundle.bundle_id)) == bundle
    by = certificates_api_pb2.ListBundlesRequest
    assert [b.bundle_id for b in certs.ListBundles(by(owner=world.alice.address)).bundles] == [bundle.bundle_id]
    assert bundle.bundle_id in [b.bundle_id for b in certs.ListBundles(by(hour_start=world.hour)).bundles]
    active = certs.ListBundles(by(status=certificates_pb2.BUNDLE_STATUS_ACTIVE)).bundles
    assert bundle.bundle_id in [b.bundle_id for b in active]

    done = submit(
        channel,
        net,
        world.alice,
        cc.retire(bundle.bundle_id, 50, world.bob.address, (world.hour, world.hour + HOUR), "ev charging"),
    )
    retired = attrs_of(done, "bundle_retired")
    rid, piece = int(retired["retirement"]), int(retired["bundle"])
    record = certs.GetRetirement(reads_pb2.ByNumber(id=rid))
    assert (record.wh, record.beneficiary, record.device_id) == (50, world.bob.address, "pv-a")
    listed = certs.ListRetirements(
        certificates_api_pb2.ListRetirementsRequest(owner=world.alice.address, hour_start=world.hour)
    ).retirements
    assert list(listed) == [record]
    retired_list = certs.ListBundles(by(status=certificates_pb2.BUNDLE_STATUS_RETIRED)).bundles
    assert [b.bundle_id for b in retired_list] == [piece]
    history = certs.GetBundleHistory(reads_pb2.ByNumber(id=piece))
    actions = [e.action for h in history.chain for e in h.entries]
    assert "retired" in actions
    assert "issued" in actions  # the ancestor it was cut from
    matching = certs.GetMatching(
        certificates_api_pb2.MemberHourRequest(member=world.bob.address, hour_start=world.hour)
    )
    assert matching.claimed_wh == 50
    score = certs.GetScore(
        certificates_api_pb2.ScoreRequest(member=world.bob.address, from_hour=world.hour, to_hour=world.hour + HOUR)
    )
    assert score.member == world.bob.address
    assert 0 <= score.score_bp <= 10_000
    residual = certs.GetResidual(certificates_api_pb2.ResidualRequest(grid_region="nl", hour_start=world.hour))
    assert (residual.issued_wh, residual.claimed_wh, residual.residual_wh) == (200, 50, 150)

    export = certs.ExportRetirement(reads_pb2.ByNumber(id=rid))
    assert export.retirement == record
    genesis = json.loads((net.node_home(0) / "config" / "genesis.json").read_text())
    trusted = genesis_validator_set_hash(genesis)
    assert verify_retirement_export(export, trusted) == record
    offline = certificates_api_pb2.RetirementExport.FromString(export.SerializeToString())  # as a file would hold it
    tampered = certificates_api_pb2.RetirementExport()
    tampered.CopyFrom(offline)
    tampered.retirement.wh = 5_000
    tampered.record = tampered.retirement.SerializeToString()
    with pytest.raises(ProofError):
        verify_retirement_export(tampered, trusted)
    with pytest.raises(ProofError):
        verify_retirement_export(offline, b"\x00" * 32)  # a validator set the checker does not trust


def test_certificates_not_found_and_invalid_argument(channel: grpc.Channel, world: World) -> None:
    certs = certificates_api_pb2_grpc.CertificatesApiStub(channel)  # type: ignore[no-untyped-call]
    missing = reads_pb2.ByNumber(id=999_999)
    for call in (certs.GetBundle, certs.GetRetirement, certs.GetBundleHistory, certs.ExportRetirement):
        assert status_of(call, missing) is grpc.StatusCode.NOT_FOUND
    c = certificates_api_pb2
    bad: list[tuple[Callable[[Message], object], Message]] = [
        (certs.GetBundle, reads_pb2.ByNumber(id=0)),
        (certs.ExportRetirement, reads_pb2.ByNumber(id=0)),
        (certs.ListBundles, c.ListBundlesRequest()),
        (certs.ListBundles, c.ListBundlesRequest(hour_start=world.hour + 5)),
        (certs.ListBundles, c.ListBundlesRequest(owner=b"\x01\x02")),
        (certs.ListBundles, c.ListBundlesRequest(device_id="a/b")),
        (certs.GetMatching, c.MemberHourRequest(member=world.bob.address, hour_start=7)),
        (certs.GetScore, c.ScoreRequest(member=world.bob.address, from_hour=2 * HOUR, to_hour=HOUR)),
        (certs.GetResidual, c.ResidualRequest(grid_region="", hour_start=HOUR)),
    ]
    for method, request in bad:
        assert status_of(method, request) is grpc.StatusCode.INVALID_ARGUMENT


# ---- the market, DR and signals end to end ---------------------------------------------------


def _first(listener: Listener, event_type: str, **attributes: str) -> tuple[int, gateway_pb2.Signal] | None:
    for height, signal in list(listener.seen):
        attrs = {a.key: a.value for a in signal.attributes}
        if signal.type == event_type and all(attrs.get(k) == v for k, v in attributes.items()):
            return height, signal
    return None


def test_market_and_dr_signals_end_to_end(net: Localnet, channel: grpc.Channel, world: World) -> None:
    """The operator publishes a DR event on feeder-1 and alice enrols her PV; alice offers at
    200 for the next intervals and bob's standing buy rule limits at 50: at gate closure bob's
    rule order stays unfilled and an alert is raised. Both reach bob's live Signals stream; a
    stream resumed from the alert's height replays it; a feeder filter keeps other feeders'
    DR events out. The market reads show the orders, book, clearing, rule and alert."""
    grid = grid_api_pb2_grpc.GridApiStub(channel)  # type: ignore[no-untyped-call]
    market = market_api_pb2_grpc.MarketApiStub(channel)  # type: ignore[no-untyped-call]
    now = int(time.time())
    dr_start = (now // INTERVAL + 4) * INTERVAL
    # a device enrols only when registered a baseline window (1 × 10 s here) before the announcement
    time.sleep(max(0.0, world.registered_at + 11 - time.time()))
    submit(channel, net, world.alice, grid_pb2.JoinDrProgramme(device_id="pv-a"))  # before the announcement
    published = submit(
        channel,
        net,
        world.operator,
        grid_pb2.PublishDrEvent(
            event_id="dr-1",
            feeder="feeder-1",
            start=dr_start,
            end=dr_start + INTERVAL,
            requested_reduction_wh=1_000,
            reward_per_kwh=100,
        ),
    )
    assert attrs_of(published, "dr_event")["feeder"] == "feeder-1"
    submit(channel, net, world.alice, grid_pb2.EnrolDr(event_id="dr-1", device_id="pv-a"))
    event = grid.GetDrEvent(reads_pb2.ById(id="dr-1"))
    assert (event.start, event.budget, event.operator) == (dr_start, 100, world.operator.address)
    assert [e.event_id for e in grid.ListDrEvents(reads_pb2.PageRequest()).events] == ["dr-1"]
    enrolments = grid.ListDrEnrolments(grid_api_pb2.ListDrEnrolmentsRequest(event_id="dr-1")).enrolments
    assert [(e.device_id, e.owner) for e in enrolments] == [("pv-a", world.alice.address)]

    first = (int(time.time()) // INTERVAL + 2) * INTERVAL
    offers = [mc.sell("pv-a", first + i * INTERVAL, 10, 200) for i in range(8)]
    placed = submit(channel, net, world.alice, *offers)
    assert sum(e.type == "order_placed" for e in placed.events) == 8
    open_last = market.ListBook(market_api_pb2.BookRequest(interval_start=first + 7 * INTERVAL)).orders
    assert [(o.owner, o.limit_price) for o in open_last if o.side == market_pb2.SIDE_SELL] == [
        (world.alice.address, 200)
    ]
    rule_done = submit(
        channel, net, world.bob, mc.rule("buy", limit_price=50, site_id="site-b", max_wh_per_interval=10)
    )
    rule_id = int(attrs_of(rule_done, "rule_set")["rule_id"])

    wait_for("an alert for bob on the stream", lambda: _first(world.listener, "alert") is not None)
    wait_for("the DR event on the stream", lambda: _first(world.listener, "dr_event", event_id="dr-1") is not None)
    found = _first(world.listener, "alert")
    assert found is not None
    alert_height, alert_signal = found
    alert_attrs = {a.key: a.value for a in alert_signal.attributes}
    assert alert_attrs["owner"] == world.bob.address.hex()
    assert alert_attrs["rule_id"] == str(rule_id)
    assert alert_signal.kind == gateway_pb2.SIGNAL_KIND_ALERT
    dr = _first(world.listener, "dr_event", event_id="dr-1")
    assert dr is not None
    assert dr[1].kind == gateway_pb2.SIGNAL_KIND_DEMAND_RESPONSE
    assert dr[1].tx_hash == published.tx_hash
    assert all(
        {a.key: a.value for a in s.attributes}.get("owner", world.bob.address.hex()) == world.bob.address.hex()
        for _, s in world.listener.seen
    )  # only bob's alerts reach bob's stream
    assert world.listener.heights == sorted(set(world.listener.heights))

    # the market's reads of what happened
    alert = market.GetAlert(reads_pb2.ByNumber(id=int(alert_attrs["alert_id"])))
    assert (alert.owner, alert.rule_id) == (world.bob.address, rule_id)
    assert alert.reason in (market_pb2.ALERT_REASON_PRICE_ABOVE_LIMIT, market_pb2.ALERT_REASON_NO_SELLER)
    assert alert.alert_id in [
        a.alert_id for a in market.ListAlerts(market_api_pb2.ByOwner(owner=world.bob.address)).alerts
    ]
    assert market.GetRule(reads_pb2.ByNumber(id=rule_id)).limit_price == 50
    assert [r.rule_id for r in market.ListRules(market_api_pb2.ByOwner(owner=world.bob.address)).rules] == [rule_id]
    bob_orders = market.ListOrders(market_api_pb2.ByOwner(owner=world.bob.address)).orders
    assert bob_orders
    assert all(o.rule_id == rule_id and o.filled_wh == 0 for o in bob_orders)
    clearing = market.GetClearing(market_api_pb2.IntervalRequest(interval_start=alert.interval_start))
    assert clearing.interval_start == alert.interval_start
    assert clearing.total_wh == 0  # the buyer's limit is below every offer
    alice_orders = market.ListOrders(
        market_api_pb2.ByOwner(owner=world.alice.address, page=reads_pb2.PageRequest(limit=3))
    )
    assert len(alice_orders.orders) == 3
    assert alice_orders.next
    first_order = market.GetOrder(reads_pb2.ByNumber(id=alice_orders.orders[0].order_id))
    assert (first_order.owner, first_order.side, first_order.device_id) == (
        world.alice.address,
        market_pb2.SIDE_SELL,
        "pv-a",
    )
    assert not market.ListFills(market_api_pb2.ByOwner(owner=world.bob.address)).fills
    assert isinstance(market.ListStatements(market_api_pb2.ByOwner(owner=world.bob.address)), market_pb2.StatementList)

    # resumption: from the alert's height the stream replays it first
    gateway = gateway_pb2_grpc.GatewayApiStub(channel)  # type: ignore[no-untyped-call]
    resumed = gateway.Signals(
        gateway_pb2.SignalsRequest(from_height=alert_height, owner=world.bob.address.hex()), timeout=60
    )
    head = next(iter(resumed))
    resumed.cancel()
    assert head.height == alert_height
    assert alert_attrs["alert_id"] in [
        {a.key: a.value for a in s.attributes}.get("alert_id") for s in head.signals if s.type == "alert"
    ]
    # another feeder's subscriber never sees feeder-1's DR event, replayed from before it
    other = gateway.Signals(gateway_pb2.SignalsRequest(from_height=world.start_height, feeder="feeder-2"), timeout=60)
    stop_at = dr[0] + 11
    replayed: list[gateway_pb2.Signal] = []
    for response in other:
        replayed.extend(response.signals)
        if response.height >= stop_at:
            break
    other.cancel()
    assert not [s for s in replayed if s.type == "dr_event"]
    assert any(s.type == "tariffs_set" for s in replayed)  # feeder-less price signals go to everyone


def test_market_not_found_and_invalid_argument(channel: grpc.Channel, world: World) -> None:
    market = market_api_pb2_grpc.MarketApiStub(channel)  # type: ignore[no-untyped-call]
    for call in (market.GetOrder, market.GetRule, market.GetAlert):
        assert status_of(call, reads_pb2.ByNumber(id=999_999)) is grpc.StatusCode.NOT_FOUND
        assert status_of(call, reads_pb2.ByNumber(id=0)) is grpc.StatusCode.INVALID_ARGUMENT
    assert (
        status_of(market.GetClearing, market_api_pb2.IntervalRequest(interval_start=INTERVAL))
        is grpc.StatusCode.NOT_FOUND
    )
    assert (
        status_of(
            market.GetStatement, market_api_pb2.StatementRequest(owner=world.bob.address, interval_start=INTERVAL)
        )
        is grpc.StatusCode.NOT_FOUND
    )
    for lister in (market.ListOrders, market.ListFills, market.ListRules, market.ListAlerts, market.ListStatements):
        assert status_of(lister, market_api_pb2.ByOwner(owner=b"\x01" * 19)) is grpc.StatusCode.INVALID_ARGUMENT
    assert (
        status_of(market.ListBook, market_api_pb2.BookRequest(page=reads_pb2.PageRequest(after="not-hex")))
        is grpc.StatusCode.INVALID_ARGUMENT
    )
