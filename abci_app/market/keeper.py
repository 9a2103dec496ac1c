"""Reads and writes of the market's collections (indexes kept in step).

The book of an interval holds one packed entry per open order (side, limit, energy,
renewable flag, feeder), so clearing reads what it needs without decoding orders.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence

from abci_app.keys import u64
from abci_app.market import keys
from abci_app.market.clearing import BookEntry
from abci_app.market.records import (
    OPEN,
    Alert,
    ChargingConsent,
    ClearingResult,
    Fill,
    GridInstruction,
    Order,
    Rule,
    RulesInPlacement,
    SettlementEstimate,
    SitesInSettlement,
    Statement,
    UpstreamTrade,
    WithheldFeedIn,
)
from abci_app.market.settle_due import Due, SettleDueBuilder
from abci_app.market.settle_due import decode as decode_due
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.store.scan import distinct_times
from abci_app.types import Address

__all__ = [
    "ESCROW_ADDRESS",
    "add_committed",
    "add_open_count",
    "book_intervals_due",
    "clear_open_counts",
    "delete_consent",
    "delete_estimate",
    "delete_rule",
    "delete_rules_in_placement",
    "delete_sites_in_settlement",
    "delete_withheld_feed_in",
    "estimates_before",
    "free_committed",
    "get_alert",
    "get_clearing",
    "get_committed",
    "get_consent",
    "get_instruction",
    "get_open_count",
    "get_order",
    "get_rule",
    "get_rules_in_placement",
    "get_sites_in_settlement",
    "get_statement",
    "get_upstream",
    "get_withheld_feed_in",
    "has_settle_due",
    "index_statement",
    "iter_alerts",
    "iter_all_fills",
    "iter_book_copies",
    "iter_book_orders",
    "iter_clearings",
    "iter_consents",
    "iter_counters",
    "iter_estimates",
    "iter_fills",
    "iter_instructions",
    "iter_orders",
    "iter_owner_rules",
    "iter_rules",
    "iter_settle_due",
    "iter_settle_records",
    "iter_sites_in_settlement",
    "iter_statement_index",
    "iter_statements",
    "iter_upstream",
    "iter_withheld_feed_in",
    "next_id",
    "peek_counter",
    "put_alert",
    "put_cleared",
    "put_clearing",
    "put_consent",
    "put_estimate",
    "put_fill",
    "put_instruction",
    "put_order",
    "put_rule",
    "put_rules_in_placement",
    "put_settle_due",
    "put_settled",
    "put_sites_in_settlement",
    "put_statement",
    "put_upstream",
    "put_withheld_feed_in",
    "read_book",
    "remove_book",
    "remove_from_book",
    "set_counter",
    "settle_intervals_due",
    "take_settle_due",
    "target_estimates",
    "withheld_feed_in_before",
]

# The market's escrow account: a module address no key can sign for, so escrowed money
# stays inside Σ balances and the accounts' conservation invariant holds unchanged.
ESCROW_ADDRESS = Address(hashlib.sha256(b"market/escrow").digest()[:20])
# a book entry: side, limit, Wh, renewable, feeder length (then the feeder, then the order's bytes)
_ENTRY = struct.Struct(">BQQBH")


def next_id(store: Branch, name: str) -> int:
    """The next id of the `name` sequence (1, 2, …)."""
    raw = store.get(keys.counter(name))
    n = (0 if raw is None else int.from_bytes(raw, "big")) + 1
    store.set(keys.counter(name), u64(n))
    return n


def iter_counters(store: KVReader) -> Iterator[tuple[str, int]]:
    """(name, last value) of every sequence and mark kept under COUNTER, in key order."""
    for k, v in store.iter_range(keys.COUNTER, prefix_end(keys.COUNTER)):
        yield k[2 : 2 + k[1]].decode(), int.from_bytes(v, "big")


def peek_counter(store: KVReader, name: str) -> int:
    """The named counter's value (an id sequence's last id, a cursor), 0 when not set."""
    raw = store.get(keys.counter(name))
    return 0 if raw is None else int.from_bytes(raw, "big")


def set_counter(store: Branch, name: str, value: int) -> None:
    """Set the named counter (an id sequence or a cursor) to `value`."""
    store.set(keys.counter(name), u64(value))


def iter_orders(store: KVReader) -> Iterator[Order]:
    """Every order, in id order."""
    for _k, v in store.iter_range(keys.ORDER, prefix_end(keys.ORDER)):
        yield Order.decode(v)


def get_order(store: KVReader, order_id: int) -> Order | None:
    """The order `order_id` as stored (decoded once per distinct bytes), or None."""
    raw = store.get(keys.order(order_id))
    return None if raw is None else Order.decode(raw)


def put_order(store: Branch, order: Order, *, new: bool = False) -> None:
    """Store `order` (a `new` one also in its owner's index); an OPEN order is in its
    interval's book, and callers remove it from the book when it leaves that state."""
    raw = order.encode()
    store.set(keys.order(order.order_id), raw)
    if new:
        store.set(keys.orders_by_owner(order.owner, order.order_id), b"")
    if order.status == OPEN:
        feeder = order.feeder.encode()
        head = _ENTRY.pack(order.side, order.limit_price, order.energy_wh, int(order.renewable), len(feeder))
        store.set(keys.book(order.interval_start, order.order_id), head + feeder + raw)


def remove_from_book(store: Branch, interval: int, order_id: int) -> None:
    """Take the order off the interval's open book (the order record itself stays)."""
    store.delete(keys.book(interval, order_id))


def remove_book(store: Branch, interval: int, order_ids: Sequence[int]) -> None:
    """Take the orders `order_ids` off the interval's open book (gate closure: the order
    records themselves are rewritten by the caller)."""
    delete = store.delete
    book_prefix = keys.book_prefix(interval)
    for order_id in order_ids:
        delete(book_prefix + order_id.to_bytes(8, "big"))


def put_cleared(
    store: Branch,
    interval: int,
    orders: Sequence[tuple[int, bytes]],
    fills: Sequence[tuple[int, bytes, int, bytes]],
    due: SettleDueBuilder,
) -> None:
    """Store the interval's orders after clearing (`(order id, stored bytes)`, none OPEN: they left
    the book), the settle-due record of its CLEARED ones (`due`), and the fills (`(order id, owner,
    leg, stored bytes)`) with their owner index: the writes of `put_order`, `put_settle_due` and
    `put_fill`, in one pass."""
    set_ = store.set
    order_prefix = keys.ORDER
    for order_id, encoded in orders:
        set_(order_prefix + order_id.to_bytes(8, "big"), encoded)
    put_settle_due(store, interval, due)
    fill_prefix = keys.fill_prefix(interval)
    iv = u64(interval)
    by_owner = keys.FILLS_BY_OWNER
    for order_id, owner, leg, encoded in fills:
        tail = order_id.to_bytes(8, "big") + bytes((leg,))
        set_(fill_prefix + tail, encoded)
        set_(by_owner + owner + iv + tail, b"")


def read_book(store: KVReader, interval: int) -> tuple[list[BookEntry], list[bytes]]:
    """The interval's open orders as clearing entries and their stored bytes (the book keeps a
    copy: gate closure reads the whole book in one range scan), both in order-id order."""
    prefix = keys.book_prefix(interval)
    out = []
    raws = []
    unpack = _ENTRY.unpack_from
    size = _ENTRY.size
    new = tuple.__new__  # BookEntry(…) without its Python-level constructor (runs per order)
    feeders: dict[bytes, str] = {}
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        side, limit, energy, renewable, length = unpack(v)
        tail = v[size : size + length]
        feeder = feeders.get(tail)
        if feeder is None:
            feeder = feeders[tail] = tail.decode()
        out.append(new(BookEntry, (int.from_bytes(k[9:17], "big"), side, limit, energy, feeder, renewable == 1)))
        raws.append(v[size + length :])
    return out, raws


def iter_book_copies(store: KVReader) -> Iterator[tuple[int, bytes]]:
    """(order id, the order's stored bytes as the book keeps them) of every open order."""
    size = _ENTRY.size
    for k, v in store.iter_range(keys.BOOK, prefix_end(keys.BOOK)):
        yield int.from_bytes(k[9:17], "big"), v[size + _ENTRY.unpack_from(v)[4] :]


def iter_book_orders(store: KVReader) -> Iterator[int]:
    """Ids of every open order, all intervals."""
    for k, _v in store.iter_range(keys.BOOK, prefix_end(keys.BOOK)):
        yield int.from_bytes(k[9:17], "big")


def book_intervals_due(store: KVReader, closes_before: int) -> list[int]:
    """Intervals with open orders whose start is at or before `closes_before`, oldest first."""
    return distinct_times(store, keys.BOOK, closes_before)


def settle_intervals_due(store: KVReader, ended_before: int) -> list[int]:
    """Cleared intervals awaiting settlement whose start is at or before `ended_before`."""
    return distinct_times(store, keys.SETTLE_DUE, ended_before)


def iter_settle_due(store: KVReader, interval: int | None = None) -> Iterator[tuple[int, int]]:
    """(interval, order id) of cleared orders awaiting settlement (of one interval, or all), in
    interval then id order."""
    for at, due in iter_settle_records(store, interval):
        for order_id in due.order_ids:
            yield at, order_id


def iter_settle_records(store: KVReader, interval: int | None = None) -> Iterator[tuple[int, Due]]:
    """(interval, settle-due record) of the intervals awaiting settlement (one, or all), in order."""
    if interval is None:
        rows = list(store.iter_range(keys.SETTLE_DUE, prefix_end(keys.SETTLE_DUE)))
    else:
        raw = store.get(keys.settle_due(interval))
        rows = [] if raw is None else [(keys.settle_due(interval), raw)]
    for k, v in rows:
        yield int.from_bytes(k[1:9], "big"), decode_due(v)


def has_settle_due(store: KVReader, interval: int) -> bool:
    """True while orders of `interval` await settlement."""
    return store.get(keys.settle_due(interval)) is not None


def put_settle_due(store: Branch, interval: int, due: SettleDueBuilder) -> None:
    """Mark the orders `due` holds due for the interval's settlement, with the ones already marked
    (a book cleared again: orders a genesis left open in a closed gate): one record per interval
    (settle_due.py)."""
    if not due:
        return
    key = keys.settle_due(interval)
    have = store.get(key)
    if have is not None:
        due.add_due(decode_due(have))
    store.set(key, due.encode())


def take_settle_due(store: Branch, interval: int) -> Due | None:
    """The interval's settle-due record, removed; None when no order of it awaits settlement."""
    key = keys.settle_due(interval)
    raw = store.get(key)
    if raw is None:
        return None
    store.delete(key)
    return decode_due(raw)


def put_settled(store: Branch, order_ids: Sequence[int], settled: Sequence[bytes]) -> None:
    """Store the orders `order_ids` as `settled` (their bytes as settled: what `put_order` writes for
    them), in one pass."""
    prefix = keys.ORDER
    store.set_many(zip([prefix + i.to_bytes(8, "big") for i in order_ids], settled, strict=True))


def get_committed(store: KVReader, interval: int, device_id: str) -> int:
    """The Wh the device's sell orders have committed for the interval (0 when none)."""
    raw = store.get(keys.committed(interval, device_id))
    return 0 if raw is None else int.from_bytes(raw, "big")


def add_committed(store: Branch, interval: int, device_id: str, delta: int) -> None:
    """Change the Wh the device has on offer for `interval` (never below zero)."""
    n = max(0, get_committed(store, interval, device_id) + delta)
    if n:
        store.set(keys.committed(interval, device_id), u64(n))
    else:
        store.delete(keys.committed(interval, device_id))


def free_committed(store: Branch, interval: int, freed: Mapping[str, int]) -> None:
    """Take `freed` (device → Wh) off what the devices have on offer for `interval`, device by
    device in id order (what `add_committed(…, -Wh)` per device does, never below zero)."""
    get, set_, delete = store.get, store.set, store.delete
    for device_id in sorted(freed):
        key = keys.committed(interval, device_id)
        raw = get(key)
        n = max(0, (0 if raw is None else int.from_bytes(raw, "big")) - freed[device_id])
        if n:
            set_(key, u64(n))
        else:
            delete(key)


def get_open_count(store: KVReader, interval: int, owner: bytes) -> int:
    """The owner's open orders for `interval` (what market.max_open_orders_per_interval caps)."""
    raw = store.get(keys.open_count(interval, owner))
    return 0 if raw is None else int.from_bytes(raw, "big")


def add_open_count(store: Branch, interval: int, owner: bytes, delta: int) -> None:
    """Change the owner's count of open orders for `interval` (never below zero)."""
    n = max(0, get_open_count(store, interval, owner) + delta)
    if n:
        store.set(keys.open_count(interval, owner), u64(n))
    else:
        store.delete(keys.open_count(interval, owner))


def clear_open_counts(store: Branch, interval: int) -> None:
    """Drop the interval's counts when its book is cleared (one key per owner with orders)."""
    prefix = keys.open_count_prefix(interval)
    for k in [k for k, _v in store.iter_range(prefix, prefix_end(prefix))]:
        store.delete(k)


def get_clearing(store: KVReader, interval: int) -> ClearingResult | None:
    """The clearing result of the interval, or None (not cleared yet)."""
    raw = store.get(keys.clearing(interval))
    return None if raw is None else ClearingResult.decode(raw)


def put_clearing(store: Branch, result: ClearingResult) -> None:
    """Store the interval's clearing result (replacing the previous one)."""
    store.set(keys.clearing(result.interval_start), result.encode())


def put_fill(store: Branch, fill: Fill, leg: int) -> None:
    """Store one leg of an order's fill and index it under its owner."""
    store.set(keys.fill(fill.interval_start, fill.order_id, leg), fill.encode())
    store.set(keys.fills_by_owner(fill.owner, fill.interval_start, fill.order_id, leg), b"")


def iter_all_fills(store: KVReader) -> Iterator[tuple[Fill, int]]:
    """(fill, leg) of every interval, in key order (interval, order id, leg)."""
    for k, v in store.iter_range(keys.FILL, prefix_end(keys.FILL)):
        yield Fill.decode(v), k[17]


def iter_clearings(store: KVReader) -> Iterator[ClearingResult]:
    """Every clearing result, oldest interval first."""
    for _k, v in store.iter_range(keys.CLEARING, prefix_end(keys.CLEARING)):
        yield ClearingResult.decode(v)


def iter_fills(store: KVReader, interval: int) -> Iterator[Fill]:
    """Every fill of the interval, in order id then leg order."""
    prefix = keys.fill_prefix(interval)
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield Fill.decode(v)


def get_rule(store: KVReader, rule_id: int) -> Rule | None:
    """The standing rule `rule_id`, or None."""
    raw = store.get(keys.rule(rule_id))
    return None if raw is None else Rule.decode(raw)


def put_rule(store: Branch, rule: Rule) -> None:
    """Store the rule and index it under its owner."""
    store.set(keys.rule(rule.rule_id), rule.encode())
    store.set(keys.rules_by_owner(rule.owner, rule.rule_id), b"")


def delete_rule(store: Branch, rule: Rule) -> None:
    """Delete the rule and its owner index entry together."""
    store.delete(keys.rule(rule.rule_id))
    store.delete(keys.rules_by_owner(rule.owner, rule.rule_id))


def iter_rules(store: KVReader, after: int = 0) -> Iterator[Rule]:
    """Every rule (with an id above `after`), in id order."""
    for _k, v in store.iter_range(keys.rule(after + 1) if after else keys.RULE, prefix_end(keys.RULE)):
        yield Rule.decode(v)


def iter_owner_rules(store: KVReader, owner: bytes) -> Iterator[int]:
    """The rule ids of `owner`, ascending."""
    prefix = keys.owner_prefix(keys.RULES_BY_OWNER, owner)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield int.from_bytes(k[-8:], "big")


def get_alert(store: KVReader, alert_id: int) -> Alert | None:
    """The alert `alert_id`, or None."""
    raw = store.get(keys.alert(alert_id))
    return None if raw is None else Alert.decode(raw)


def put_alert(store: Branch, alert: Alert) -> None:
    """Store the alert and index it under its owner."""
    store.set(keys.alert(alert.alert_id), alert.encode())
    store.set(keys.alerts_by_owner(alert.owner, alert.alert_id), b"")


def iter_alerts(store: KVReader) -> Iterator[Alert]:
    """Every alert, in id order."""
    for _k, v in store.iter_range(keys.ALERT, prefix_end(keys.ALERT)):
        yield Alert.decode(v)


def iter_statements(store: KVReader) -> Iterator[Statement]:
    """Every statement, in key order (owner, interval)."""
    for _k, v in store.iter_range(keys.STATEMENT, prefix_end(keys.STATEMENT)):
        yield Statement.decode(v)


def get_statement(store: KVReader, owner: bytes, interval: int) -> Statement | None:
    """The owner's settlement statement of the interval, or None."""
    raw = store.get(keys.statement(owner, interval))
    return None if raw is None else Statement.decode(raw)


def put_statement(store: Branch, statement: Statement) -> None:
    """Store the owner's statement of its interval (replacing the previous one), a new one also in
    its interval's index (prune.py archives an interval's statements by it)."""
    key = keys.statement(statement.owner, statement.interval_start)
    if store.get(key) is None:
        index_statement(store, statement.interval_start, statement.owner)
    store.set(key, statement.encode())


def index_statement(store: Branch, interval: int, owner: bytes) -> None:
    """Enter `owner`'s statement of the interval in the interval's index."""
    store.set(keys.statement_by_interval(interval, owner), b"")


def iter_statement_index(store: KVReader) -> Iterator[tuple[int, bytes]]:
    """(interval, owner) of every entry of the statements' interval index, in key order."""
    prefix = keys.STATEMENTS_BY_INTERVAL
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield int.from_bytes(k[2:10], "big"), k[10:]


def get_consent(store: KVReader, device_id: str) -> ChargingConsent | None:
    """The site owner's charging consent for battery `device_id`, or None."""
    raw = store.get(keys.consent(device_id))
    return None if raw is None else ChargingConsent.decode(raw)


def put_consent(store: Branch, consent: ChargingConsent) -> None:
    """Store the charging consent under its battery (replacing the previous one)."""
    store.set(keys.consent(consent.device_id), consent.encode())


def delete_consent(store: Branch, device_id: str) -> None:
    """Delete the charging consent of battery `device_id` (nothing if none)."""
    store.delete(keys.consent(device_id))


def iter_consents(store: KVReader) -> Iterator[ChargingConsent]:
    """Every charging consent, in device-id key order."""
    for _k, v in store.iter_range(keys.CONSENT, prefix_end(keys.CONSENT)):
        yield ChargingConsent.decode(v)


def get_sites_in_settlement(store: KVReader, interval: int) -> SitesInSettlement | None:
    """The interval's sites still settling over several blocks, or None (none are)."""
    raw = store.get(keys.sites_in_settlement(interval))
    return None if raw is None else SitesInSettlement.decode(raw)


def put_sites_in_settlement(store: Branch, due: SitesInSettlement) -> None:
    """Store where the interval's site settlement resumes next block."""
    store.set(keys.sites_in_settlement(due.interval_start), due.encode())


def delete_sites_in_settlement(store: Branch, interval: int) -> None:
    """The interval's sites are all settled."""
    store.delete(keys.sites_in_settlement(interval))


def get_rules_in_placement(store: KVReader) -> RulesInPlacement | None:
    """Where the upcoming interval's rules' pass resumes, or None (no pass is going on)."""
    raw = store.get(keys.RULES_IN_PLACEMENT)
    return None if raw is None else RulesInPlacement.decode(raw)


def put_rules_in_placement(store: Branch, cursor: RulesInPlacement) -> None:
    """Store where the rules' pass resumes next block."""
    store.set(keys.RULES_IN_PLACEMENT, cursor.encode())


def delete_rules_in_placement(store: Branch) -> None:
    """The rules' pass is over (finished, or its interval's gate closed)."""
    store.delete(keys.RULES_IN_PLACEMENT)


def iter_sites_in_settlement(store: KVReader) -> Iterator[SitesInSettlement]:
    """Every interval whose sites are settling over several blocks, oldest first."""
    prefix = keys.SITES_IN_SETTLEMENT
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield SitesInSettlement.decode(v)


def put_estimate(store: Branch, est: SettlementEstimate) -> None:
    """Store a position settled on an estimate, under its interval, side, target and owner (awaiting late
    data)."""
    store.set(keys.estimate(est.interval_start, est.side, est.target, est.owner), est.encode())


def delete_estimate(store: Branch, est: SettlementEstimate) -> None:
    """Delete a settlement estimate once corrected or expired."""
    store.delete(keys.estimate(est.interval_start, est.side, est.target, est.owner))


def put_withheld_feed_in(store: Branch, w: WithheldFeedIn) -> None:
    """Store a sell site's withheld feed-in, under its interval and site."""
    store.set(keys.withheld_feed_in(w.interval_start, w.site_id), w.encode())


def get_withheld_feed_in(store: KVReader, interval: int, site_id: str) -> WithheldFeedIn | None:
    """The site's withheld feed-in of the interval, or None."""
    raw = store.get(keys.withheld_feed_in(interval, site_id))
    return None if raw is None else WithheldFeedIn.decode(raw)


def delete_withheld_feed_in(store: Branch, w: WithheldFeedIn) -> None:
    """Delete a withheld feed-in once paid or past the correction window."""
    store.delete(keys.withheld_feed_in(w.interval_start, w.site_id))


def iter_withheld_feed_in(store: KVReader, interval: int | None = None) -> Iterator[WithheldFeedIn]:
    """The withheld feed-ins (of one interval, or all), in interval then lp(site) order."""
    prefix = keys.withheld_feed_in_prefix(interval)
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield WithheldFeedIn.decode(v)


def withheld_feed_in_before(store: KVReader, interval: int) -> list[WithheldFeedIn]:
    """The withheld feed-ins of intervals starting before `interval`, oldest first."""
    start = keys.withheld_feed_in_prefix()
    return [WithheldFeedIn.decode(v) for _k, v in store.iter_range(start, start + u64(interval))]


def iter_estimates(store: KVReader, interval: int | None = None) -> Iterator[SettlementEstimate]:
    """The estimates awaiting late data (of one interval, or all), in key order."""
    prefix = keys.estimate_prefix(interval)
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield SettlementEstimate.decode(v)


def target_estimates(store: KVReader, interval: int, targets: Iterable[tuple[int, str]]) -> list[SettlementEstimate]:
    """The interval's estimates of these (side, target) pairs (a buy's site, a sale's device), in key
    order, as iter_estimates would list them; reads only those targets' keys."""
    found: dict[bytes, bytes] = {}
    for side, target in targets:
        prefix = keys.estimate(interval, side, target, b"")
        found.update(store.iter_range(prefix, prefix_end(prefix)))
    return [SettlementEstimate.decode(found[k]) for k in sorted(found)]


def estimates_before(store: KVReader, interval: int) -> list[SettlementEstimate]:
    """The estimates of intervals starting before `interval`, oldest first."""
    start = keys.estimate_prefix()
    return [SettlementEstimate.decode(v) for _k, v in store.iter_range(start, start + u64(interval))]


def get_upstream(store: KVReader, interval: int) -> UpstreamTrade | None:
    """What the upstream grid bought and sold in `interval`'s clearing (None: it did not trade)."""
    raw = store.get(keys.upstream(interval))
    return None if raw is None else UpstreamTrade.decode(raw)


def put_upstream(store: Branch, trade: UpstreamTrade) -> None:
    """Store the upstream grid's trade of its interval."""
    store.set(keys.upstream(trade.interval_start), trade.encode())


def iter_upstream(store: KVReader) -> Iterator[UpstreamTrade]:
    """Every interval's upstream trade, oldest first."""
    for _k, v in store.iter_range(keys.UPSTREAM, prefix_end(keys.UPSTREAM)):
        yield UpstreamTrade.decode(v)


def get_instruction(store: KVReader, interval: int, site_id: str) -> GridInstruction | None:
    """The grid instruction for the site in the interval, or None (no caps)."""
    raw = store.get(keys.instruction(interval, site_id))
    return None if raw is None else GridInstruction.decode(raw)


def put_instruction(store: Branch, instruction: GridInstruction) -> None:
    """Store the site's grid instruction of its interval."""
    store.set(keys.instruction(instruction.interval_start, instruction.site_id), instruction.encode())


def iter_instructions(store: KVReader, interval: int | None = None) -> Iterator[GridInstruction]:
    """The grid instructions of one interval in site order (or of all, oldest interval first)."""
    prefix = keys.INSTRUCTION if interval is None else keys.instruction_prefix(interval)
    for _k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield GridInstruction.decode(v)
