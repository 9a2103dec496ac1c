"""The versioned gRPC API (gridledger.api.v1) through the real bridge against a real chain:
typed reads, SubmitTx status codes, the gateway service (readings in, signals out) and the
real reading sink."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc, reads_pb2, reads_pb2_grpc, tx_pb2, tx_pb2_grpc
from gridledger.devices.v1 import devices_pb2
from gridwire.reading import Reading

from clients import devices as dc
from clients.ops.localnet import Localnet, free_base_port
from clients.pki import Identity
from clients.tx import sign_tx
from devices.keys import DeviceKey
from devices.sink import Outcome
from devices.sink_grpc import GrpcSink

pytestmark = pytest.mark.integration

PV_KEY = DeviceKey.generate()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localnet]:
    home = tmp_path_factory.mktemp("api") / "net"
    localnet = Localnet(home, n=1, base_port=free_base_port(1), timeout_commit="200ms")
    # The localnet's bridge runs without member authentication, so it holds no members' read grants and
    # a private node would refuse its reads of households' data; these tests are about the API's wiring,
    # so the node answers them plainly (--public-queries). Granted reads: tests/unit/test_read_grants_bridge.py.
    public = pytest.MonkeyPatch()
    public.setenv("GRIDLEDGER_PRIVATE_QUERIES", "0")
    localnet.init()
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


def nonce_of(channel: grpc.Channel, who: Identity) -> int:
    stub = reads_pb2_grpc.AccountsApiStub(channel)  # type: ignore[no-untyped-call]
    return int(stub.GetAccount(reads_pb2.ByAddress(address=who.address)).nonce)


def submit(channel: grpc.Channel, net: Localnet, who: Identity, *messages: Message) -> tx_pb2.SubmitTxResponse:
    """Sign `messages` as `who` with its next nonce and submit, waiting for the commit."""
    stub = tx_pb2_grpc.TxApiStub(channel)  # type: ignore[no-untyped-call]
    raw = sign_tx(who.key, net.chain_id, nonce_of(channel, who) + 1, list(messages))
    response: tx_pb2.SubmitTxResponse = stub.SubmitTx(tx_pb2.SubmitTxRequest(signed_tx=raw, wait_commit=True))
    return response


def code_of(err: grpc.RpcError) -> str:
    metadata = err.trailing_metadata() or ()
    return str(dict(metadata).get("gridledger-code", ""))


@pytest.fixture(scope="module")
def pv(net: Localnet, channel: grpc.Channel) -> str:
    """A PV device of alice's, relayed by community-a/gateway."""
    c = net.consortium()
    alice, gateway = c.member("community-a/alice"), c.member("community-a/gateway")
    done = submit(channel, net, alice, dc.register_site("site-a", "feeder-1", "nl"))
    assert done.height > 0
    submit(
        channel,
        net,
        alice,
        dc.register_device("pv-a", "site-a", "pv", PV_KEY.public_bytes, 5_000, gateway=gateway.address),
    )
    return "pv-a"


