"""The market's end-block hook: clear closed gates, turn rules into orders, settle.

Order within a block: (1) every interval whose gate has closed (start − gate closure ≤
block time) and still has open orders is cleared, oldest first; (2) when the upcoming
interval (the first whose gate is still open) is new, the rules' pass for it starts: every
standing rule places its order for it — after (1), so rules see the last clearing — then the
community bids and the batteries' own rules (batteries.py), at most
`market.rules_per_block` of them a block, the pass going on in the next blocks
(placement.py); (3) every interval whose end +
settlement grace ≤ block time and that has cleared orders or sites with recorded energy
(the devices domain's marks) is settled, oldest first, with at most
`market.settle_sites_per_block` sites settled outside the market in the block (an interval
with more goes on in the next blocks; later intervals wait) — for an interval already settled,
a late reading's mark corrects the positions settled on an estimate (settlement.py) and pays
the feed-in withheld for them (feed_in.py); (4) estimates and withheld feed-in whose correction
window has ended are final; (5) settled intervals' records past the retention leave live
state, provably (prune.py).
"""

from __future__ import annotations

from abci_app.devices import keeper as devices
from abci_app.keys import u64
from abci_app.market import keys, prune
from abci_app.market.close import close_interval
from abci_app.market.feed_in import finalise_withheld
from abci_app.market.keeper import book_intervals_due, settle_intervals_due
from abci_app.market.params import gate_closure, interval_length, next_open_interval, settlement_grace
from abci_app.market.placement import RULES_MARK, continue_pass, start_pass
from abci_app.market.settlement import SiteBudget, finalise_estimates, settle_interval
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["end_block"]


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Clear, place rule orders and settle as the block time says (see the module doc)."""
    now = block.time
    length = interval_length(store)
    gate = gate_closure(store)
    evs: list[Event] = []
    for interval in book_intervals_due(store, now + gate):
        evs.extend(close_interval(store, block, interval))
    upcoming = next_open_interval(now, length, gate)
    mark = store.get(keys.counter(RULES_MARK))
    if mark is None or int.from_bytes(mark, "big") < upcoming:
        store.set(keys.counter(RULES_MARK), u64(upcoming))
        evs.extend(start_pass(store, block, upcoming))
    else:
        evs.extend(continue_pass(store, block))
    if now >= length + settlement_grace(store):
        upto = now - length - settlement_grace(store)
        budget = SiteBudget(store)  # sites settled outside the market, shared by the intervals
        for interval in sorted(set(settle_intervals_due(store, upto)) | set(devices.energy_intervals(store, upto))):
            if budget.left < 1:
                break  # the rest settle in the next blocks, in order
            evs.extend(settle_interval(store, block, interval, budget))
    evs.extend(finalise_estimates(store, now))
    evs.extend(finalise_withheld(store, now))
    evs.extend(prune.end_block(store, block))
    return evs
