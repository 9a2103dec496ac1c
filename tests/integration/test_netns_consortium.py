"""A consortium across hosts: five network namespaces on one switch, one org's node per host.

Four orgs' validators start from one genesis, each on its own host (namespace) and bound to
its host's address. Under a steady load of signed transfers the links are faulted for real —
a lossy, slow link; one host cut off at the switch (3 of 4 keep committing); two hosts
partitioned away (no 2/3: the chain halts, no height, no disagreement, and resumes when the
links heal). Then a fifth org is admitted by governance, its node on the fifth host joins by
state sync (timed against a fresh node joining by replay at the same height) and is voted in
as a validator. At the end every tx the load saw committed is in the chain on every node,
money is conserved and every node holds the same blocks and app hashes.

Skipped, with the reason, where the machine cannot make namespaces (not root, no iproute2).
Run alone: `flock /work/wt/heavy.lock python -m pytest -q -s tests/integration/test_netns_consortium.py`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2

from clients.ops.consortium import Consortium, demo_consortium
from clients.ops.localnet import SNAPSHOT_INTERVAL
from clients.pki import new_org_ca
from clients.rpc import RPCError
from tests.chaos.chain import ChainFollower, block_hashes
from tests.chaos.checks import app_hash_mismatch, final_chain_check, money_invariant
from tests.chaos.load import LoadGenerator
from tests.integration.support import (
    COMETBFT,
    Wallet,
    balance,
    log_tails,
    submit_proposal,
    vote_until_passed,
    wait_until,
)
from tests.support.netns import HostNet, Impairment, Sandbox, make_homes, skip_reason

pytestmark = [pytest.mark.integration, pytest.mark.timeout(480)]

ORGS = ("utility", "gridop", "certissuer", "community-a")  # one founding org per host 0..3
FOUNDERS = [0, 1, 2, 3]
INTERVAL = 20  # blocks between state sync snapshots
LOAD_SIGNERS = ("community-a/alice", "community-a/bob")


def four_orgs() -> Consortium:
    """The demo cast without community-b: four founding orgs."""
    c = demo_consortium()
    for table in (c.cas, c.names, c.capabilities):
        del table["community-b"]
    for ref in [r for r in c.members if r.startswith("community-b/")]:
        del c.members[ref]
        c.balances.pop(ref, None)
    return c


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Five hosts on one switch; deleted (and everything in them killed) also when the test fails."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    box = Sandbox.create(5)
    try:
        yield box
    finally:
        box.destroy()
    assert not box.leftovers(), f"namespaces left behind: {box.leftovers()}"


@pytest.fixture
def hostnet(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[HostNet]:
    net = make_homes(
        tmp_path_factory.mktemp("netns"),
        sandbox,
        n=len(ORGS),
        params={SNAPSHOT_INTERVAL: INTERVAL},
        cometbft=COMETBFT,
        timeout_commit="200ms",
        consortium=four_orgs(),
    )
    failed_before = request.session.testsfailed
    try:
        yield net
    finally:
        net.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n===== logs of the namespace net in {net.home} =====\n{log_tails(net.home)}")


def _heights(net: HostNet, nodes: list[int]) -> dict[int, int | None]:
    return {i: net.height(i) for i in nodes}


def _tip(net: HostNet, nodes: list[int]) -> int:
    return max(h for h in _heights(net, nodes).values() if h is not None)


def _level(net: HostNet, nodes: list[int], above: int) -> int | None:
    """The common tip once every node is above `above` and within one block of the highest."""
    hs = _heights(net, nodes)
    if any(h is None or h <= above for h in hs.values()):
        return None
    values = [h for h in hs.values() if h is not None]
    return max(values) if max(values) - min(values) <= 1 else None


def _join(net: HostNet, i: int, started: float) -> tuple[float, int]:
    """Seconds from `started` until node i is level with the founders, and its height then."""
    height = wait_until(
        lambda: _level(net, [*FOUNDERS, i], 0), timeout=180, what=f"node{i} to reach the tip", interval=0.1
    )
    return time.monotonic() - started, height


def test_consortium_across_namespaces_survives_link_faults_and_admits_an_org(
    hostnet: HostNet, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four hosts: 3 of 4 keep going, 2 of 4 halt and resume; a fifth org joins by state sync; nothing acked is lost."""
    net, box = hostnet, sandbox
    began = time.monotonic()
    figures: list[str] = [f"sandbox {box.subnet}: switch {box.switch}, netem in kernel: {box.netem}"]
    net.start()
    net.wait_height(2, timeout=90)
    for i in FOUNDERS:  # RPC and p2p bound to its host's address only, not to the host's loopback
        for port in (net.ports(i).rpc, net.ports(i).p2p):
            assert box.port_open(net.on(i), net.host(i), port)
            assert not box.port_open(net.on(i), "127.0.0.1", port)
    c = net.consortium()
    wallet = Wallet(net.chain_id)

    cut: set[int] = set()
    rpcs = {i: net.rpc(i, timeout=3.0) for i in FOUNDERS}
    signers = {ref: c.member(ref) for ref in LOAD_SIGNERS}

    def available() -> list[int]:
        return [i for i in FOUNDERS if i not in cut]

    load = LoadGenerator(
        chain_id=net.chain_id,
        signers=signers,
        recipients=[m.address for m in signers.values()],
        issuers=set(),
        rpcs=rpcs,
        available=available,
        start_nonces={},
        rate=8.0,
    )
    follower = ChainFollower(rpcs, load.on_committed, available)
    follower.start()
    load.start()
    try:
        # -- a lossy, slow link: everyone keeps committing ------------------------------------------
        h0 = _tip(net, FOUNDERS)
        impaired = time.monotonic()
        box.impair(box.hosts[1], Impairment(loss_pct=10, delay_ms=100))
        wait_until(lambda: _level(net, FOUNDERS, h0 + 5), timeout=90, what="progress over a lossy link")
        box.clear(box.hosts[1])
        figures.append(
            f"host 1's link lossy (10%) and slow: all 4 committed 5 more heights ({h0} -> {h0 + 5}+) in "
            f"{time.monotonic() - impaired:.1f} s"
        )

        # -- one host cut off at the switch: the other three keep committing --------------------------
        cut.add(3)
        box.cut(box.hosts[3])
        h1 = _tip(net, FOUNDERS)
        wait_until(lambda: _level(net, [0, 1, 2], h1 + 8), timeout=90, what="3 of 4 committing")
        behind = net.height(3)
        assert behind is not None
        assert behind <= h1 + 1, f"node3 committed while cut off: {behind} > {h1 + 1}"
        healed = time.monotonic()
        box.cut(box.hosts[3], False)
        cut.discard(3)
        wait_until(lambda: _level(net, FOUNDERS, h1 + 8), timeout=120, what="node3 back at the tip")
        figures.append(
            f"1 of 4 cut off: 3 kept committing ({h1} -> {h1 + 8}+); node3 back at the tip in "
            f"{time.monotonic() - healed:.1f} s after the link came up"
        )

        # -- two hosts partitioned away: no 2/3, the chain halts safely, then resumes -------------------
        for k in (2, 3):
            box.impair(box.hosts[k], Impairment(loss_pct=100))
            cut.add(k)

        def settled() -> dict[int, int | None] | None:
            before = _heights(net, FOUNDERS)
            time.sleep(3)
            return before if _heights(net, FOUNDERS) == before else None

        halted = wait_until(settled, timeout=40, what="the chain to stop at 2 of 4", interval=0)
        time.sleep(8)
        after = _heights(net, FOUNDERS)
        moved = {i: (halted[i], h) for i, h in after.items() if h is not None and h != halted[i]}
        assert not moved, f"heights committed without 2/3 (before, after): {moved}"
        top = min(h for h in halted.values() if h is not None)
        hashes = {i: net.rpc(i).app_hash_at(top).hex() for i in FOUNDERS}
        assert len(set(hashes.values())) == 1, f"app hashes differ at {top} during the partition: {hashes}"
        healed = time.monotonic()
        for k in (2, 3):
            box.clear(box.hosts[k])
            cut.discard(k)
        halt_height = max(h for h in halted.values() if h is not None)
        resumed = wait_until(lambda: _level(net, FOUNDERS, halt_height + 1), timeout=180, what="the chain to resume")
        tip_s = time.monotonic() - healed
        figures.append(
            f"2 of 4 partitioned: halted at {halted} for 8+ s; time to tip after the partition healed "
            f"{tip_s:.1f} s (all 4 at {resumed})"
        )

        # -- a fifth org, admitted by governance --------------------------------------------------------
        admins = [c.member(f"{org}/admin") for org in ORGS]
        newco = new_org_ca("newco")
        newco_admin = newco.issue("admin.newco", ["admin"])
        admit = governance_pb2.AdmitOrg(org_id="newco", name="New Co", root_ca_der=newco.cert_der)
        pid = submit_proposal(net, wallet, admins[0], "admit newco", nodes=FOUNDERS, admit_org=admit)
        vote_until_passed(net, wallet, admins, pid, needed=3, nodes=FOUNDERS)  # 4 orgs: 3 * yes > 2 * 4
        r = net.rpc(0).broadcast_commit(
            wallet.sign(newco_admin, identity_pb2.EnrollMember(certificate_der=newco_admin.cert_der))
        )
        assert r.code == 0, r.log

        # -- its node on host 4 joins by state sync; a fresh node there joins by replay -------------------
        wait_until(lambda: _tip(net, FOUNDERS) >= 3 * INTERVAL, timeout=120, what="three snapshot intervals")
        net.placement[4] = 4
        new = net.add_node()
        trust = net.configure_statesync(new, [0, 1])
        sync_from = _tip(net, FOUNDERS)
        started = time.monotonic()
        net.start_pair(new)
        sync_s, sync_at = _join(net, new, started)
        base = int(net.rpc(new).status()["sync_info"]["earliest_block_height"])
        assert base > 1, "node4 replayed from height 1 instead of restoring a snapshot"

        net.placement[5] = 4
        replayer = net.add_node()
        replay_from = _tip(net, FOUNDERS)
        started = time.monotonic()
        net.start_pair(replayer)
        replay_s, replay_at = _join(net, replayer, started)
        assert int(net.rpc(replayer).status()["sync_info"]["earliest_block_height"]) == 1
        net.stop_pair(replayer)
        figures.append(
            f"join by state sync at height {sync_from}: {sync_s:.1f} s (trusted height {trust}, "
            f"snapshot base {base}, reached {sync_at}); join by replay at height {replay_from}: "
            f"{replay_s:.1f} s (reached {replay_at})"
        )

        # -- ... and is voted in as a validator ----------------------------------------------------------
        nodes = [*FOUNDERS, new]
        power = int(net.rpc(0).validators()[0]["voting_power"])
        update = governance_pb2.UpdateValidator(pub_key_ed25519=net.validator_pub_key(new), power=power)
        pid2 = submit_proposal(net, wallet, newco_admin, "validator for newco", nodes=nodes, update_validator=update)
        vote_until_passed(net, wallet, [newco_admin, *admins], pid2, needed=4, nodes=nodes)  # 5 orgs: 3 * 4 > 10
        address = net.validator_address(new)

        def powered(i: int) -> bool:
            return any(
                v["address"].upper() == address and int(v["voting_power"]) == power for v in net.rpc(i).validators()
            )

        wait_until(lambda: powered(0) and powered(new), timeout=60, what="node4 in /validators with voting power")
        figures.append(f"node4 (newco, host {net.on(new).address}) is a validator with voting power {power}")
    finally:
        load.stop_submitting()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            r.committed_height is None and r.gave_up is None and r.accepted_by for r in load.snapshot()
        ):
            time.sleep(0.5)
        load.stop()
        follower.wait_height(_tip(net, FOUNDERS), timeout=30)
        follower.stop()

    # -- nothing acknowledged is lost; money conserved; every node holds the same chain --------------------
    nodes = [*FOUNDERS, new]
    top = wait_until(lambda: _level(net, nodes, 0), timeout=60, what="all five level")
    assert not follower.forks, follower.forks
    acknowledged = [r for r in load.snapshot() if r.committed_height is not None and r.committed_code == 0]
    assert len(acknowledged) > 50, f"the load got only {len(acknowledged)} txs committed"
    lost = 0
    for i in nodes:
        rpc = net.rpc(i)
        earliest = int(rpc.status()["sync_info"]["earliest_block_height"])
        for rec in acknowledged:
            if rec.committed_height is not None and rec.committed_height >= earliest:
                try:
                    found = rpc.tx(rec.hash)
                except RPCError:
                    found = None
                if found is None or int(found["height"]) != rec.committed_height:
                    lost += 1
    assert lost == 0, f"{lost} acknowledged txs missing on some node"

    check = final_chain_check({i: net.rpc(i) for i in FOUNDERS}, top - 1, reference=0)
    assert not check.problems, check.problems[:10]
    reference = block_hashes(net.rpc(0), base, top - 1)
    assert block_hashes(net.rpc(new), base, top - 1) == reference, "node4's blocks differ from node0's"
    mismatch, problem = app_hash_mismatch({i: net.rpc(i) for i in nodes}, new)
    assert not mismatch, problem
    accounts = [m.address for m in c.members.values()]
    genesis_total = sum(c.balances.values())
    for i in nodes:
        assert money_invariant(net.rpc(i), accounts) is None, f"node{i}: money invariant broken"
        assert sum(balance(net.rpc(i), a) for a in accounts) == genesis_total

    figures.append(
        f"load: {len(load.snapshot())} signed transfers sent, {len(acknowledged)} acknowledged "
        f"(seen committed), acknowledged txs lost: {lost}; final height {top}; "
        f"test took {time.monotonic() - began:.0f} s"
    )
    with capsys.disabled():
        print("\n" + "\n".join(f"netns consortium: {line}" for line in figures))
