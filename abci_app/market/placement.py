"""The rules' pass: standing rules, community bids and batteries' rules place their orders for
the upcoming interval, at most `market.rules_per_block` of them a block.

A utility's members hold a rule or a battery each, a million of them; placing every order in
the block where the interval's gate opens would make that block tens of seconds long. So when
the upcoming interval changes (hooks.py, after the closed gates were cleared), a pass starts
for it and goes on in the next blocks, in three stages, each in key order:

1. the standing rules, in rule-id order (rules.place_rule);
2. in community mode, the community batteries' bids, in device order (rules.community_bid);
3. the batteries with rules, in device order (batteries.battery_order).

Each rule, bid or battery met counts one against the block's budget, whether it places an
order, is skipped (a `rule_skipped` event) or has nothing to offer. Where the pass resumes
is one RulesInPlacement record (exported with the state); it is deleted when the last stage
is done. Rules set during the pass with a higher id are met in it; a rule met before it was
changed places nothing more for the interval (its last_interval says so).

The default (2,500) places a million rules over 400 blocks, inside the 10 minutes an
interval's gate is the upcoming one at 15-minute intervals and a block a second. If the gate
closes before the pass is done (a chain with slower blocks, or far more rules), the interval is
cleared with what was placed, a `rules_unplaced` event names where the pass stopped, and the
next interval's pass starts from the first rule: nothing is placed for a closed gate.
"""

from __future__ import annotations

from itertools import islice

from abci_app.devices import keeper as devices
from abci_app.market import events, keeper
from abci_app.market.batteries import battery_order, battery_rules
from abci_app.market.params import COMMUNITY_MODE, RULES_PER_BLOCK, interval_length, max_price
from abci_app.market.records import PLACEMENT_STAGES, RulesInPlacement
from abci_app.market.rules import community_bid, place_rule
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["BATTERIES", "COMMUNITY", "RULES", "RULES_MARK", "continue_pass", "start_pass"]

RULES_MARK = "rules_interval"  # market counter: the interval whose rules' pass has started (hooks.py)

RULES, COMMUNITY, BATTERIES = range(len(PLACEMENT_STAGES))


def start_pass(store: Branch, block: BlockInfo, interval: int) -> list[Event]:
    """Start the rules' pass for `interval` (the new upcoming one) and run its first block's
    share; a pass still going on for an earlier interval, whose gate has closed, ends with a
    `rules_unplaced` event."""
    evs: list[Event] = []
    left = keeper.get_rules_in_placement(store)
    if left is not None:
        evs.append(
            Event.of(
                events.RULES_UNPLACED,
                interval=left.interval_start,
                stage=PLACEMENT_STAGES[left.stage] if 0 <= left.stage < len(PLACEMENT_STAGES) else str(left.stage),
                after_rule=left.after_rule,
                after_device=left.after_device,
            )
        )
    return evs + _run(store, block, RulesInPlacement(interval, RULES))


def continue_pass(store: Branch, block: BlockInfo) -> list[Event]:
    """The next block's share of a pass going on (none: nothing)."""
    cursor = keeper.get_rules_in_placement(store)
    return [] if cursor is None else _run(store, block, cursor)


def _run(store: Branch, block: BlockInfo, cursor: RulesInPlacement) -> list[Event]:
    """Meet at most the block's budget of rules, bids and batteries from `cursor` on, then
    store where the pass resumes, or delete it when the last stage is done."""
    interval, stage = cursor.interval_start, cursor.stage
    after_rule, after_device = cursor.after_rule, cursor.after_device
    budget = domain_param(store, RULES_PER_BLOCK)
    # read once a block: governance changes parameters in txs, never during the hook
    length, limit = interval_length(store), max_price(store)
    community = domain_param(store, COMMUNITY_MODE) == 1
    evs: list[Event] = []
    while budget > 0 and stage <= BATTERIES:
        met = 0
        if stage == RULES:
            for rule in list(islice(keeper.iter_rules(store, after_rule), budget)):
                evs.extend(place_rule(store, block, rule, interval, length, limit))
                after_rule = rule.rule_id
                met += 1
        elif stage == COMMUNITY:
            if community:
                for device_id in list(islice(devices.iter_community_batteries(store, after_device), budget)):
                    evs.extend(community_bid(store, block, device_id, interval, length, limit))
                    after_device = device_id
                    met += 1
        else:
            for device_id, rules in list(islice(battery_rules(store, after_device), budget)):
                evs.extend(
                    battery_order(
                        store, block, device_id, rules, interval, length, limit=limit, community_mode=community
                    )
                )
                after_device = device_id
                met += 1
        budget -= met
        if budget > 0:  # the stage has no more: the next one, from its first
            stage += 1
            after_device = ""
    if stage > BATTERIES:
        keeper.delete_rules_in_placement(store)
    else:
        keeper.put_rules_in_placement(store, RulesInPlacement(interval, stage, after_rule, after_device))
    return evs
