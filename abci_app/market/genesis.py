"""The market genesis section: every order, clearing result, fill, rule, alert, statement and
counter, so a chain restarted from an export carries the market on where it stopped.

"market": {
  "orders":     [Order as JSON],
  "clearings":  [ClearingResult as JSON],
  "fills":      [{"leg": 0|1|2, "fill": Fill as JSON}],   (leg: local, pool, community storage)
  "rules":      [Rule as JSON],
  "alerts":     [Alert as JSON],
  "statements": [Statement as JSON],
  "consents":   [ChargingConsent as JSON],
  "estimates":  [SettlementEstimate as JSON],
  "upstream":   [UpstreamTrade as JSON],          (the upstream grid's trade per interval)
  "instructions": [GridInstruction as JSON],      (grid instructions per interval and site)
  "counters":   {"order": 12, "rule": 2, "alert": 3, "rules_interval": …, "settled_interval": …},
  "sites_in_settlement": [SitesInSettlement as JSON] (intervals whose sites settle over blocks)
  "rules_in_placement": RulesInPlacement as JSON (the upcoming interval's rules' pass, when it
                        goes on over blocks)
  "withheld_feed_in": [WithheldFeedIn as JSON] (sell sites' feed-in awaiting a sold device's data)
  "archive_commitments": [{"height": 812, "root": base64, "count": 1400}]  (what pruning archived, prune.py)
}
(`gridledger.market.v1.GenesisState` in protobuf's JSON mapping: bytes in base64, 64-bit
integers as strings or numbers, an export writes strings; every part is optional)

The import writes records through the keeper, which rebuilds what derives from them: the
owner indexes, the book (OPEN orders), the settle-due marks (CLEARED orders) and the Wh each
device has on offer per interval (Σ energy of its OPEN and CLEARED sell orders) and each
owner's count of OPEN orders per interval (what market.max_open_orders_per_interval caps). It runs after
identity, accounts and devices, and refuses (GenesisError naming the field) an owner that is
not a member, an order whose site or device is unknown, a fill that does not match its order
or clearing, duplicates, counters behind the ids in use, an order or alert id pruning's cursor has passed (it
left live state: counters.archive_order, archive_alert), and escrow (the orders' and the
unsettled upstream trades' payments) that disagrees with the market escrow account's balance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from gridledger.market.v1 import genesis_pb2 as gpb
from gridledger.market.v1 import market_pb2
from gridledger.state.v1 import state_pb2

from abci_app.accounts import keeper as accounts
from abci_app.archive import commitments_from_genesis, iter_commitments
from abci_app.devices import keeper as devices
from abci_app.domain import GenesisError
from abci_app.genesis_fields import parse_section, sections_json
from abci_app.identity.keeper import get_member
from abci_app.market import keeper, keys
from abci_app.market.clearing import ABSORB, LOCAL, POOL
from abci_app.market.messages import MAX_PRICE
from abci_app.market.records import (
    ALERT_REASON_NAMES,
    BUY,
    CLEARED,
    EXPORT_LIMIT_REASON,
    IMPORT_LIMIT_REASON,
    OPEN,
    PLACEMENT_STAGES,
    RULE_BUY,
    RULE_THERMOSTAT,
    SELL,
    SETTLED,
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
from abci_app.market.settle_due import SettleDueBuilder
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["COUNTERS", "SECTIONS", "export_genesis", "import_genesis"]

BATTERY = 4

SECTIONS = ("market",)
COUNTERS = tuple(f.name for f in gpb.Counters.DESCRIPTOR.fields)
"""The names kept under the COUNTER prefix: the id sequences and the hook's interval marks."""

R = TypeVar("R")


def _decode(decode: Callable[[Any], R], message: Any, where: str) -> R:
    try:
        return decode(message)
    except ValueError as exc:
        raise GenesisError(f"{where}: {exc}") from exc


def _member(store: Branch, owner: bytes, where: str) -> None:
    if get_member(store, owner) is None:
        raise GenesisError(f"{where}: owner {owner.hex()} is not a genesis member")