def test_typed_reads_answer_the_domain_records(net: Localnet, channel: grpc.Channel, pv: str) -> None:
    """Members, orgs, accounts and devices come back as the domains' own messages."""
    c = net.consortium()
    alice = c.member("community-a/alice")
    identity = reads_pb2_grpc.IdentityApiStub(channel)  # type: ignore[no-untyped-call]
    member = identity.GetMember(reads_pb2.ByAddress(address=alice.address))
    assert member.org_id == "community-a"
    members = identity.ListMembers(
        reads_pb2.ListMembersRequest(org_id="community-a", page=reads_pb2.PageRequest(limit=2))
    )
    assert len(members.members) == 2
    assert members.page.next
    rest = identity.ListMembers(
        reads_pb2.ListMembersRequest(org_id="community-a", page=reads_pb2.PageRequest(after=members.page.next))
    )
    assert {m.address for m in rest.members}.isdisjoint({m.address for m in members.members})
    assert identity.GetOrg(reads_pb2.ById(id="gridop")).org_id == "gridop"
    assert {o.org_id for o in identity.ListOrgs(reads_pb2.PageRequest()).orgs} >= {"community-a", "utility"}
    accounts = reads_pb2_grpc.AccountsApiStub(channel)  # type: ignore[no-untyped-call]
    assert accounts.GetAccount(reads_pb2.ByAddress(address=alice.address)).nonce >= 1
    governance = reads_pb2_grpc.GovernanceApiStub(channel)  # type: ignore[no-untyped-call]
    assert governance.GetParams(reads_pb2.Empty()).max_msgs_per_tx > 0
    assert len(governance.ListValidators(reads_pb2.Empty()).validators) == 1
    devices = reads_pb2_grpc.DevicesApiStub(channel)  # type: ignore[no-untyped-call]
    device = devices.GetDevice(reads_pb2.ById(id=pv))
    assert device.kind == devices_pb2.DEVICE_KIND_PV
    assert device.owner == alice.address
    assert devices.GetSite(reads_pb2.ById(id="site-a")).feeder == "feeder-1"
    assert [d.device_id for d in devices.ListDevices(reads_pb2.ListDevicesRequest(owner=alice.address)).devices] == [pv]
    assert [d.device_id for d in devices.ListDevices(reads_pb2.ListDevicesRequest(feeder="feeder-1")).devices] == [pv]


def test_reads_not_found_and_invalid_argument(channel: grpc.Channel) -> None:
    """An absent record is NOT_FOUND; a malformed request INVALID_ARGUMENT (before any query)."""
    devices = reads_pb2_grpc.DevicesApiStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.RpcError) as missing:
        devices.GetDevice(reads_pb2.ById(id="no-such-device"))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    for bad in (reads_pb2.ById(id=""), reads_pb2.ById(id="a/b"), reads_pb2.ById(id="x" * 65)):
        with pytest.raises(grpc.RpcError) as err:
            devices.GetDevice(bad)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    identity = reads_pb2_grpc.IdentityApiStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.RpcError) as short:
        identity.GetMember(reads_pb2.ByAddress(address=b"\x01\x02\x03"))
    assert short.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as unset:
        devices.ListDevices(reads_pb2.ListDevicesRequest())
    assert unset.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_submit_tx_status_codes(net: Localnet, channel: grpc.Channel) -> None:
    """A committed tx answers its events; a wrong role is PERMISSION_DENIED (code 14) and the
    ledger's log names the code; garbage is INVALID_ARGUMENT before any node is asked."""
    c = net.consortium()
    alice, carol, treasury = c.member("community-a/alice"), c.member("community-b/carol"), c.member("utility/treasury")
    done = submit(channel, net, treasury, accounts_pb2.Mint(to=alice.address, amount=500))
    assert done.height > 0
    assert any(e.type == "mint" for e in done.events)
    with pytest.raises(grpc.RpcError) as denied:
        submit(channel, net, alice, accounts_pb2.Mint(to=alice.address, amount=5))
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert denied.value.details().startswith("UNAUTHORIZED")
    assert code_of(denied.value) == "14"
    stub = tx_pb2_grpc.TxApiStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.RpcError) as garbage:
        stub.SubmitTx(tx_pb2.SubmitTxRequest(signed_tx=b"\xff\x00garbage", wait_commit=True))
    assert garbage.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as empty:
        stub.SubmitTx(tx_pb2.SubmitTxRequest())
    assert empty.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as poor:
        submit(channel, net, carol, accounts_pb2.Transfer(to=alice.address, amount=10**15))
    assert poor.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert poor.value.details().startswith("INSUFFICIENT_FUNDS")


def _readings(start: int, first_seq: int, n: int, base_wh: int = 0) -> list[Reading]:
    return [
        Reading("pv-a", first_seq + i, start + 60 * i, start + 60 * (i + 1), 0, base_wh + 10 * (i + 1))
        for i in range(n)
    ]


