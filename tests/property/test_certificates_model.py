"""Stateful property test: certificate transfers, retirements and deliveries against a plain
model of Wh per (owner, status), with the hourly matching share against the model's."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from abci_app.certificates.dvp import deliver
from abci_app.certificates.errors import CertificatesCode
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import certificates as cc
from clients.ops.consortium import demo_consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import signed
from tests.unit.test_certificates_support import H0, events_of, setup_devices, submit

CONSORTIUM = demo_consortium()
MEMBERS = ["community-a/alice", "community-a/bob", "community-b/carol"]
HOUR = 3600
ISSUED = 3000
CONSUMPTION = 2000  # alice's metered import in hour H0

member_st = st.sampled_from(MEMBERS)
wh_st = st.one_of(st.integers(1, 40), st.integers(1, ISSUED + 10))


class CertificatesModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.driver = AppDriver(CONSORTIUM)
        setup_devices(self.driver, CONSORTIUM)
        alice = CONSORTIUM.member("community-a/alice")
        self.driver.block([], seconds=HOUR + 100)
        submit(
            self.driver, alice, 1,
            Reading("pv-1", 1, H0 - 60, H0, 0, 0),
            Reading("pv-1", 2, H0, H0 + HOUR, 0, ISSUED),
            Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 60, 0, ISSUED),
        )  # fmt: skip
        submit(self.driver, alice, 3, Reading("m-1", 1, H0 - 60, H0, 0, 0), Reading("m-1", 2, H0, H0 + HOUR, 2000, 0))
        self.model: dict[tuple[str, int], int] = {("community-a/alice", pb.BUNDLE_STATUS_ACTIVE): ISSUED}
        self.claimed: dict[str, int] = {}

    def addr(self, ref: str) -> bytes:
        return CONSORTIUM.member(ref).address

    def app_bundles(self) -> list[pb.Bundle]:
        return list(pb.BundleList.FromString(self.driver.query("/bundles/device/pv-1").value).bundles)

    def first_active(self, ref: str) -> pb.Bundle | None:
        mine = [b for b in self.app_bundles() if b.owner == self.addr(ref) and b.status == pb.BUNDLE_STATUS_ACTIVE]
        return min(mine, key=lambda b: b.bundle_id) if mine else None

    def move(self, ref: str, to: str, wh: int, status: int = pb.BUNDLE_STATUS_ACTIVE) -> None:
        self.model[(ref, pb.BUNDLE_STATUS_ACTIVE)] -= wh
        self.model[(to, status)] = self.model.get((to, status), 0) + wh

    @rule(sender=member_st, recipient=member_st, wh=wh_st)
    def transfer(self, sender: str, recipient: str, wh: int) -> None:
        b = self.first_active(sender)
        if b is None:
            return
        raw = signed(self.driver, CONSORTIUM.member(sender), cc.transfer(b.bundle_id, wh, self.addr(recipient)))
        code = events_of(self.driver, raw)[0]
        if wh > b.end_wh - b.start_wh:
            assert code == CertificatesCode.VOLUME_EXCEEDED
        else:
            assert code == 0
            self.move(sender, recipient, wh)

    @rule(owner=member_st, beneficiary=member_st, wh=wh_st)
    def retire(self, owner: str, beneficiary: str, wh: int) -> None:
        b = self.first_active(owner)
        if b is None:
            return
        msg = cc.retire(b.bundle_id, wh, self.addr(beneficiary), (H0, H0 + HOUR))
        code = events_of(self.driver, signed(self.driver, CONSORTIUM.member(owner), msg))[0]
        if wh > b.end_wh - b.start_wh:
            assert code == CertificatesCode.VOLUME_EXCEEDED
        else:
            assert code == 0
            self.move(owner, owner, wh, pb.BUNDLE_STATUS_RETIRED)
            self.claimed[beneficiary] = self.claimed.get(beneficiary, 0) + wh

    @rule(seller=member_st, buyer=member_st, wh=wh_st)
    def dvp(self, seller: str, buyer: str, wh: int) -> None:
        block = BlockInfo(self.driver.chain_id, self.driver.height, self.driver.time * 1_000_000_000)
        branch = Branch(self.driver.app.state)
        have = self.model.get((seller, pb.BUNDLE_STATUS_ACTIVE), 0)
        moved = deliver(branch, self.addr(seller), self.addr(buyer), H0, wh, block)
        assert moved == min(wh, have)  # the branch is discarded: a settlement that failed

    @invariant()
    def volumes_match_the_model(self) -> None:
        got: dict[tuple[str, int], int] = {}
        by_addr = {self.addr(ref): ref for ref in MEMBERS}
        for b in self.app_bundles():
            key = (by_addr[b.owner], b.status)
            got[key] = got.get(key, 0) + b.end_wh - b.start_wh
        assert got == {k: v for k, v in self.model.items() if v}
        assert sum(got.values()) == ISSUED

    @invariant()
    def matching_share_is_the_models(self) -> None:
        m = pb.Matching.FromString(self.driver.query(f"/matching/{self.addr(MEMBERS[0]).hex()}/{H0}").value)
        claimed = self.claimed.get(MEMBERS[0], 0)
        assert m.consumption_wh == CONSUMPTION
        assert 0 <= m.covered_bp <= 10_000
        assert m.covered_bp == min(claimed, CONSUMPTION) * 10_000 // CONSUMPTION


TestCertificatesModel = CertificatesModel.TestCase
TestCertificatesModel.settings = settings(
    max_examples=40, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
