"""Standing rules become orders: once per delivery interval, before its gate closes.

When the upcoming interval changes (the previous gate has just closed), every rule places
at most one order for it, on its own branch (a rule that cannot place leaves no writes), at
most `market.rules_per_block` rules, community bids and batteries a block (placement.py):

- BUY: min(max_wh_per_interval, what is left of max_wh_per_day, the forecast need) at the
  limit, the forecast need being the site's meters' expected import in the interval
  (forecasts: posted, else the fallback from their readings) less the rule's margin_bp
  share; a site none of whose meters has a forecast or history keeps the declared amounts
  (they are the owner's own statement of need). With a daily budget, no more than the
  budget left can buy at the limit (escrow ≤ budget left). Day counters (per UTC day of the
  interval) count escrow at placement and are corrected to the actual cost at clearing.
  Budget spent → BUDGET_SPENT alert.
- SELL: the forecast surplus not yet offered: min(what the device can deliver (nameplate
  × interval, for a battery its state of charge above the reserve and its power), its
  expected export in the interval (forecasts: posted, else the fallback from its
  readings) less the rule's margin_bp share) − what is already offered for the interval,
  at most max_wh_per_interval when set, at ≥ the limit (`offer_wh`). A battery with nothing
  above its reserve → BATTERY_AT_RESERVE; a device with no forecast and no history places
  nothing → NO_FORECAST. The market reads forecasts only through expected_keepers.py.
- DEFERRABLE: min(max_wh_per_interval, energy left) at ≤ the limit in each interval that
  ends by the deadline; an interval whose price is above the limit simply defers the load.
  When the intervals left can only just hold the energy left → DEADLINE_AT_RISK.
- THERMOSTAT: max_wh_per_interval when the feeder's last cleared price was at most
  band_low_price (pre-heat while cheap), else min_wh_per_interval, at ≤ the limit.
- Not enough money for the escrow → INSUFFICIENT_FUNDS. Other refusals (a site moved, a
  device gone) place nothing.

Community batteries (community mode only, `market.community_mode` = 1): each battery whose
rules are flagged `community` (devices keeper.iter_community_batteries) bids for the
interval, in device-id order, after the rules: min(capacity − state of charge, max charge
power × interval) Wh at its `charge_below_price` (all-in), as a buy order of its site's
owner flagged renewable — the clearing engine matches it only with its feeder's renewable
surplus, before that surplus goes to the pool (clearing.py). Nothing is placed without a
price, without room, or when the escrow cannot be paid.

Who may still trade: a rule (or community bid) places an order only while its owner (the
site's owner for a community bid) could sign the PlaceOrder itself: an enrolled member, not
revoked, certificate valid at block time, in an active org, holding the prosumer role that
its org still has as a capability. Otherwise nothing is placed, the rule is kept (a role or
capability may come back) and a `rule_skipped` event says why (not_member, revoked,
cert_invalid, org_inactive, no_role, capability_withdrawn), once per interval per rule.
A rule or community bid whose stored price is above the market's limit now
(`market.max_price_per_kwh`, which governance may have lowered since) places nothing either
(price_above_limit); so does a community bid of a leased battery without the site owner's
consent (consent.py: no_site_consent, consent_spent).

Authorisation (whose signature moves what):
- a rule's order, its escrow (buy) and its earnings (sell): the rule's owner, who signed the
  SetRule (or AcceptTerms): a buying rule names a site the owner owned when signing, a sell
  rule a device the owner owned when signing (a site owner cannot sell the energy of another
  member's device on her site); each order passes `orders.place` as if the owner signed it
  now, so a site or device that changed hands since places nothing;
- a community bid's escrow: the site owner's account (the bid names her site) — authorised by
  her own SetBatteryRules when the battery is hers, otherwise only by her
  SetSiteChargingConsent for the battery and within its price and daily cap (consent.py).
"""

from __future__ import annotations

from dataclasses import replace

from abci_app.accounts.errors import AccountsCode
from abci_app.devices import keeper as devices
from abci_app.devices.records import NO_BATTERY
from abci_app.errors import TxError
from abci_app.identity.keeper import get_member, get_org
from abci_app.identity.roles import Role
from abci_app.market import events, keeper, orders
from abci_app.market.alerts import raise_alert
from abci_app.market.consent import charging_terms, record_spend
from abci_app.market.expected_keepers import FORECASTS, NO_FORECAST
from abci_app.market.params import COMMUNITY_MODE, interval_length, max_price
from abci_app.market.records import BUY, RULE_BUY, RULE_DEFERRABLE, RULE_SELL, SELL, AlertReason, Rule
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, Event

__all__ = [
    "after_margin",
    "community_bid",
    "last_price",
    "offer_wh",
    "owner_problem",
    "place_rule",
    "run_rules",
    "site_need",
    "skipped",
]

REASON = AlertReason
BATTERY = 4
METER = 1


TRADER_ROLE = Role.PROSUMER  # what the PlaceOrder handler requires of its signer