def _orders(store: Branch, items: Sequence[market_pb2.Order]) -> dict[int, Order]:
    out: dict[int, Order] = {}
    for i, item in enumerate(items):
        where = f"market.orders[{i}]"
        o = _decode(Order.from_proto, item, where)
        if o.order_id == 0 or o.order_id in out:
            raise GenesisError(f"{where}: order id {o.order_id} is zero or repeated")
        _member(store, o.owner, where)
        if o.side not in (BUY, SELL):
            raise GenesisError(f"{where}: side {o.side} is neither buy nor sell")
        if not OPEN <= o.status <= SETTLED:
            raise GenesisError(f"{where}: unknown status {o.status}")
        if o.escrow and (o.side != BUY or o.status not in (OPEN, CLEARED)):
            raise GenesisError(f"{where}: only an open or cleared buy order holds escrow")
        if o.site_id and devices.get_site(store, o.site_id) is None:
            raise GenesisError(f"{where}: unknown site {o.site_id!r}")
        if o.device_id and devices.get_device(store, o.device_id) is None:
            raise GenesisError(f"{where}: unknown device {o.device_id!r}")
        if o.side == SELL and not o.device_id:
            raise GenesisError(f"{where}: a sell order names its device")
        out[o.order_id] = o
        keeper.put_order(store, o, new=True)
        if o.side == SELL and o.status in (OPEN, CLEARED):
            keeper.add_committed(store, o.interval_start, o.device_id, o.energy_wh)
        if o.status == OPEN:
            keeper.add_open_count(store, o.interval_start, o.owner, 1)
    return out


def _upstream(store: Branch, items: Sequence[market_pb2.UpstreamTrade], clearings: set[int]) -> int:
    """Store the upstream trades; returns what the unsettled ones hold in escrow."""
    seen: set[int] = set()
    held = 0
    for i, item in enumerate(items):
        where = f"market.upstream[{i}]"
        t = _decode(UpstreamTrade.from_proto, item, where)
        if t.interval_start in seen or t.interval_start not in clearings:
            raise GenesisError(f"{where}: interval {t.interval_start} is repeated or has no clearing result")
        _member(store, t.supplier, where)
        seen.add(t.interval_start)
        held += 0 if t.settled else t.paid
        keeper.put_upstream(store, t)
    return held


def _instructions(store: Branch, items: Sequence[market_pb2.GridInstruction]) -> None:
    seen: set[tuple[int, str]] = set()
    for i, item in enumerate(items):
        where = f"market.instructions[{i}]"
        g = _decode(GridInstruction.from_proto, item, where)
        if (g.interval_start, g.site_id) in seen:
            raise GenesisError(f"{where}: repeated")
        if devices.get_site(store, g.site_id) is None:
            raise GenesisError(f"{where}: unknown site {g.site_id[:64]!r}")
        _member(store, g.owner, where)
        if g.reason not in (EXPORT_LIMIT_REASON, IMPORT_LIMIT_REASON) or g.interval_end <= g.interval_start:
            raise GenesisError(f"{where}: unknown reason {g.reason[:32]!r} or an empty interval")
        seen.add((g.interval_start, g.site_id))
        keeper.put_instruction(store, g)


def _clearings(store: Branch, items: Sequence[market_pb2.ClearingResult]) -> set[int]:
    seen: set[int] = set()
    for i, item in enumerate(items):
        where = f"market.clearings[{i}]"
        c = _decode(ClearingResult.from_proto, item, where)
        if c.interval_start in seen:
            raise GenesisError(f"{where}: interval {c.interval_start} is repeated")
        seen.add(c.interval_start)
        keeper.put_clearing(store, c)
    return seen


