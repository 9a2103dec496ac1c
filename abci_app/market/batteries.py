"""A battery's own rules (devices SetBatteryRules: charge at ≤ P, discharge at ≥ Q, keep R %
in reserve, green only) become orders: once per delivery interval, in the rules hook after
the standing rules and the community bids, in device-id order, each order on its own branch
(a refused one leaves no writes and is skipped: no funds, the owner's open-order cap, …).

- SELL at ≥ Q (discharge_above_price, 0: no discharge order), by the battery's owner: what
  it can deliver above its reserve (`orders.deliverable_wh`: charge above R %, at most max
  discharge power × interval) less what its sell orders already offer for the interval.
- BUY at ≤ P (charge_below_price, 0: no charge order), for its site (a buy order names the
  buyer's site, and settles against that site's meters), tagged with the battery: min(capacity
  − charge, max charge power × interval) Wh. None when P ≥ Q (the battery would trade with
  itself), and none for a community battery in community mode (its community bid is that
  order). Whose money: consent.py — the site owner's, when the battery is hers; for a leased
  battery (owned by another member) only within the site owner's signed ChargingConsent (at
  ≤ its max price, escrow ≤ what is left of its daily cap), else no buy (rule_skipped
  no_site_consent / consent_spent).
- Green only: the clearing can express "renewable only" only in community mode, where a buy
  flagged renewable is matched with its feeder's renewable surplus alone (the community
  storage stage, clearing.py). So in community mode a green-only battery's buy is flagged
  renewable; outside it a green-only battery places no buy at all (it would buy any energy).
- An owner who could not place the order itself (rules.owner_problem) gets none and a
  `rule_skipped` event (rule_id 0, the device) says why. So does a price above the market's
  limit now (`market.max_price_per_kwh`: reason price_above_limit): SetBatteryRules, handled
  by the devices domain, bounds prices only by an absolute constant, and governance may lower
  the limit after rules were set.
- Bounds from the battery itself: a sell is at most what its state of charge holds above the
  reserve and its discharge power delivers in the interval, less what is already offered; a
  buy at most its room below capacity and what its charge power takes in the interval. A
  suspended battery, or one whose state of charge is unknown (no reading yet), sells nothing.

Authorisation (whose signature moves what):
- the sell order and the money it earns: the battery's owner, by SetBatteryRules (devices
  domain, owner only) — the order is in the owner's name and only the owner's device's energy
  is sold (orders.seller_device);
- the buy order's escrow and cost: the site owner's account — by her own SetBatteryRules when
  the battery is hers, otherwise only by her SetSiteChargingConsent and within it;
- nobody else's: no order is placed for a member who could not sign a PlaceOrder now.

Work: one pass over the batteries with rules per interval, at most two orders each, spread
over blocks with the rules (placement.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from abci_app.devices import keeper as devices
from abci_app.devices import keys as dkeys
from abci_app.devices.records import NO_BATTERY, BatteryRules, Device
from abci_app.errors import TxError
from abci_app.keys import lp
from abci_app.market import keeper, orders
from abci_app.market.consent import charging_terms, record_spend
from abci_app.market.params import max_price
from abci_app.market.records import BUY, SELL
from abci_app.market.rules import owner_problem, skipped
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, Event

__all__ = ["battery_order", "battery_orders", "battery_rules"]

BATTERY = 4


def battery_rules(store: Branch, after: str = "") -> Iterator[tuple[str, BatteryRules]]:
    """(device id, rules) of every battery with rules (those after `after`), in key order (of
    lp(device id))."""
    start = dkeys.RULES + lp(after) + b"\x00" if after else dkeys.RULES
    for k, v in store.iter_range(start, prefix_end(dkeys.RULES)):
        yield k[2 : 2 + k[1]].decode(), BatteryRules.decode(v)


def _place(  # noqa: PLR0917 - internal, the order's fields
    store: Branch,
    block: BlockInfo,
    device: Device,
    owner: bytes,
    side: int,
    interval: int,
    energy: int,
    price: int,
    *,
    renewable: bool = False,
    max_escrow: int | None = None,
) -> list[Event]:
    why = owner_problem(store, owner, block.time)
    if why is not None:
        return [skipped(owner, interval, why, device=device.device_id)]
    if max_escrow is not None:  # a leased battery's buy: within the site owner's consent
        energy = min(energy, max_escrow * 1000 // price)
        if energy <= 0:
            return [skipped(owner, interval, "consent_spent", device=device.device_id)]
    branch = store.branch()
    try:
        order = orders.place(
            branch,
            block.time,
            Address(owner),
            side,
            interval,
            energy,
            price,
            device_id=device.device_id if side == SELL else "",
            site_id=device.site_id if side == BUY else "",
        )
    except TxError:
        return []
    if side == BUY:  # tagged with the battery (as community bids are); renewable when green only
        keeper.put_order(branch, replace(order, device_id=device.device_id, renewable=renewable))
        if max_escrow is not None:
            record_spend(branch, device, interval, order.escrow)
    branch.merge_into(store)
    return []


def battery_orders(store: Branch, block: BlockInfo, interval: int, length: int, *, community_mode: bool) -> list[Event]:
    """Every battery's rule orders for `interval` (see the module doc), all at once (the market's
    hook spreads them over blocks: placement.py)."""
    evs: list[Event] = []
    limit = max_price(store)
    for device_id, rules in list(battery_rules(store)):
        evs.extend(
            battery_order(store, block, device_id, rules, interval, length, limit=limit, community_mode=community_mode)
        )
    return evs


def battery_order(  # noqa: PLR0917 - the battery, its rules and the interval
    store: Branch,
    block: BlockInfo,
    device_id: str,
    rules: BatteryRules,
    interval: int,
    length: int,
    *,
    limit: int,
    community_mode: bool,
) -> list[Event]:
    """The battery's rule orders for `interval`: a sell and a buy at most (see the module doc)."""
    evs: list[Event] = []
    device = devices.get_device(store, device_id)
    if device is None or device.kind != BATTERY or device.suspended:
        return evs
    q, p = rules.discharge_above_price, rules.charge_below_price
    if q > limit:
        evs.append(skipped(device.owner, interval, "price_above_limit", device=device_id))
    elif q:
        energy = orders.deliverable_wh(store, device, length) - keeper.get_committed(store, interval, device_id)
        if energy > 0:
            evs.extend(_place(store, block, device, device.owner, SELL, interval, energy, q))
    if not p or (q and p >= q) or (community_mode and rules.community) or (rules.green_only and not community_mode):
        return evs
    site = devices.get_site(store, device.site_id)
    state = devices.get_battery(store, device_id)
    spec = device.battery or NO_BATTERY
    room = spec.capacity_wh - (0 if state is None else state.soc_mwh // 1000)
    energy = min(room, spec.max_charge_w * length // 3600)
    if site is None or energy <= 0:
        return evs
    if p > limit:
        evs.append(skipped(site.owner, interval, "price_above_limit", device=device_id))
        return evs
    terms = charging_terms(store, device, site, interval, p)
    if terms.reason:
        evs.append(skipped(site.owner, interval, terms.reason, device=device_id))
        return evs
    evs.extend(
        _place(
            store,
            block,
            device,
            terms.payer,
            BUY,
            interval,
            energy,
            terms.price,
            renewable=rules.green_only,
            max_escrow=terms.max_escrow,
        )
    )
    return evs
