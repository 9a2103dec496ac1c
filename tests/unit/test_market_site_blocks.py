"""Sites settled over several blocks: at most `market.settle_sites_per_block` sites' energy
outside the market a block (a million metered sites would otherwise settle in one block). An
interval whose sites take several blocks ends with the same statements and balances as one
settled in a single block; a late reading of a site already settled is not settled again; a
state exported half-way carries where the sites resume."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2 as mpb
from gridwire.reading import Reading

from abci_app.devices import keys as dkeys
from abci_app.market import keeper
from abci_app.market.domain import DOMAIN as MARKET
from abci_app.market.invariants import sites_in_settlement_follow_settlement
from abci_app.market.params import SETTLE_SITES
from abci_app.market.records import SitesInSettlement
from abci_app.market.settlement import RETAIL_MARK
from abci_app.params import DOMAIN_PARAMS
from abci_app.registry import check_invariants
from abci_app.store.backend import MemoryBackend, prefix_end
from abci_app.store.branch import Branch
from clients import devices as dc
from clients import market as mc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import balance, signed
from tests.unit.test_market import GATE, GRACE, L, Market, key

DAY = 86_400


def _before_deadline(consortium: Consortium, **params: int) -> tuple[Market, int]:
    """bob buys 400 Wh of alice's PV (site-b's import is his position, its export feed-in),
    carol only imports (retail); alice's site also has a meter, whose interval reading comes
    later. The market at the block before the interval's settlement deadline, and the interval."""
    m = Market(AppDriver(consortium, params=params), consortium)
    m.setup()
    m.ok(m.alice, dc.register_device("meter-a", "site-a", "meter", dc.device_public_key(key(9)), 20_000))
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv, 400, 10))
    m.order_id(m.bob, mc.buy("site-b", iv, 400, 30))
    m.until(iv - GATE)
    m.until(iv + L + 10)
    m.reading(m.bob, "meter-b", 2, iv - L, iv, 5_000, 1_000)
    m.reading(m.carol, "meter-c", 3, iv - L, iv, 7_000, 0)
    m.reading(m.alice, "meter-a", 9, iv, iv + 60, 100, 0)  # its first reading: the registers' baseline
    m.reading(m.alice, "pv-a", 1, iv - L, iv, 0, 1_000)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 1_400)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_450, 1_300)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 7_200, 0)
    return m, iv


def _day(consortium: Consortium, **params: int) -> tuple[Market, int, list[list[tuple[str, dict[str, str]]]]]:
    """`_before_deadline`, then the events of the settlement deadline's block, of the block of
    meter-a's late reading of the interval and of three more blocks."""
    m, iv = _before_deadline(consortium, **params)
    blocks = [m.until(iv + L + GRACE)]
    # late: site-a was settled in that block (this block's hook goes on with the next site)
    late = Reading("meter-a", m.seq["meter-a"] + 1, iv + 60, iv + L, 900, 0)
    result = m.d.block([signed(m.d, m.alice, dc.submit_readings([dc.sign_reading(key(9), m.d.chain_id, late)]))])
    assert [e.type for e in result.tx_results[0].events if e.type.startswith("reading_")] == ["reading_accepted"]
    blocks.append([(e.type, {a.key: a.value for a in e.attributes}) for e in result.response.events])
    blocks += [m.until(m.d.time + 10) for _ in range(3)]
    return m, iv, blocks


def _outcome(m: Market, iv: int) -> tuple[list[mpb.Statement], list[int]]:
    people: list[Identity] = [m.alice, m.bob, m.carol, m.supplier, m.operator]
    return [m.statement(who, iv) for who in (m.alice, m.bob, m.carol)], [balance(m.d, who) for who in people]


def _types(evs: list[tuple[str, dict[str, str]]]) -> list[str]:
    return [t for t, _a in evs if t in {"interval_settled", "sites_settled"}]