def _fills(store: Branch, items: Sequence[gpb.LegFill], orders: Mapping[int, Order], clearings: set[int]) -> None:
    """The fills, then the cleared orders' settle-due marks (with what their buy fills owe)."""
    seen: set[tuple[int, int, int]] = set()
    fees: dict[int, int] = {}
    for i, item in enumerate(items):
        where = f"market.fills[{i}]"
        leg = item.leg
        if not item.HasField("leg") or leg not in (LOCAL, POOL, ABSORB):
            raise GenesisError(f"{where}.leg: expected {LOCAL}, {POOL} or {ABSORB}")
        if not item.HasField("fill"):
            raise GenesisError(f"{where}.fill: missing")
        f = _decode(Fill.from_proto, item.fill, f"{where}.fill")
        order = orders.get(f.order_id)
        if order is None:
            raise GenesisError(f"{where}: unknown order {f.order_id}")
        if (f.owner, f.side, f.interval_start) != (order.owner, order.side, order.interval_start):
            raise GenesisError(f"{where}: owner, side or interval differ from order {f.order_id}'s")
        if f.interval_start not in clearings:
            raise GenesisError(f"{where}: interval {f.interval_start} has no clearing result")
        if (f.interval_start, f.order_id, leg) in seen:
            raise GenesisError(f"{where}: repeated")
        seen.add((f.interval_start, f.order_id, leg))
        keeper.put_fill(store, f, leg)
        if order.status == CLEARED and f.side == BUY and f.fee_per_kwh:  # what settlement charges as fees
            fees[f.order_id] = fees.get(f.order_id, 0) + f.energy_wh * f.fee_per_kwh // 1000
    due: dict[int, SettleDueBuilder] = {}  # interval → its cleared orders, as gate closure records them
    for order_id in sorted(orders):
        o = orders[order_id]
        if o.status == CLEARED:
            due.setdefault(o.interval_start, SettleDueBuilder()).add(o.to_proto(), fees.get(order_id, 0))
    for interval, builder in sorted(due.items()):
        keeper.put_settle_due(store, interval, builder)


def _rules(store: Branch, items: Sequence[market_pb2.Rule]) -> set[int]:
    seen: set[int] = set()
    for i, item in enumerate(items):
        where = f"market.rules[{i}]"
        r = _decode(Rule.from_proto, item, where)
        if r.rule_id == 0 or r.rule_id in seen:
            raise GenesisError(f"{where}: rule id {r.rule_id} is zero or repeated")
        _member(store, r.owner, where)
        if not RULE_BUY <= r.kind <= RULE_THERMOSTAT:
            raise GenesisError(f"{where}: unknown kind {r.kind}")
        if r.site_id and devices.get_site(store, r.site_id) is None:
            raise GenesisError(f"{where}: unknown site {r.site_id!r}")
        if r.device_id and devices.get_device(store, r.device_id) is None:
            raise GenesisError(f"{where}: unknown device {r.device_id!r}")
        seen.add(r.rule_id)
        keeper.put_rule(store, r)
    return seen


def _alerts(store: Branch, items: Sequence[market_pb2.Alert]) -> set[int]:
    """(An alert may outlive its rule: a removed rule's alerts stay.)"""
    seen: set[int] = set()
    for i, item in enumerate(items):
        where = f"market.alerts[{i}]"
        a = _decode(Alert.from_proto, item, where)
        if a.alert_id == 0 or a.alert_id in seen:
            raise GenesisError(f"{where}: alert id {a.alert_id} is zero or repeated")
        _member(store, a.owner, where)
        if a.reason not in ALERT_REASON_NAMES:
            raise GenesisError(f"{where}: unknown reason {a.reason}")
        seen.add(a.alert_id)
        keeper.put_alert(store, a)
    return seen


def _statements(store: Branch, items: Sequence[market_pb2.Statement]) -> None:
    seen: set[tuple[bytes, int]] = set()
    for i, item in enumerate(items):
        where = f"market.statements[{i}]"
        s = _decode(Statement.from_proto, item, where)
        _member(store, s.owner, where)
        if (s.owner, s.interval_start) in seen:
            raise GenesisError(f"{where}: repeated")
        seen.add((s.owner, s.interval_start))
        keeper.put_statement(store, s)