def owner_problem(store: Branch, owner: bytes, now: int) -> str | None:
    """Why `owner` could not sign a PlaceOrder at block time `now` (None: it could): the
    executor's signer checks and `require_role(PROSUMER)`, read from chain state."""
    member = get_member(store, owner)
    if member is None:
        return "not_member"
    if member.revoked:
        return "revoked"
    if not member.not_before <= now <= member.not_after:
        return "cert_invalid"
    org = get_org(store, member.org_id)
    if org is None or not org.active:
        return "org_inactive"
    if not member.has_role(TRADER_ROLE.value):
        return "no_role"
    if not org.allows(TRADER_ROLE.value):
        return "capability_withdrawn"
    return None


def skipped(owner: bytes, interval: int, why: str, *, rule_id: int = 0, device: str = "") -> Event:
    """The `rule_skipped` event of a rule (rule_id) or battery (device) that placed nothing."""
    return Event.of(
        events.RULE_SKIPPED, rule_id=rule_id, device=device, owner=owner.hex(), interval=interval, reason=why
    )


def last_price(store: Branch, feeder: str, interval: int) -> int | None:
    """The price the feeder's buyers last saw cleared (local price, else pool), if any."""
    result = keeper.get_clearing(store, interval)
    if result is None:
        return None
    for f in result.feeders:
        if f.feeder == feeder and f.local_cleared:
            return f.local_price
    return result.pool_price if result.pool_cleared else None


def after_margin(wh: int, margin_bp: int) -> int:
    """`wh` less the margin share, rounded down: ⌊wh × (10000 − margin_bp) ÷ 10000⌋."""
    return wh * (10_000 - margin_bp) // 10_000


def offer_wh(deliverable: int, forecast_export: int, margin_bp: int, committed: int, cap: int) -> int:
    """What a sell rule offers (module doc): never more than the forecast export after the
    margin, nor than the device can deliver, less what is already offered; ≥ 0."""
    e = min(deliverable, after_margin(forecast_export, margin_bp)) - committed
    if cap:
        e = min(e, cap)
    return max(0, e)


def site_need(store: Branch, site_id: str, interval: int) -> int | None:
    """The site's meters' expected import in the interval (forecasts), or None when none of
    them has a forecast or history (at most the site's devices are read)."""
    need: int | None = None
    for device_id in devices.iter_site_devices(store, site_id):
        device = devices.get_device(store, device_id)
        if device is None or device.kind != METER:
            continue
        exp = FORECASTS.expected(store, device_id, interval)
        if exp.source != NO_FORECAST:
            need = (need or 0) + exp.import_wh
    return need