def test_sites_settle_over_several_blocks_as_in_one(consortium: Consortium) -> None:
    """With one site a block, site-a settles with the orders, site-b (its import is bob's buy
    position: no retail, feed-in for its export) next, site-c (retail) last; statements and
    balances end as when one block settles all three; meter-a's late import is not settled
    (site-a was), and its mark is dropped once the interval's sites are done."""
    whole, iv, whole_blocks = _day(consortium)
    assert [_types(b) for b in whole_blocks] == [["interval_settled"], [], [], [], []]
    split, iv2, blocks = _day(consortium, **{SETTLE_SITES: 1})
    assert iv2 == iv
    assert [_types(b) for b in blocks] == [["interval_settled"], ["sites_settled"], ["sites_settled"], [], []]
    assert [a for t, a in blocks[1] + blocks[2] if t == "sites_settled"] == [
        {"interval": str(iv), "sites": "1", "members": "1", "complete": "false"},
        {"interval": str(iv), "sites": "1", "members": "1", "complete": "true"},
    ]
    assert _outcome(split, iv) == _outcome(whole, iv)
    statements, _balances = _outcome(split, iv)
    alice, bob, carol = statements
    assert (bob.bought_wh, bob.imbalance_paid, bob.retail_wh, bob.feed_in_wh) == (400, 2, 0, 300)
    assert (carol.retail_wh, carol.retail_paid) == (200, 6)
    assert alice.retail_wh == 0  # meter-a's 800 Wh came after site-a settled
    state = split.d.app.state
    marks = dkeys.site_energy_prefix(iv)
    assert list(state.iter_range(marks, prefix_end(marks))) == []  # site-a's late mark was dropped
    assert keeper.get_sites_in_settlement(state, iv) is None
    assert list(keeper.iter_sites_in_settlement(state)) == []
    assert split.clearing(iv).settled  # its statements are final
    assert check_invariants(state) == []


def test_a_state_exported_half_way_carries_where_the_sites_resume(consortium: Consortium) -> None:
    """After the first of three blocks the interval's record says site-a was the last settled
    and site-b (bob's buy position) is still ahead; the export carries it and the import
    rebuilds the market's keys byte for byte."""
    m, iv = _before_deadline(consortium, **{SETTLE_SITES: 1})
    m.until(iv + L + GRACE)
    state = m.d.app.state
    assert keeper.get_sites_in_settlement(state, iv) == SitesInSettlement(iv, "site-a", ("site-b",), (), ())
    assert not m.clearing(iv).settled  # orders settled, statements not final yet
    exported, fresh = export_and_import(state)
    assert exported["market"]["sites_in_settlement"] == [
        {"intervalStart": str(iv), "afterSite": "site-a", "buySites": ["site-b"]}
    ]
    assert differences(MARKET, state, fresh) == []


def test_the_default_keeps_up_with_a_million_sites() -> None:
    """A million metered sites settle once an interval (about 1,111 a second); the default
    settles more than twice that a block, so an interval's sites are done within half the
    next interval at a block a second."""
    spec = DOMAIN_PARAMS[SETTLE_SITES]
    assert spec.default == 2_500 >= 2 * -(-1_000_000 * 96 // DAY)
    assert -(-1_000_000 // spec.default) <= 900 // 2
    assert (spec.low, spec.high, spec.genesis_low) == (100, 50_000, 1)


def test_the_invariant_catches_a_record_out_of_step() -> None:
    """A SitesInSettlement of an interval not settled yet, or keeping a special site that is
    not ahead of its cursor, breaks the market's invariant."""
    store = Branch(MemoryBackend())
    keeper.set_counter(store, RETAIL_MARK, 1_800)
    keeper.put_sites_in_settlement(store, SitesInSettlement(900, "site-b", ("site-c",), ("site-bb",), ()))
    assert sites_in_settlement_follow_settlement(store) is None
    keeper.put_sites_in_settlement(store, SitesInSettlement(2_700, "site-b", (), (), ()))
    assert "2700 settles its sites before its orders settled" in str(sites_in_settlement_follow_settlement(store))
    store = Branch(MemoryBackend())
    keeper.set_counter(store, RETAIL_MARK, 1_800)
    keeper.put_sites_in_settlement(store, SitesInSettlement(900, "site-b", ("site-a",), (), ()))
    assert "at or before its last site settled" in str(sites_in_settlement_follow_settlement(store))
