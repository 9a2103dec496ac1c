"""A governed software upgrade on the 4-validator localnet: a proposal plans it, every node's old
app stops at the height, the upgrade switch starts the new version, which migrates the stored
proposals at that height; app hashes agree before and after, old data reads, blocks go on."""

from __future__ import annotations

import base64
import time

import pytest
from gridledger.governance.v1 import governance_pb2
from gridwire.contract.governance import EXIT_UPGRADE_NEEDED, Paths

from abci_app.governance.upgrades import PROPOSAL_KINDS
from clients.node import upgrade_switch
from clients.ops.localnet import Localnet
from clients.rpc import CometRPC
from tests.integration.conftest import NetFactory
from tests.integration.support import Wallet, assert_same_app_hashes, max_height, wait_until

pytestmark = pytest.mark.integration

ADMINS = ("utility/admin", "gridop/admin", "certissuer/admin", "community-a/admin")  # 4 of 5 orgs pass


def _proposal(rpc: CometRPC, pid: int) -> governance_pb2.Proposal:
    r = rpc.abci_query(Paths.PROPOSAL(pid))
    assert int(r.get("code", 0)) == 0, r
    return governance_pb2.Proposal.FromString(base64.b64decode(r["value"]))


def _submit(net: Localnet, wallet: Wallet, title: str, **action: object) -> int:
    sp = governance_pb2.SubmitProposal(title=title, **action)  # type: ignore[arg-type]
    r = net.rpc(0).broadcast_commit(wallet.sign(net.consortium().member(ADMINS[0]), sp))
    assert r.code == 0, r.log
    found = net.rpc(0).wait_tx(r.hash)
    (event,) = [e for e in found["tx_result"]["events"] if e["type"] == "proposal_submitted"]
    return int({a["key"]: a["value"] for a in event["attributes"]}["proposal_id"])


def _applied(rpc: CometRPC) -> list[tuple[str, int]]:
    r = rpc.abci_query(Paths.APPLIED_UPGRADES())
    assert int(r.get("code", 0)) == 0, r
    listed = governance_pb2.AppliedUpgradeList.FromString(base64.b64decode(r.get("value") or ""))
    return [(u.name, u.height) for u in listed.upgrades]


def test_a_governed_upgrade_takes_over_on_every_node(localnet_factory: NetFactory) -> None:
    """Plan passes, all four old apps exit with EXIT_UPGRADE_NEEDED at the height having committed
    only the block before, the switch restarts them as the new version, which migrates at the height."""
    net = localnet_factory("upgrade", n=4)
    c = net.consortium()
    wallet = Wallet(net.chain_id)
    rpc = net.rpc(0)
    height = max_height(net, range(net.n)) + 30
    plan = governance_pb2.ScheduleUpgrade(name=PROPOSAL_KINDS, height=height, info="gridledger 0.2.0")
    pid = _submit(net, wallet, "upgrade to 0.2.0", schedule_upgrade=plan)
    for ref in ADMINS:
        r = rpc.broadcast_commit(wallet.sign(c.member(ref), governance_pb2.Vote(proposal_id=pid, approve=True)))
        assert r.code == 0, r.log
    before = _proposal(rpc, pid)
    assert before.status == governance_pb2.PROPOSAL_STATUS_PASSED, before.result
    assert before.action_kind == ""
    planned = rpc.abci_query(Paths.UPGRADE_PLAN())
    assert governance_pb2.UpgradePlan.FromString(base64.b64decode(planned["value"])).height == height
    assert rpc.height() < height - 3, "the vote took too long for the planned height"
    # the operators install the new version on every node ahead of the height
    for i in range(net.n):
        upgrade_switch.prepare(net.app_home(i), PROPOSAL_KINDS)

    # the supervisor's loop: each pair that went down is revived through the upgrade switch
    exits: dict[int, list[int | None]] = {i: [] for i in range(net.n)}
    deadline = time.monotonic() + 120
    while not all(upgrade_switch.active_upgrades(net.app_home(i)) for i in range(net.n)):
        assert time.monotonic() < deadline, f"not every node switched to the new version: {exits}"
        for i in range(net.n):
            if not net.pair_alive(i):
                app = net.apps.get(i)
                exits[i].append(app.poll() if app is not None else None)
                net.revive(i)
        time.sleep(0.2)
    for i in range(net.n):
        assert EXIT_UPGRADE_NEEDED in exits[i], exits
        text = net.log_path(i, "app").read_text()
        assert f"UPGRADE NEEDED {PROPOSAL_KINDS} at height {height} (gridledger 0.2.0)" in text
        assert '"upgrades_implemented"' in text

    net.wait_height(height + 5, timeout=90)
    # one history on every node: the old version's blocks, the migration at the height, the new blocks
    assert_same_app_hashes(net, range(net.n), height + 5)
    for i in range(net.n):
        assert _applied(net.rpc(i)) == [(PROPOSAL_KINDS, height)]
        after = _proposal(net.rpc(i), pid)
        assert after.action_kind == "schedule_upgrade"
        after.ClearField("action_kind")
        assert after == before  # the old record reads as it did, plus its kind
    # blocks go on with txs: a proposal submitted after the upgrade is stored in the new layout
    keep = governance_pb2.ChangeParam(name="governance.snapshot_keep_recent", value=3)
    later = _submit(net, wallet, "keep three snapshots", change_param=keep)
    assert _proposal(rpc, later).action_kind == "change_param"
    top = max_height(net, range(net.n))
    wait_until(lambda: min(net.height(i) or 0 for i in range(net.n)) >= top + 1, timeout=30, what="blocks after")
    assert_same_app_hashes(net, range(net.n), top + 1)