def _amount(store: Branch, block: BlockInfo, rule: Rule, interval: int, length: int) -> tuple[int, list[Event]]:
    """Wh the rule wants in `interval` (0: nothing), and any alert it raises instead."""
    if rule.kind == RULE_BUY:
        e = rule.max_wh_per_interval
        if rule.max_wh_per_day:
            e = min(e, max(0, rule.max_wh_per_day - rule.day_wh))
        need = site_need(store, rule.site_id, interval)
        if need is not None:
            e = min(e, after_margin(need, rule.margin_bp))
        if e and rule.daily_budget:
            left = max(0, rule.daily_budget - rule.day_spent)
            e = min(e, left * 1000 // rule.limit_price)
            if e == 0:
                best = last_price(store, _feeder(store, rule), interval - length) or 0
                return 0, [raise_alert(store, block.time, rule, REASON.BUDGET_SPENT, interval, best)]
        return e, []
    if rule.kind == RULE_SELL:
        device = devices.get_device(store, rule.device_id)
        if device is None:
            return 0, []
        deliverable = orders.deliverable_wh(store, device, length)
        committed = keeper.get_committed(store, interval, rule.device_id)
        if deliverable - committed <= 0:
            if device.kind == BATTERY:
                return 0, [raise_alert(store, block.time, rule, REASON.BATTERY_AT_RESERVE, interval, 0)]
            return 0, []
        exp = FORECASTS.expected(store, rule.device_id, interval)
        if exp.source == NO_FORECAST:
            return 0, [raise_alert(store, block.time, rule, REASON.NO_FORECAST, interval, 0)]
        return offer_wh(deliverable, exp.export_wh, rule.margin_bp, committed, rule.max_wh_per_interval), []
    if rule.kind == RULE_DEFERRABLE:
        left = rule.energy_wh - rule.done_wh
        slots = (rule.deadline - interval) // length if rule.deadline >= interval + length else 0
        if left <= 0 or slots == 0:
            return 0, []
        e = min(left, rule.max_wh_per_interval)
        evs = []
        if left > (slots - 1) * rule.max_wh_per_interval:
            best = last_price(store, _feeder(store, rule), interval - length) or 0
            evs.append(raise_alert(store, block.time, rule, REASON.DEADLINE_AT_RISK, interval, best))
        return e, evs
    # thermostat
    price = last_price(store, _feeder(store, rule), interval - length)
    cheap = price is not None and price <= rule.band_low_price
    return (rule.max_wh_per_interval if cheap else rule.min_wh_per_interval), []


def _feeder(store: Branch, rule: Rule) -> str:
    site = devices.get_site(store, rule.site_id)
    return "" if site is None else site.feeder


def _run_rule(store: Branch, block: BlockInfo, rule: Rule, interval: int, length: int) -> list[Event]:
    day = interval // 86_400
    if rule.day != day:
        rule = replace(rule, day=day, day_wh=0, day_spent=0)
    rule = replace(rule, last_interval=interval)
    energy, evs = _amount(store, block, rule, interval, length)
    if energy > 0:
        side = SELL if rule.kind == RULE_SELL else BUY
        branch = store.branch()
        try:
            order = orders.place(
                branch,
                block.time,
                Address(rule.owner),
                side,
                interval,
                energy,
                rule.limit_price,
                device_id=rule.device_id,
                site_id=rule.site_id,
                rule_id=rule.rule_id,
            )
        except TxError as exc:
            if exc.code == AccountsCode.INSUFFICIENT_FUNDS:
                best = last_price(store, _feeder(store, rule), interval - length) or 0
                evs.append(raise_alert(store, block.time, rule, REASON.INSUFFICIENT_FUNDS, interval, best))
        else:
            branch.merge_into(store)
            if side == BUY:
                rule = replace(rule, day_wh=rule.day_wh + energy, day_spent=rule.day_spent + order.escrow)
    keeper.put_rule(store, rule)
    return evs


def community_bid(  # noqa: PLR0917 - the battery and the pass's interval, length and price limit
    store: Branch, block: BlockInfo, device_id: str, interval: int, length: int, limit: int
) -> list[Event]:
    """The community battery's renewable-only bid for `interval` (see the module doc), `limit`
    the market's price limit now."""
    device = devices.get_device(store, device_id)
    rules = devices.get_rules(store, device_id)
    site = None if device is None else devices.get_site(store, device.site_id)
    if device is None or rules is None or site is None or device.suspended or not rules.charge_below_price:
        return []
    why = owner_problem(store, site.owner, block.time)
    if why is None and rules.charge_below_price > limit:
        why = "price_above_limit"
    terms = charging_terms(store, device, site, interval, rules.charge_below_price)
    if why is None and terms.reason:
        why = terms.reason
    if why is not None:
        return [skipped(site.owner, interval, why, device=device_id)]
    state = devices.get_battery(store, device_id)
    spec = device.battery or NO_BATTERY
    room = spec.capacity_wh - (0 if state is None else state.soc_mwh // 1000)
    energy = min(room, spec.max_charge_w * length // 3600)
    if terms.max_escrow is not None:
        energy = min(energy, terms.max_escrow * 1000 // terms.price)
    if energy <= 0:
        return []
    branch = store.branch()
    try:
        order = orders.place(
            branch,
            block.time,
            Address(terms.payer),
            BUY,
            interval,
            energy,
            terms.price,
            site_id=device.site_id,
        )
    except TxError:
        return []
    # renewable only: a community storage bid
    keeper.put_order(branch, replace(order, renewable=True, device_id=device_id))
    if terms.max_escrow is not None:
        record_spend(branch, device, interval, order.escrow)
    branch.merge_into(store)
    return []


def place_rule(  # noqa: PLR0917 - the rule and the pass's interval, length and price limit
    store: Branch, block: BlockInfo, rule: Rule, interval: int, length: int, limit: int
) -> list[Event]:
    """The rule's order for `interval` (the upcoming one), once per rule and interval: nothing
    for a rule that already placed for it; a `rule_skipped` event and no writes when its owner
    could not sign the order or its price is above the market's limit now (`limit`)."""
    if rule.last_interval >= interval:
        return []
    why = owner_problem(store, rule.owner, block.time)
    if why is None and rule.limit_price > limit:
        why = "price_above_limit"
    if why is not None:
        # nothing placed, nothing written: the pass meets each rule once per upcoming interval
        return [skipped(rule.owner, interval, why, rule_id=rule.rule_id)]
    return _run_rule(store, block, rule, interval, length)


def run_rules(store: Branch, block: BlockInfo, interval: int) -> list[Event]:
    """Place every rule's order for `interval` (the upcoming one), once per rule; then, in
    community mode, the community batteries' bids; all at once (the market's hook spreads
    them over blocks: placement.py)."""
    length, limit = interval_length(store), max_price(store)
    evs: list[Event] = []
    for rule in list(keeper.iter_rules(store)):
        evs.extend(place_rule(store, block, rule, interval, length, limit))
    if domain_param(store, COMMUNITY_MODE) == 1:
        for device_id in list(devices.iter_community_batteries(store)):
            evs.extend(community_bid(store, block, device_id, interval, length, limit))
    return evs