def test_submit_readings_through_the_real_sink(net: Localnet, channel: grpc.Channel, pv: str) -> None:
    """GrpcSink signs with the gateway key: readings are accepted, a resend is duplicate, a
    forged one is rejected with its code; the last reading is on chain."""
    c = net.consortium()
    gateway = c.member("community-a/gateway")
    # a reading starts at the device's registration or later (READING_BEFORE_REGISTRATION);
    # three minutes from there end within the ledger's future allowance (300 s)
    start = int(reads_pb2_grpc.DevicesApiStub(channel).GetDevice(reads_pb2.ById(id=pv)).registered_at)  # type: ignore[no-untyped-call]
    assert start > 0
    good = [PV_KEY.sign(net.chain_id, r) for r in _readings(start, 1, 3)]
    forged = DeviceKey.generate().sign(net.chain_id, _readings(start, 4, 4)[3])

    async def run() -> tuple[list[Outcome], list[Outcome], list[tuple[Outcome, int]]]:
        sink = GrpcSink(f"127.0.0.1:{net.ports(0).bridge}", net.chain_id, gateway.key)
        try:
            first = [r.outcome for r in await sink.submit(good)]
            again = [r.outcome for r in await sink.submit(good[1:])]
            bad = [(r.outcome, r.code) for r in await sink.submit([forged])]
        finally:
            await sink.close()
        return first, again, bad

    first, again, bad = asyncio.run(run())
    assert first == [Outcome.ACCEPTED] * 3
    assert again == [Outcome.DUPLICATE] * 2
    assert bad == [(Outcome.REJECTED, 101)]
    devices = reads_pb2_grpc.DevicesApiStub(channel)  # type: ignore[no-untyped-call]
    last = devices.GetLastReading(reads_pb2.ById(id=pv))
    assert (last.seq, last.export_wh) == (3, 30)


def test_submit_readings_refuses_other_txs_and_wrong_relays(net: Localnet, channel: grpc.Channel, pv: str) -> None:
    """A tx that is not only SubmitReadings is INVALID_ARGUMENT; readings relayed by a member who
    is neither the device's gateway nor its owner are rejected one by one (104)."""
    c = net.consortium()
    alice, carol = c.member("community-a/alice"), c.member("community-b/carol")
    stub = gateway_pb2_grpc.GatewayApiStub(channel)  # type: ignore[no-untyped-call]
    other = sign_tx(
        alice.key, net.chain_id, nonce_of(channel, alice) + 1, [accounts_pb2.Transfer(to=carol.address, amount=1)]
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.SubmitReadings(gateway_pb2.SubmitReadingsRequest(signed_tx=other))
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    reading = _readings(int(time.time()) // 60 * 60 - 600, 50, 1, 10_000)[0]
    msg = dc.submit_readings([dc.sign_reading(PV_KEY.private, net.chain_id, reading)])
    tx = sign_tx(carol.key, net.chain_id, nonce_of(channel, carol) + 1, [msg])
    answer = stub.SubmitReadings(gateway_pb2.SubmitReadingsRequest(signed_tx=tx))
    assert [(r.device_id, r.seq, r.outcome, r.code) for r in answer.results] == [
        ("pv-a", 50, gateway_pb2.READING_OUTCOME_REJECTED, 104)
    ]


def test_signals_stream_resumes_from_a_height_without_gaps(net: Localnet, channel: grpc.Channel) -> None:
    """From an old height the stream replays committed blocks (heartbeats every 10 blocks with
    no signals) and then goes on live; heights only increase and stay ≤ the chain's."""
    stub = gateway_pb2_grpc.GatewayApiStub(channel)  # type: ignore[no-untyped-call]
    head = net.rpc(0).height()
    call = stub.Signals(gateway_pb2.SignalsRequest(from_height=1), timeout=60)
    heights = []
    for response in call:
        heights.append(response.height)
        if response.height > head + 12:
            break
    call.cancel()
    assert heights == sorted(set(heights))
    assert heights[0] <= 11
    assert all(b - a <= 10 for a, b in itertools.pairwise(heights))
    assert heights[-1] > head  # live blocks arrived after the replay


def test_signals_validates_its_request(channel: grpc.Channel) -> None:
    """A malformed owner is INVALID_ARGUMENT."""
    stub = gateway_pb2_grpc.GatewayApiStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.RpcError) as err:
        next(iter(stub.Signals(gateway_pb2.SignalsRequest(owner="zz"), timeout=10)))
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
