"""A consortium across hosts: five network namespaces on one switch, one org's node per host.

Four orgs' validators start from one genesis, each on its own host (namespace) and bound to
its host's address. Under a steady load — signed transfers, and the chaos run's energy load:
two prosumers' gateway batches of device-signed readings of a certified PV and a meter, market
orders, rule updates and resends of accepted readings — the links are faulted for real: a
lossy, slow link; one host cut off at the switch (3 of 4 keep committing); two hosts isolated,
each alone; a 2|2 split at the switch ({host0, host1} | {host2, host3}: each half still reaches
itself, nothing crosses). In both of the last two no side has 2/3: the chain halts, no height,
no disagreement, and resumes when the links heal.
Then a fifth org is admitted by governance, its node on the fifth host joins by state sync
(timed against a fresh node joining by replay at the same height) and is voted in as a
validator. At the end every tx the load saw committed is in the chain exactly once on every
node, no reading is lost or doubled, certificates issued equal the PVs' exported energy,
money (members and the escrow accounts) is conserved and every node holds the same blocks
and app hashes. The genesis is the chaos run's energy genesis (short settlement intervals and
certificate periods, so certificates are issued during the test).

Skipped, with the reason, where the machine cannot make namespaces or filter the switch (not root, no
iproute2, no nftables bridge filtering).
Run alone: `flock /work/wt/heavy.lock python -m pytest -q -s tests/integration/test_netns_consortium.py`.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2

from abci_app.registry import TABLES
from clients.ops.consortium import Consortium, demo_consortium
from clients.ops.localnet import SNAPSHOT_INTERVAL
from clients.pki import new_org_ca
from clients.rpc import RPCError
from tests.chaos.chain import ChainFollower, block_hashes
from tests.chaos.checks import app_hash_mismatch, final_chain_check, money_invariant
from tests.chaos.energy import GENESIS_PARAMS, setup_energy
from tests.chaos.load import LoadGenerator, account_nonce
from tests.integration.support import (
    COMETBFT,
    Wallet,
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
LOAD_SIGNERS = ("community-a/alice", "community-a/bob")  # the prosumers: transfers and the energy load
HALVES = ([0, 1], [2, 3])  # the split: hosts (and founders) on each side
SEED = 18
HOLD_S = 8.0  # a halt is watched this long after the fault for a height committed without 2/3


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
        params={SNAPSHOT_INTERVAL: INTERVAL, **GENESIS_PARAMS},
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


def _settled(net: HostNet) -> dict[int, int | None] | None:
    """The founders' heights if none moved for 3 s, else None."""
    before = _heights(net, FOUNDERS)
    time.sleep(3)
    return before if _heights(net, FOUNDERS) == before else None


def _halt(
    net: HostNet, since: float, what: str, during: Callable[[], None] | None = None
) -> tuple[dict[int, int | None], float]:
    """Wait until the founders' heights stop, run `during`, hold until HOLD_S after `since`; assert that
    no founder committed meanwhile and all hold one app hash at the lowest halted height.
    Returns the halted heights and the seconds since `since`."""
    halted = wait_until(lambda: _settled(net), timeout=40, what=f"the chain to stop ({what})", interval=0)
    if during is not None:
        during()
    time.sleep(max(0.0, HOLD_S - (time.monotonic() - since)))
    after = _heights(net, FOUNDERS)
    moved = {i: (halted[i], h) for i, h in after.items() if h is not None and h != halted[i]}
    assert not moved, f"{what}: heights committed without 2/3 (before, after): {moved}"
    top = min(h for h in halted.values() if h is not None)
    hashes = {i: net.rpc(i).app_hash_at(top).hex() for i in FOUNDERS}
    assert len(set(hashes.values())) == 1, f"{what}: app hashes differ at {top}: {hashes}"
    return halted, time.monotonic() - since


def _resume(net: HostNet, halted: dict[int, int | None], healed: float) -> tuple[float, int]:
    """Seconds from `healed` until every founder is level above the halt, and that height."""
    halt_height = max(h for h in halted.values() if h is not None)
    resumed = wait_until(lambda: _level(net, FOUNDERS, halt_height + 1), timeout=180, what="the chain to resume")
    return time.monotonic() - healed, resumed