def _consents(store: Branch, items: Sequence[market_pb2.ChargingConsent]) -> None:
    """A consent names a battery, is signed by a member, has a cap and a price (≥ 1: the hooks
    divide by it); one per battery."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"market.consents[{i}]"
        c = _decode(ChargingConsent.from_proto, item, where)
        _member(store, c.site_owner, where)
        if not c.max_spend_per_day or not 1 <= c.max_price_per_kwh <= MAX_PRICE:
            raise GenesisError(
                f"{where}: a consent needs max_spend_per_day ≥ 1 and max_price_per_kwh in [1, {MAX_PRICE}]"
            )
        device = devices.get_device(store, c.device_id)
        if device is None or device.kind != BATTERY:
            raise GenesisError(f"{where}: {c.device_id!r} is not a registered battery")
        if devices.get_site(store, c.site_id) is None:
            raise GenesisError(f"{where}: unknown site {c.site_id!r}")
        if c.device_id in seen:
            raise GenesisError(f"{where}: repeated")
        seen.add(c.device_id)
        keeper.put_consent(store, c)


def _estimates(store: Branch, items: Sequence[market_pb2.SettlementEstimate]) -> None:
    seen: set[tuple[int, int, str, bytes]] = set()
    for i, item in enumerate(items):
        where = f"market.estimates[{i}]"
        e = _decode(SettlementEstimate.from_proto, item, where)
        _member(store, e.owner, where)
        if e.side not in (BUY, SELL):
            raise GenesisError(f"{where}: side {e.side} is neither buy nor sell")
        known = devices.get_site(store, e.target) if e.side == BUY else devices.get_device(store, e.target)
        if known is None:
            raise GenesisError(f"{where}: unknown {'site' if e.side == BUY else 'device'} {e.target!r}")
        k = (e.interval_start, e.side, e.target, bytes(e.owner))
        if k in seen:
            raise GenesisError(f"{where}: repeated")
        seen.add(k)
        keeper.put_estimate(store, e)


def _withheld_feed_in(store: Branch, items: Sequence[market_pb2.WithheldFeedIn]) -> None:
    seen: set[tuple[int, str]] = set()
    for i, item in enumerate(items):
        where = f"market.withheld_feed_in[{i}]"
        w = _decode(WithheldFeedIn.from_proto, item, where)
        if devices.get_site(store, w.site_id) is None:
            raise GenesisError(f"{where}: unknown site {w.site_id[:64]!r}")
        if not w.waiting_devices or list(w.waiting_devices) != sorted(set(w.waiting_devices)):
            raise GenesisError(f"{where}: waiting_devices must be a non-empty sorted list without repeats")
        for device_id in w.waiting_devices:
            if devices.get_device(store, device_id) is None:
                raise GenesisError(f"{where}: unknown device {device_id[:64]!r}")
        if (w.interval_start, w.site_id) in seen:
            raise GenesisError(f"{where}: repeated")
        seen.add((w.interval_start, w.site_id))
        keeper.put_withheld_feed_in(store, w)


def _sites_in_settlement(store: Branch, items: Sequence[market_pb2.SitesInSettlement]) -> None:
    seen: set[int] = set()
    for i, item in enumerate(items):
        where = f"market.sites_in_settlement[{i}]"
        due = _decode(SitesInSettlement.from_proto, item, where)
        if due.interval_start in seen:
            raise GenesisError(f"{where}: repeated interval {due.interval_start}")
        seen.add(due.interval_start)
        sites = [due.after_site, *due.buy_sites, *due.sell_sites, *(p.site_id for p in due.penalised)]
        for site_id in sites:
            if not 1 <= len(site_id.encode()) <= 255:
                raise GenesisError(f"{where}: {site_id[:64]!r} is not a site id (1-255 bytes)")
        stray = sorted({e.site_id for e in due.market_export} - set(due.sell_sites))
        if stray:
            raise GenesisError(f"{where}: market export of {stray[0][:64]!r}, which is not among its sell sites")
        keeper.put_sites_in_settlement(store, due)


def _rules_in_placement(store: Branch, item: market_pb2.RulesInPlacement, counters: gpb.Counters) -> None:
    where = "market.rules_in_placement"
    cursor = _decode(RulesInPlacement.from_proto, item, where)
    if not 0 <= cursor.stage < len(PLACEMENT_STAGES):
        raise GenesisError(f"{where}: stage {cursor.stage} is not 0-{len(PLACEMENT_STAGES) - 1} {PLACEMENT_STAGES}")
    if not counters.HasField("rules_interval") or counters.rules_interval != cursor.interval_start:
        raise GenesisError(f"{where}: interval {cursor.interval_start} is not the counters' rules_interval")
    if len(cursor.after_device.encode()) > 255:
        raise GenesisError(f"{where}: {cursor.after_device[:64]!r} is not a device id (at most 255 bytes)")
    keeper.put_rules_in_placement(store, cursor)


def _counters(store: Branch, counters: gpb.Counters, used: Mapping[str, set[int]]) -> None:
    for name in COUNTERS:
        if counters.HasField(name):
            keeper.set_counter(store, name, getattr(counters, name))
    for name, ids in sorted(used.items()):
        last = getattr(counters, name)
        if ids and last < max(ids):
            raise GenesisError(f"market.counters.{name}: {last} is behind the {name} ids in use (up to {max(ids)})")
        archived = getattr(counters, f"archive_{name}", 0)
        if ids and min(ids) <= archived:
            raise GenesisError(
                f"market.{name}s: {name} {min(ids)} is live, but pruning archived every {name} up to "
                f"{archived} (counters.archive_{name})"
            )


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Check the `market` section against identity, accounts and devices and write it through
    the keeper (indexes, book and escrow marks rebuilt); GenesisError names the first field
    that is wrong."""
    section = parse_section(sections, "market", gpb.GenesisState())
    orders = _orders(store, section.orders)
    clearings = _clearings(store, section.clearings)
    held = sum(o.escrow for o in orders.values()) + _upstream(store, section.upstream, clearings)
    have = accounts.balance(store, keeper.ESCROW_ADDRESS)
    if held != have:
        raise GenesisError(
            f"market.orders: the orders and the upstream grid hold {held} in escrow, the escrow account {have}"
        )
    _instructions(store, section.instructions)
    _fills(store, section.fills, orders, clearings)
    rules = _rules(store, section.rules)
    alerts = _alerts(store, section.alerts)
    _statements(store, section.statements)
    _consents(store, section.consents)
    _estimates(store, section.estimates)
    _withheld_feed_in(store, section.withheld_feed_in)
    _sites_in_settlement(store, section.sites_in_settlement)
    _counters(store, section.counters, {"order": set(orders), "rule": rules, "alert": alerts})
    if section.HasField("rules_in_placement"):
        _rules_in_placement(store, section.rules_in_placement, section.counters)
    for height, commitment in commitments_from_genesis(section.archive_commitments, "market.archive_commitments"):
        store.set(keys.archive_commitment(height), commitment)


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every stored market record and counter, in key order."""
    section = gpb.GenesisState(
        orders=[o.to_proto() for o in keeper.iter_orders(store)],
        clearings=[c.to_proto() for c in keeper.iter_clearings(store)],
        fills=[gpb.LegFill(leg=leg, fill=f.to_proto()) for f, leg in keeper.iter_all_fills(store)],
        rules=[r.to_proto() for r in keeper.iter_rules(store)],
        alerts=[a.to_proto() for a in keeper.iter_alerts(store)],
        statements=[s.to_proto() for s in keeper.iter_statements(store)],
        consents=[c.to_proto() for c in keeper.iter_consents(store)],
        estimates=[e.to_proto() for e in keeper.iter_estimates(store)],
        upstream=[t.to_proto() for t in keeper.iter_upstream(store)],
        instructions=[g.to_proto() for g in keeper.iter_instructions(store)],
        counters=gpb.Counters(**dict(keeper.iter_counters(store))),
        sites_in_settlement=[d.to_proto() for d in keeper.iter_sites_in_settlement(store)],
        withheld_feed_in=[w.to_proto() for w in keeper.iter_withheld_feed_in(store)],
        archive_commitments=[
            state_pb2.ArchiveCommitment(height=height, root=root, count=count)
            for height, root, count in iter_commitments(store, keys.ARCHIVE)
        ],
    )
    cursor = keeper.get_rules_in_placement(store)
    if cursor is not None:
        section.rules_in_placement.CopyFrom(cursor.to_proto())
    return {"market": sections_json(section)}
