"""The market's governable parameters, and delivery-interval arithmetic on block time."""

from __future__ import annotations

from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.params import ParamSpec, domain_param
from abci_app.store.branch import KVReader

__all__ = [
    "COMMUNITY_MODE",
    "CORRECTION_WINDOW",
    "GATE_CLOSURE",
    "MAX_AHEAD_SECONDS",
    "MAX_OPEN_ORDERS",
    "MAX_PRICE_PARAM",
    "PARAMS",
    "PRUNE_PER_BLOCK",
    "RETENTION",
    "RULES_PER_BLOCK",
    "SETTLEMENT_GRACE",
    "SETTLE_SITES",
    "correction_window",
    "gate_closure",
    "interval_length",
    "max_open_orders",
    "max_price",
    "next_open_interval",
    "settlement_grace",
]

GATE_CLOSURE = "market.gate_closure_seconds"
SETTLEMENT_GRACE = "market.settlement_grace_seconds"
COMMUNITY_MODE = "market.community_mode"
MAX_OPEN_ORDERS = "market.max_open_orders_per_interval"
MAX_PRICE_PARAM = "market.max_price_per_kwh"
CORRECTION_WINDOW = "market.correction_window_seconds"
SETTLE_SITES = "market.settle_sites_per_block"
RULES_PER_BLOCK = "market.rules_per_block"
RETENTION = "market.retention_seconds"
PRUNE_PER_BLOCK = "market.prune_per_block"
MAX_AHEAD_SECONDS = 7 * 86_400  # orders for at most a week ahead
PARAMS = {
    # the book of an interval closes this long before the interval starts
    GATE_CLOSURE: ParamSpec(300, 0, 86_400),
    # settlement waits this long after the interval ends for late readings
    SETTLEMENT_GRACE: ParamSpec(900, 0, 7 * 86_400),
    # 1: at equal price, renewable supply on the buyer's feeder is matched first
    COMMUNITY_MODE: ParamSpec(0, 0, 1),
    # open orders one member may hold for one interval (its own and its rules' together), so
    # gate closure's work is bounded by members × this; a bench raises it in its genesis
    MAX_OPEN_ORDERS: ParamSpec(64, 1, 100_000),
    # the highest price per kWh any order, rule, battery rule or charging consent may name
    # (the upper bound is the messages' absolute bound, messages.MAX_PRICE)
    MAX_PRICE_PARAM: ParamSpec(100_000, 1, 1_000_000_000),
    # after settlement on an estimate (a meter or seller's device had not reported), late data
    # arriving this long after the settlement deadline (end + grace) still corrects it
    CORRECTION_WINDOW: ParamSpec(86_400, 0, 7 * 86_400),
    # sites whose energy outside the market (retail, feed-in) one block settles at most: an
    # interval of a million metered sites settles over several blocks (settlement.py), here 400,
    # within half an interval at a block a second (a million sites a 15-minute interval are about
    # 1,111 a second), each adding about 150 ms of hook work; a test's or a demonstration's
    # genesis may go down to 1
    SETTLE_SITES: ParamSpec(2_500, 100, 50_000, genesis_low=1),
    # standing rules, community bids and batteries with rules that place their orders for the
    # upcoming interval in one block at most: a million of them place over 400 blocks, within
    # the interval's open gate at a block a second (placement.py), each block adding about
    # 150 ms of hook work (a buy rule's order about 60 µs in process); a test's genesis may go
    # down to 1
    RULES_PER_BLOCK: ParamSpec(2_500, 100, 50_000, genesis_low=1),
    # a settled interval's records (its orders, fills, statements, clearing result, upstream trade,
    # grid instructions) and alerts leave live state this long after the interval's correction
    # window ends, provably (prune.py): 35 days keep a monthly bill's intervals live until it is
    # out, as the devices keep their interval energy; a million metered sites' statements are
    # about 0.3 TB at 35 days (make bench); a test's genesis may go down to 0
    RETENTION: ParamSpec(35 * 86_400, 86_400, 10 * 365 * 86_400, genesis_low=0),
    # rows pruning examines at most per block (prune.py): a million metered sites' statements of
    # an interval are about 1,111 a second, with room to catch up; a test's genesis may go down to 1
    PRUNE_PER_BLOCK: ParamSpec(5_000, 100, 100_000, genesis_low=1),
}


def interval_length(store: KVReader) -> int:
    """Delivery intervals are the devices' settlement intervals (so settlement reads their energy)."""
    return domain_param(store, SETTLEMENT_INTERVAL)


def gate_closure(store: KVReader) -> int:
    """Seconds before an interval starts at which its book closes (governed, 0..86,400)."""
    return domain_param(store, GATE_CLOSURE)


def max_open_orders(store: KVReader) -> int:
    """The open orders one member may hold for one interval, its rules' included (governed), which bounds
    gate closure's work."""
    return domain_param(store, MAX_OPEN_ORDERS)


def max_price(store: KVReader) -> int:
    """The market's price limit per kWh now (market.max_price_per_kwh)."""
    return domain_param(store, MAX_PRICE_PARAM)


def correction_window(store: KVReader) -> int:
    """Seconds after an interval's settlement deadline during which late data still corrects a settlement
    on an estimate (governed)."""
    return domain_param(store, CORRECTION_WINDOW)


def settlement_grace(store: KVReader) -> int:
    """Seconds settlement waits after an interval ends for late readings (governed)."""
    return domain_param(store, SETTLEMENT_GRACE)


def next_open_interval(now: int, length: int, gate: int) -> int:
    """The earliest aligned interval start whose gate closure is still after `now`."""
    return ((now + gate) // length + 1) * length