def _supply(net: HostNet, i: int) -> int:
    """minted − burned as node i's app answers /supply."""
    r = net.rpc(i).abci_query("/supply")
    assert int(r.get("code", 0)) == 0, f"/supply on node{i}: {r}"
    view = accounts_pb2.SupplyView.FromString(base64.b64decode(r.get("value") or ""))
    return int(view.minted - view.burned)


def test_consortium_across_namespaces_survives_link_faults_and_admits_an_org(
    hostnet: HostNet, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four hosts: 3 of 4 keep going, 2 isolated or a 2|2 split halt and resume; a fifth org joins by state
    sync; nothing acked is lost, no reading lost or doubled."""
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
    # the prosumers' sites, certified PVs and meters, tariffs, buy rules, the PVs' commissioning
    energy = setup_energy(net.rpc(0), net.chain_id, c.members, c.device_ca(), SEED, prosumers=LOAD_SIGNERS)

    def available() -> list[int]:
        return [i for i in FOUNDERS if i not in cut]

    load = LoadGenerator(
        chain_id=net.chain_id,
        signers=signers,
        recipients=[m.address for m in signers.values()],
        issuers=set(),
        rpcs=rpcs,
        available=available,
        start_nonces={ref: account_nonce(net.rpc(0), m.address) for ref, m in signers.items()},
        rate=8.0,
        seed=SEED,
        energy=energy.make,
    )
    follower = ChainFollower(rpcs, load.on_committed, available, on_block=energy.on_block)
    follower.start()
    load.start()
    try:
        try:
            # -- a lossy, slow link: everyone keeps committing --------------------------------------
            h0 = _tip(net, FOUNDERS)
            impaired = time.monotonic()
            box.impair(box.hosts[1], Impairment(loss_pct=10, delay_ms=100))
            wait_until(lambda: _level(net, FOUNDERS, h0 + 5), timeout=90, what="progress over a lossy link")
            box.clear(box.hosts[1])
            figures.append(
                f"host 1's link lossy (10%) and slow: all 4 committed 5 more heights ({h0} -> {h0 + 5}+) in "
                f"{time.monotonic() - impaired:.1f} s"
            )

            # -- one host cut off at the switch: the other three keep committing ----------------------
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

            # -- two hosts isolated, each alone (100% loss on its link): no 2/3; halts, then resumes ---
            isolated = time.monotonic()
            for k in (2, 3):
                box.impair(box.hosts[k], Impairment(loss_pct=100))
                cut.add(k)
            halted, halted_s = _halt(net, isolated, "2 of 4 isolated")
            healed = time.monotonic()
            for k in (2, 3):
                box.clear(box.hosts[k])
                cut.discard(k)
            tip_s, resumed = _resume(net, halted, healed)
            figures.append(
                f"2 of 4 isolated (each alone): halted at {halted} for {halted_s:.1f} s; time to tip after the "
                f"links healed {tip_s:.1f} s (all 4 at {resumed})"
            )

            # -- a 2|2 split at the switch: each half whole, none with 2/3; halts, then resumes -------
            # Every node still answers the load and the follower (they reach it inside its host).
            left, right = ([box.hosts[k] for k in half] for half in HALVES)
            split_at = time.monotonic()
            box.split(left, right)

            def reach(i: int, j: int) -> bool:  # node i's host opens a TCP connection to node j's p2p port
                return box.port_open(net.on(i), net.host(j), net.ports(j).p2p, timeout=0.5)

            inside = [(i, j) for half in HALVES for i in half for j in half if i != j]
            across = [(i, j) for i in FOUNDERS for j in FOUNDERS if (i in HALVES[0]) != (j in HALVES[0])]
            crossed: list[tuple[int, int]] = []

            def connectivity() -> None:
                wait_until(lambda: all(reach(i, j) for i, j in inside), timeout=20, what="each half to reach itself")
                crossed.extend((i, j) for i, j in across if reach(i, j))
                assert not crossed, f"connections crossed the split: {crossed}"

            halted, halted_s = _halt(net, split_at, "2|2 split", connectivity)
            healed = time.monotonic()
            box.heal()
            tip_s, resumed = _resume(net, halted, healed)
            figures.append(
                f"2|2 split {{0,1}}|{{2,3}} at the switch: halted at {halted} for {halted_s:.1f} s; inside each "
                f"half {len(inside)} of {len(inside)} p2p connections open, across {len(crossed)} of {len(across)}; "
                f"time to tip after the split healed {tip_s:.1f} s (all 4 at {resumed})"
            )

            # -- a fifth org, admitted by governance ----------------------------------------------------
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

            # -- its node on host 4 joins by state sync; a fresh node there joins by replay ---------------
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

            # -- ... and is voted in as a validator ------------------------------------------------------
            nodes = [*FOUNDERS, new]
            power = int(net.rpc(0).validators()[0]["voting_power"])
            update = governance_pb2.UpdateValidator(pub_key_ed25519=net.validator_pub_key(new), power=power)
            pid2 = submit_proposal(
                net, wallet, newco_admin, "validator for newco", nodes=nodes, update_validator=update
            )
            vote_until_passed(net, wallet, [newco_admin, *admins], pid2, needed=4, nodes=nodes)  # 5 orgs: 12 > 10
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

        # -- readings and certificates on a live node, against the blocks the follower saw ------------
        wait_until(lambda: _level(net, nodes, 0), timeout=60, what="all five level")
        assert follower.wait_height(_tip(net, FOUNDERS), timeout=60), "the chain follower fell behind"
        live_problems, readings_row, certificates_row = energy.check_live(net.rpc(0), lambda: follower.height)
    finally:
        follower.stop()
    assert not live_problems, live_problems[:10]
    assert energy.stats.verified_wh > 0, f"no finished certificate period was checked: {certificates_row}"

    # -- nothing acknowledged is lost or doubled; money conserved; every node holds the same chain ---------
    followed = follower.height
    top = wait_until(lambda: _level(net, nodes, followed), timeout=60, what=f"all five above {followed}")
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
    in_chain = Counter(h for block in check.blocks.values() for h in block.tx_hashes())
    twice = [r.hash for r in load.snapshot() if in_chain[r.hash] > 1]
    assert not twice, f"{len(twice)} of the load's txs are in the chain more than once: {twice[:5]}"
    missing = [r.hash for r in acknowledged if in_chain[r.hash] != 1]
    assert not missing, f"{len(missing)} acknowledged txs not in node0's chain exactly once: {missing[:5]}"
    reading_problems = energy.check_final(check.blocks, load.snapshot())
    assert not reading_problems, reading_problems[:10]
    stats = energy.stats
    assert stats.readings_accepted > 0, "no reading was accepted"
    assert not stats.lost, f"readings lost: {stats.lost[:5]}"
    assert not stats.doubled, f"readings doubled: {stats.doubled[:5]}"
    reference = block_hashes(net.rpc(0), base, top - 1)
    assert block_hashes(net.rpc(new), base, top - 1) == reference, "node4's blocks differ from node0's"
    mismatch, problem = app_hash_mismatch({i: net.rpc(i) for i in nodes}, new)
    assert not mismatch, problem
    # money: every member's balance and the market's and other domains' escrow (module) accounts
    accounts = [m.address for m in c.members.values()] + sorted(TABLES.module_accounts)
    genesis_total = sum(c.balances.values())
    for i in nodes:
        assert money_invariant(net.rpc(i), accounts) is None, f"node{i}: money invariant broken"
        assert _supply(net, i) == genesis_total, f"node{i}: money was minted or burned"

    kinds = Counter(r.kind for r in acknowledged)
    figures.append(
        f"load: {len(load.snapshot())} signed txs sent, {len(acknowledged)} acknowledged (seen committed, "
        f"{', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), acknowledged txs lost: {lost}, "
        f"in the chain twice: {len(twice)}; final height {top}; test took {time.monotonic() - began:.0f} s"
    )
    figures.append(
        f"readings: {stats.readings_signed} device-signed, {stats.readings_accepted} accepted, "
        f"lost {len(stats.lost)}, doubled {len(stats.doubled)}; {stats.resends_duplicate} of "
        f"{stats.resends_committed} committed resends answered reading_duplicate; rejected "
        f"{dict(stats.readings_rejected) or 0}; live check on node0: {readings_row}; "
        f"certificates: {stats.bundles} bundles, {certificates_row}; intervals cleared {stats.cleared}, "
        f"settled {stats.settled}"
    )
    with capsys.disabled():
        print("\n" + "\n".join(f"netns consortium: {line}" for line in figures))
