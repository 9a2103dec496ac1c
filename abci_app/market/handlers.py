"""Market message handlers: authorise, apply, emit.

Prices: every price a handler stores or places (an order's limit, a rule's limit and band,
accepted new terms, a charging consent's price) is at most `market.max_price_per_kwh` when
the message is handled (PRICE_ABOVE_LIMIT); the hooks check stored prices again against the
limit in force when they use them (rules.py, batteries.py)."""

from __future__ import annotations

from dataclasses import replace

from abci_app.auth import require_member, require_role
from abci_app.context import TxContext
from abci_app.devices import keeper as devices
from abci_app.errors import TxError
from abci_app.identity.roles import Role
from abci_app.market import events, keeper, orders
from abci_app.market.errors import MarketCode
from abci_app.market.messages import (
    AcceptTerms,
    CancelOrder,
    PlaceOrder,
    RemoveRule,
    SetRule,
    SetSiteChargingConsent,
)
from abci_app.market.records import BUDGET_SPENT, BUY, RULE_SELL, RULE_THERMOSTAT, ChargingConsent, Rule, RuleId

__all__ = [
    "MAX_RULES_PER_MEMBER",
    "accept_terms",
    "cancel_order",
    "place_order",
    "remove_rule",
    "set_rule",
    "set_site_charging_consent",
]

BATTERY = 4

MAX_RULES_PER_MEMBER = 32


def place_order(ctx: TxContext, msg: PlaceOrder) -> None:
    """Prosumers only; the checks and the escrow are `orders.place`'s."""
    member = require_role(ctx, Role.PROSUMER)
    order = orders.place(
        ctx.store,
        ctx.block.time,
        member.address,
        msg.side,
        msg.interval_start,
        msg.energy_wh,
        msg.limit_price,
        device_id=msg.device_id,
        site_id=msg.site_id,
    )
    ctx.emit(
        events.ORDER_PLACED,
        order_id=order.order_id,
        owner=member.address.hex(),
        side="buy" if order.side == BUY else "sell",
        interval=order.interval_start,
        energy_wh=order.energy_wh,
        limit_price=order.limit_price,
        feeder=order.feeder,
    )


def cancel_order(ctx: TxContext, msg: CancelOrder) -> None:
    """CancelOrder: the owner cancels an open order before its gate closes; the whole escrow goes back and
    the order's capacity is freed."""
    member = require_member(ctx)
    order = orders.cancel(ctx.store, ctx.block.time, member.address, msg.order_id)
    ctx.emit(events.ORDER_CANCELLED, order_id=order.order_id, refunded=order.refunded)


def _check_rule_target(ctx: TxContext, msg: SetRule, owner: bytes) -> None:
    if msg.site_id:
        site = devices.get_site(ctx.store, msg.site_id)
        if site is None:
            raise TxError(MarketCode.UNKNOWN_SITE, f"site {msg.site_id!r} is not registered")
        if site.owner != owner:
            raise TxError(MarketCode.NOT_SITE_OWNER, f"signer does not own site {msg.site_id!r}")
    elif msg.kind == RULE_SELL:  # only the device's owner sells its energy
        orders.seller_device(ctx.store, owner, msg.device_id)
    else:  # pragma: no cover - a buying rule names a site (messages.set_rule_from_proto)
        raise TxError(MarketCode.BAD_RULE, "a buying rule names a site")


def set_rule(ctx: TxContext, msg: SetRule) -> None:
    """Create (rule_id 0) or replace one of the signer's rules; a replaced rule keeps its
    counters (what it placed for the day and the interval)."""
    member = require_role(ctx, Role.PROSUMER)
    _check_rule_target(ctx, msg, member.address)
    orders.check_price(ctx.store, msg.limit_price)
    orders.check_price(ctx.store, msg.band_low_price, "band_low_price")
    old = None
    if msg.rule_id:
        old = keeper.get_rule(ctx.store, msg.rule_id)
        if old is None:
            raise TxError(MarketCode.UNKNOWN_RULE, f"rule {msg.rule_id} does not exist")
        if old.owner != member.address:
            raise TxError(MarketCode.NOT_RULE_OWNER, f"rule {msg.rule_id} belongs to another member")
    elif sum(1 for _ in keeper.iter_owner_rules(ctx.store, member.address)) >= MAX_RULES_PER_MEMBER:
        raise TxError(MarketCode.TOO_MANY_RULES, f"a member has at most {MAX_RULES_PER_MEMBER} rules")
    rule = Rule(
        rule_id=RuleId(msg.rule_id or keeper.next_id(ctx.store, "rule")),
        owner=member.address,
        kind=msg.kind,
        site_id=msg.site_id,
        device_id=msg.device_id,
        limit_price=msg.limit_price,
        max_wh_per_interval=msg.max_wh_per_interval,
        max_wh_per_day=msg.max_wh_per_day,
        daily_budget=msg.daily_budget,
        energy_wh=msg.energy_wh,
        deadline=msg.deadline,
        band_low_price=msg.band_low_price,
        min_wh_per_interval=msg.min_wh_per_interval,
        created_at=ctx.block.time,
        margin_bp=msg.margin_bp,
    )
    if old is not None:
        rule = replace(
            rule,
            last_interval=old.last_interval,
            day=old.day,
            day_wh=old.day_wh,
            day_spent=old.day_spent,
            done_wh=old.done_wh,
            created_at=old.created_at,
        )
    keeper.put_rule(ctx.store, rule)
    ctx.emit(events.RULE_SET, rule_id=rule.rule_id, owner=member.address.hex(), kind=int(rule.kind))


