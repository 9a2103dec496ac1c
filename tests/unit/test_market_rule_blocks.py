"""The rules' pass over several blocks: at most `market.rules_per_block` standing rules,
community bids and batteries with rules place their orders for the upcoming interval a block
(a million of them would otherwise place in the block where the gate opens). A pass over
several blocks places the same orders as one block; a state exported half-way carries where
it resumes; a gate that closes before the pass is done leaves the rest unplaced, says so, and
the next interval's pass starts from the first rule."""

from __future__ import annotations

import copy
import json

import pytest

from abci_app.genesis import GenesisError, apply_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.market import keeper
from abci_app.market.domain import DOMAIN as MARKET
from abci_app.market.invariants import rules_pass_follows_mark
from abci_app.market.params import RULES_PER_BLOCK
from abci_app.market.placement import BATTERIES, RULES, RULES_MARK
from abci_app.market.records import RulesInPlacement
from abci_app.params import DOMAIN_PARAMS
from abci_app.registry import check_invariants
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, ValidatorUpdate
from clients import devices as dc
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.test_market import GATE, L, Market

Placed = tuple[int, int, bytes, int, int, str, str, int]


def _with_rules(consortium: Consortium, **params: int) -> tuple[Market, int]:
    """Three standing rules (bob's and carol's buys, alice's PV sell, which has no forecast
    and raises an alert) and alice's battery with its own rules (no state of charge yet: a
    buy of 1,000 Wh of room for site-a); the interval whose rules' turn is next."""
    m = Market(AppDriver(consortium, params=params), consortium)
    m.setup()
    m.add_battery()
    m.ok(m.alice, dc.battery_rules("bat-a", 20, 60, reserve_bp=2_000))
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=30, max_wh_per_interval=200))
    m.ok(m.carol, mc.rule("buy", site_id="site-c", limit_price=25, max_wh_per_interval=300))
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=5))
    return m, m.upcoming() + L


def _placed(m: Market, interval: int) -> list[Placed]:
    return [
        (o.order_id, o.side, bytes(o.owner), o.energy_wh, o.limit_price, o.site_id, o.device_id, o.rule_id)
        for o in keeper.iter_orders(m.d.app.state)
        if o.interval_start == interval
    ]


def _types(evs: list[tuple[str, dict[str, str]]]) -> list[str]:
    return [t for t, _a in evs if t in {"alert", "rules_unplaced"}]


def test_rules_place_over_several_blocks_as_in_one(consortium: Consortium) -> None:
    """One a block: bob's rule, carol's, alice's PV (its alert), then the battery's buy, over
    four blocks, and the pass ends in the fifth; the orders are the ones the default places in
    the gate-opening block, with the same ids (and their placement in the same order)."""
    one, iv = _with_rules(consortium)
    evs = one.until(iv - GATE - L)  # the rules' turn for iv
    assert _types(evs) == ["alert"]  # alice's PV rule: no forecast (rule orders raise no event)
    assert keeper.get_rules_in_placement(one.d.app.state) is None

    split, iv2 = _with_rules(consortium, **{RULES_PER_BLOCK: 1})
    assert iv2 == iv
    state = split.d.app.state
    seen = [_types(split.until(iv - GATE - L))]
    cursors = [keeper.get_rules_in_placement(state)]
    for _ in range(4):
        seen.append(_types(split.until(split.d.time + 5)))
        cursors.append(keeper.get_rules_in_placement(state))
    assert seen == [[], [], ["alert"], [], []]
    assert cursors == [
        RulesInPlacement(iv, RULES, 1),
        RulesInPlacement(iv, RULES, 2),
        RulesInPlacement(iv, RULES, 3),
        RulesInPlacement(iv, BATTERIES, 3, "bat-a"),
        None,
    ]
    expected = _placed(one, iv)
    assert len(expected) == 3
    assert _placed(split, iv) == expected
    assert check_invariants(state) == []


def test_a_state_exported_half_way_carries_where_the_pass_resumes(consortium: Consortium) -> None:
    """After the first block the export carries the pass (after rule 1 of the interval) and the
    import rebuilds the market's keys byte for byte; an import whose pass is not the rules
    mark's interval, or is in no stage, is refused."""
    m, iv = _with_rules(consortium, **{RULES_PER_BLOCK: 1})
    m.until(iv - GATE - L)
    exported, fresh = export_and_import(m.d.app.state)
    assert exported["market"]["rules_in_placement"] == {"intervalStart": str(iv), "afterRule": "1"}
    assert differences(MARKET, m.d.app.state, fresh) == []
    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(m.d.app.state)]
    for field, value, match in (
        ("intervalStart", str(iv + L), r"is not the counters' rules_interval"),
        ("stage", 7, r"stage 7 is not 0-2"),
    ):
        bad = copy.deepcopy(exported)
        bad["market"]["rules_in_placement"][field] = value
        with pytest.raises(GenesisError, match=r"^market\.rules_in_placement: .*" + match):
            apply_genesis(Branch(MemoryBackend()), BlockInfo("x", 1, 0), json.dumps(bad).encode(), validators)


def test_a_gate_that_closes_before_the_pass_ends_leaves_the_rest_unplaced(consortium: Consortium) -> None:
    """The chain's next block comes only when iv's gate has closed: iv is cleared with bob's
    order alone, `rules_unplaced` says the pass stopped after rule 1, and iv + L's pass starts
    from rule 1 (bob's order for iv + L)."""
    m, iv = _with_rules(consortium, **{RULES_PER_BLOCK: 1})
    m.until(iv - GATE - L)
    evs = m.until(iv - GATE)
    unplaced = [a for t, a in evs if t == "rules_unplaced"]
    assert unplaced == [{"interval": str(iv), "stage": "rules", "after_rule": "1", "after_device": ""}]
    assert [(p[2], p[7]) for p in _placed(m, iv)] == [(m.bob.address, 1)]
    assert [(p[2], p[7]) for p in _placed(m, iv + L)] == [(m.bob.address, 1)]
    assert keeper.get_rules_in_placement(m.d.app.state) == RulesInPlacement(iv + L, RULES, 1)
    assert check_invariants(m.d.app.state) == []


def test_the_invariant_catches_a_pass_out_of_step() -> None:
    """A pass for another interval than the rules mark's, or in no stage, breaks the invariant."""
    store = Branch(MemoryBackend())
    keeper.set_counter(store, RULES_MARK, 1_800)
    keeper.put_rules_in_placement(store, RulesInPlacement(1_800, RULES, 4))
    assert rules_pass_follows_mark(store) is None
    keeper.put_rules_in_placement(store, RulesInPlacement(900, RULES, 4))
    assert "interval 900 goes on while the rules mark is 1800" in str(rules_pass_follows_mark(store))
    keeper.put_rules_in_placement(store, RulesInPlacement(1_800, 3))
    assert "stage 3" in str(rules_pass_follows_mark(store))


def test_the_default_places_a_million_rules_while_the_gate_is_open() -> None:
    """A million rules place over 400 blocks at the default, inside the 600 s an interval is
    the upcoming one (15-minute intervals, a 5-minute gate closure) at a block a second."""
    spec = DOMAIN_PARAMS[RULES_PER_BLOCK]
    assert -(-1_000_000 // spec.default) <= 900 - 300
    assert (spec.default, spec.low, spec.high, spec.genesis_low) == (2_500, 100, 50_000, 1)
