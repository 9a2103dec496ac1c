"""Standing rules trade only for members who could place the order themselves: a revoked
member, one whose prosumer role was revoked, or whose org lost the prosumer capability gets
no order from its rules (nor from its community batteries); a `rule_skipped` event says why,
the rule is kept and trades again once the role or capability is back."""

from __future__ import annotations

from gridledger.governance.v1.governance_pb2 import SetOrgCapabilities
from gridledger.identity.v1 import identity_pb2
from gridledger.market.v1 import market_pb2 as mpb

from abci_app.market.params import COMMUNITY_MODE
from abci_app.market.rules import run_rules
from abci_app.params import set_domain_param
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import devices as dc
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import submit
from tests.unit.test_capabilities import _pass
from tests.unit.test_market import GATE, L, Market


def _bob_rule(m: Market) -> None:
    m.ok(m.bob, mc.rule("buy", limit_price=30, site_id="site-b", max_wh_per_interval=100))


def _turn(m: Market) -> tuple[int, list[tuple[str, dict[str, str]]]]:
    """Run the rules' turn for the next upcoming interval: (that interval, the block's events)."""
    iv = m.upcoming() + L
    return iv, m.until(iv - GATE - L)


def _buys(m: Market, iv: int) -> int:
    m.until(iv - GATE)
    resp = m.d.query(f"/clearing/{iv}")
    return mpb.ClearingResult.FromString(resp.value).buy_orders if resp.value else 0


def _skips(evs: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
    return [(a["rule_id"], a["reason"]) for t, a in evs if t == "rule_skipped"]


def test_a_revoked_members_rule_places_nothing(driver: AppDriver, consortium: Consortium) -> None:
    """bob's buy rule trades until community-a's admin revokes him; then rule_skipped/revoked."""
    m = Market(driver, consortium)
    m.setup()
    _bob_rule(m)
    iv, evs = _turn(m)
    assert _skips(evs) == []
    assert _buys(m, iv) == 1
    m.ok(consortium.member("community-a/admin"), identity_pb2.RevokeMember(member=m.bob.address, reason="moved"))
    iv, evs = _turn(m)
    assert _skips(evs) == [("1", "revoked")]
    assert _buys(m, iv) == 0


def test_a_withdrawn_role_or_capability_stops_the_rule_until_restored(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The prosumer role revoked: no_role; granted again: trades. community-a's prosumer
    capability withdrawn by governance: capability_withdrawn; restored: trades again."""
    m = Market(driver, consortium)
    m.setup()
    _bob_rule(m)
    admin = consortium.member("community-a/admin")
    m.ok(admin, identity_pb2.RevokeRole(member=m.bob.address, role="prosumer"))
    iv, evs = _turn(m)
    assert _skips(evs) == [("1", "no_role")]
    assert _buys(m, iv) == 0
    m.ok(admin, identity_pb2.GrantRole(member=m.bob.address, role="prosumer"))
    iv, evs = _turn(m)
    assert _skips(evs) == []
    assert _buys(m, iv) == 1
    caps = consortium.capabilities["community-a"]
    narrow = SetOrgCapabilities(org_id="community-a", capabilities=[c for c in caps if c != "prosumer"])
    _pass(driver, consortium, submit(set_org_capabilities=narrow))
    iv, evs = _turn(m)
    assert _skips(evs) == [("1", "capability_withdrawn")]
    assert _buys(m, iv) == 0
    _pass(driver, consortium, submit(set_org_capabilities=SetOrgCapabilities(org_id="community-a", capabilities=caps)))
    iv, evs = _turn(m)
    assert _skips(evs) == []
    assert _buys(m, iv) == 1


def test_a_revoked_members_community_battery_does_not_bid(driver: AppDriver, consortium: Consortium) -> None:
    """Community mode: alice's community battery bids while she may trade, not once revoked."""
    m = Market(driver, consortium)
    m.setup()
    m.add_battery()
    m.ok(m.alice, dc.battery_rules("bat-a", 25, 60, community=True))
    m.ok(consortium.member("community-a/admin"), identity_pb2.RevokeMember(member=m.alice.address, reason="moved"))
    interval = m.upcoming() + 2 * L
    store = Branch(driver.app.state)
    set_domain_param(store, COMMUNITY_MODE, 1)
    evs = run_rules(store, BlockInfo(driver.chain_id, 99, driver.time * 1_000_000_000), interval)
    assert not list(store.iter_range(b"\x41", b"\x42"))  # no bid in the book
    assert [(e.type, dict(e.attributes)) for e in evs] == [
        (
            "rule_skipped",
            {
                "rule_id": "0",
                "device": "bat-a",
                "owner": m.alice.address.hex(),
                "interval": str(interval),
                "reason": "revoked",
            },
        )
    ]