def _own_rule(ctx: TxContext, rule_id: int) -> Rule:
    rule = keeper.get_rule(ctx.store, rule_id)
    if rule is None:
        raise TxError(MarketCode.UNKNOWN_RULE, f"rule {rule_id} does not exist")
    if rule.owner != ctx.signer_address:
        raise TxError(MarketCode.NOT_RULE_OWNER, f"rule {rule_id} belongs to another member")
    return rule


def remove_rule(ctx: TxContext, msg: RemoveRule) -> None:
    """The rule places no more orders (orders it already placed stay in the book)."""
    require_member(ctx)
    rule = _own_rule(ctx, msg.rule_id)
    keeper.delete_rule(ctx.store, rule)
    ctx.emit(events.RULE_REMOVED, rule_id=rule.rule_id)


def accept_terms(ctx: TxContext, msg: AcceptTerms) -> None:
    """The alert's owner accepts new terms for its rule: for a BUDGET_SPENT alert the value
    is the new daily budget, otherwise the new limit price."""
    member = require_member(ctx)
    alert = keeper.get_alert(ctx.store, msg.alert_id)
    if alert is None:
        raise TxError(MarketCode.UNKNOWN_ALERT, f"alert {msg.alert_id} does not exist")
    if alert.owner != member.address:
        raise TxError(MarketCode.NOT_ALERT_OWNER, f"alert {msg.alert_id} belongs to another member")
    rule = _own_rule(ctx, alert.rule_id)
    if alert.reason != BUDGET_SPENT:
        orders.check_price(ctx.store, msg.new_limit_price, "new_limit_price")
    if alert.reason == BUDGET_SPENT:
        rule = replace(rule, daily_budget=msg.new_limit_price)
    else:
        if rule.kind == RULE_THERMOSTAT and msg.new_limit_price < rule.band_low_price:
            raise TxError(MarketCode.BAD_RULE, "the new limit is below the thermostat's band")
        rule = replace(rule, limit_price=msg.new_limit_price)
    keeper.put_rule(ctx.store, rule)
    alert = replace(alert, accepted=True, accepted_price=msg.new_limit_price)
    keeper.put_alert(ctx.store, alert)
    ctx.emit(events.TERMS_ACCEPTED, alert_id=alert.alert_id, rule_id=rule.rule_id, value=msg.new_limit_price)


def set_site_charging_consent(ctx: TxContext, msg: SetSiteChargingConsent) -> None:
    """The battery's site owner (signer, a prosumer) lets the battery's rules spend her money:
    buy orders in her name for her site, at most max_spend_per_day escrowed per UTC day, at no
    more than max_price_per_kwh (≤ the market's limit). Replacing a consent keeps what was
    spent today; max_spend_per_day 0 withdraws it (orders already placed stay in the book)."""
    member = require_role(ctx, Role.PROSUMER)
    device = devices.get_device(ctx.store, msg.device_id)
    if device is None:
        raise TxError(MarketCode.UNKNOWN_DEVICE, f"device {msg.device_id!r} is not registered")
    if device.kind != BATTERY:
        raise TxError(MarketCode.NOT_A_BATTERY, f"device {msg.device_id!r} is not a battery")
    site = devices.get_site(ctx.store, device.site_id)
    if site is None or site.owner != member.address:
        raise TxError(MarketCode.NOT_SITE_OWNER, f"signer does not own the site of battery {msg.device_id!r}")
    if not msg.max_spend_per_day:
        keeper.delete_consent(ctx.store, msg.device_id)
    else:
        orders.check_price(ctx.store, msg.max_price_per_kwh, "max_price_per_kwh")
        old = keeper.get_consent(ctx.store, msg.device_id)
        keep = old is not None and old.site_owner == member.address and old.site_id == device.site_id
        consent = ChargingConsent(
            device_id=msg.device_id,
            site_id=device.site_id,
            site_owner=member.address,
            max_spend_per_day=msg.max_spend_per_day,
            max_price_per_kwh=msg.max_price_per_kwh,
            day=old.day if keep and old is not None else 0,
            day_spent=old.day_spent if keep and old is not None else 0,
            set_at=ctx.block.time,
        )
        keeper.put_consent(ctx.store, consent)
    ctx.emit(
        events.CHARGING_CONSENT_SET,
        device=msg.device_id,
        site=device.site_id,
        site_owner=member.address.hex(),
        max_spend_per_day=msg.max_spend_per_day,
        max_price_per_kwh=msg.max_price_per_kwh,
    )
