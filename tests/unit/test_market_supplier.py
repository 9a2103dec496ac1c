"""The supplier of last resort pays feed-in and imbalance surplus, so only an eligible
member may be named (an active issuer of an org with the issuer capability); a supplier that
lost it since is charged nothing, and whatever a supplier does not pay shows on the member's
statement as `unreceived`."""

from __future__ import annotations

from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1.governance_pb2 import SetOrgCapabilities
from gridledger.grid.v1 import grid_pb2
from gridledger.identity.v1 import identity_pb2

from abci_app.grid.errors import GridCode
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import balance, submit
from tests.unit.test_capabilities import _pass
from tests.unit.test_market import GRACE, L, Market, _deliver, _trade
from tests.unit.test_market_retail import _baselines


def test_only_an_eligible_member_can_be_named_supplier(driver: AppDriver, consortium: Consortium) -> None:
    """A prosumer, the grid operator itself or a revoked issuer is SUPPLIER_NOT_ELIGIBLE; a
    non-member stays UNKNOWN_SUPPLIER; the utility's treasury (issuer) is accepted."""
    m = Market(driver, consortium)
    m.setup(tariffs=False)
    for who in (m.alice, m.operator, consortium.member("utility/ops")):
        assert m.code(m.operator, grid_pb2.SetTariffs(supplier=who.address)) == GridCode.SUPPLIER_NOT_ELIGIBLE
    assert m.code(m.operator, grid_pb2.SetTariffs(supplier=b"\x09" * 20)) == GridCode.UNKNOWN_SUPPLIER
    m.ok(m.operator, grid_pb2.SetTariffs(supplier=m.supplier.address, feed_in_per_kwh=5))
    m.ok(consortium.member("utility/admin"), identity_pb2.RevokeMember(member=m.supplier.address, reason="left"))
    assert m.code(m.operator, grid_pb2.SetTariffs(supplier=m.supplier.address)) == GridCode.SUPPLIER_NOT_ELIGIBLE


def _feed_in(m: Market) -> int:
    """bob exports 999 Wh outside the market (owed floor(999 × 5 / 1000) = 4) and carol
    imports 1001 Wh (pays 31); the interval is settled; returns it."""
    iv = m.upcoming()
    m.until(iv + L + 10)
    _baselines(m, iv)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_000, 1_999)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 8_001, 0)
    m.until(iv + L + GRACE)
    return iv


def test_a_revoked_supplier_is_charged_nothing_and_the_debt_is_recorded(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The treasury is revoked after the tariffs were set: bob's feed-in is not taken from it
    but recorded as unreceived; carol's retail payment still settles."""
    m = Market(driver, consortium)
    m.setup()
    m.ok(consortium.member("utility/admin"), identity_pb2.RevokeMember(member=m.supplier.address, reason="left"))
    before = {who: balance(driver, who) for who in (m.bob, m.supplier)}
    iv = _feed_in(m)
    b = m.statement(m.bob, iv)
    assert (b.feed_in_wh, b.feed_in_received, b.unreceived) == (999, 0, 4)
    assert balance(driver, m.bob) == before[m.bob]
    assert balance(driver, m.supplier) == before[m.supplier] + 31
    assert m.statement(m.carol, iv).retail_paid == 31


def test_a_supplier_whose_org_lost_the_issuer_capability_pays_nothing(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Governance withdraws the utility's issuer capability: the same as a revoked supplier."""
    m = Market(driver, consortium)
    m.setup()
    caps = [c for c in consortium.capabilities["utility"] if c != "issuer"]
    _pass(driver, consortium, submit(set_org_capabilities=SetOrgCapabilities(org_id="utility", capabilities=caps)))
    iv = _feed_in(m)
    b = m.statement(m.bob, iv)
    assert (b.feed_in_received, b.unreceived) == (0, 4)


def test_feed_in_the_supplier_cannot_cover_is_visible(driver: AppDriver, consortium: Consortium) -> None:
    """An eligible supplier with an empty account pays nothing: bob's statement shows the 4
    owed as unreceived (it was dropped silently before)."""
    m = Market(driver, consortium)
    m.setup()
    m.ok(m.supplier, accounts_pb2.Transfer(to=m.alice.address, amount=balance(driver, m.supplier)))
    iv = _feed_in(m)
    b = m.statement(m.bob, iv)
    assert (b.feed_in_received, b.unreceived) == (0, 4)
    # carol's 31 reached the supplier after bob's feed-in was due (sites in id order)
    assert balance(driver, m.supplier) == 31


def test_imbalance_surplus_of_a_revoked_supplier_is_unreceived(driver: AppDriver, consortium: Consortium) -> None:
    """alice sold 400 Wh and exported 1250: the 850 Wh surplus (× 2 ÷ 1000 = 1) is owed by the
    revoked supplier, recorded as unreceived, not taken from it."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    _trade(m, iv)
    m.ok(consortium.member("utility/admin"), identity_pb2.RevokeMember(member=m.supplier.address, reason="left"))
    before = balance(driver, m.supplier)
    m.until(iv + L + 10)
    _deliver(m, iv, 1_250, 400)
    m.until(iv + L + GRACE)
    a = m.statement(m.alice, iv)
    assert (a.sold_wh, a.delivered_wh, a.imbalance_received, a.unreceived) == (400, 1_250, 0, 1)
    assert balance(driver, m.supplier) == before
