"""Placing and cancelling orders: the checks, the buyer's escrow and the seller's capacity.

Used by the PlaceOrder/CancelOrder handlers and by the rules hook, so an order a rule
places passes exactly the checks a member's own order does.

- A buyer's limit is all-in (energy price + grid fee), so its most possible cost is
  ceil(energy_wh × limit / 1000); that is escrowed at placement in the market escrow
  account (ESCROW_ADDRESS) and nothing more can ever be charged for the order.
- A seller's device must be active and able to deliver in the interval: a generator
  (PV, wind) its nameplate × interval length; a battery its charge above its reserve
  (BatteryRules.reserve_bp, 0 without rules), at most max discharge power × interval
  length. Open and cleared sell orders of the device for the interval count against it.
- Only a device's owner sells its energy: a sell order naming a device the signer does not
  own is refused, NOT_ENERGY_OWNER when the signer owns the device's site (a site owner does
  not sell the PV or battery someone else has on her site), NOT_DEVICE_OWNER otherwise.
- Every order's limit is at most the market's limit `market.max_price_per_kwh`
  (PRICE_ABOVE_LIMIT), checked when it is placed, by hand or by a rule.
- A buy order's limit is at least 1 (so every bid escrows at least 1), and a member holds at
  most `market.max_open_orders_per_interval` (default 64) open orders for one interval,
  its rules' included (TOO_MANY_ORDERS): gate closure reads a bounded book.
- A sell order names only a device certified by an admitted device CA and commissioned by a
  certifier for the whole interval (devices/commissioning.py: NOT_CERTIFIED, NOT_COMMISSIONED).
"""

from __future__ import annotations

from dataclasses import replace

from abci_app.accounts import keeper as accounts
from abci_app.devices import keeper as devices
from abci_app.devices.commissioning import require_commissioned
from abci_app.devices.records import NO_BATTERY, Device
from abci_app.errors import Code, TxError
from abci_app.grid import keeper as grid
from abci_app.market import keeper
from abci_app.market.errors import MarketCode
from abci_app.market.params import MAX_AHEAD_SECONDS, gate_closure, interval_length, max_open_orders, max_price
from abci_app.market.records import BUY, CANCELLED, OPEN, SELL, Order, OrderId, RuleId
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address

__all__ = [
    "cancel",
    "check_interval",
    "check_price",
    "deliverable_wh",
    "max_cost",
    "place",
    "refund",
    "refund_many",
    "seller_device",
]

PV, WIND, BATTERY = 2, 3, 4


def max_cost(energy_wh: int, limit_price: int) -> int:
    """The most a buy order can cost: ceil(energy × all-in limit / 1000)."""
    return -(-energy_wh * limit_price // 1000)


def deliverable_wh(store: KVReader, device: Device, length: int) -> int:
    """Wh the device can deliver in one interval of `length` seconds (0 for non-generators)."""
    if device.suspended:
        return 0
    if device.kind in (PV, WIND):
        return device.nameplate_w * length // 3600
    if device.kind == BATTERY:
        state = devices.get_battery(store, device.device_id)
        rules = devices.get_rules(store, device.device_id)
        reserve_bp = 0 if rules is None else rules.reserve_bp
        soc_wh = 0 if state is None else state.soc_mwh // 1000
        spec = device.battery or NO_BATTERY
        above = soc_wh - spec.capacity_wh * reserve_bp // 10_000
        return max(0, min(above, spec.max_discharge_w * length // 3600))
    return 0


def check_interval(store: KVReader, now: int, interval: int) -> None:
    """The interval is aligned, its gate is still open, and it is at most a week ahead."""
    length = interval_length(store)
    if interval % length:
        raise TxError(MarketCode.BAD_INTERVAL, f"interval_start {interval} is not a multiple of {length} s")
    if interval - gate_closure(store) <= now:
        raise TxError(MarketCode.GATE_CLOSED, f"the gate of interval {interval} closed (block time {now})")
    if interval > now + MAX_AHEAD_SECONDS:
        raise TxError(MarketCode.BAD_INTERVAL, f"interval {interval} is more than {MAX_AHEAD_SECONDS} s ahead")


def check_price(store: KVReader, price: int, name: str = "limit price") -> None:
    """`price` is within the market's limit now (market.max_price_per_kwh); PRICE_ABOVE_LIMIT."""
    cap = max_price(store)
    if price > cap:
        raise TxError(MarketCode.PRICE_ABOVE_LIMIT, f"{name} {price} is above the market's limit of {cap} per kWh")


def seller_device(store: KVReader, owner: bytes, device_id: str) -> Device:
    """The device `owner` may sell the energy of: only its own (its site's owner may not)."""
    device = devices.get_device(store, device_id)
    if device is None:
        raise TxError(MarketCode.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
    if device.owner != owner:
        site = devices.get_site(store, device.site_id)
        if site is not None and site.owner == owner:
            raise TxError(
                MarketCode.NOT_ENERGY_OWNER,
                f"device {device_id!r} on the signer's site is another member's: only its owner sells its energy",
            )
        raise TxError(MarketCode.NOT_DEVICE_OWNER, f"signer does not own device {device_id!r}")
    return device


def place(  # noqa: PLR0917 - the order's fields, in the message's order
    store: Branch,
    now: int,
    owner: Address,
    side: int,
    interval: int,
    energy_wh: int,
    limit_price: int,
    *,
    device_id: str = "",
    site_id: str = "",
    rule_id: int = 0,
) -> Order:
    """Check and store a new open order (escrowing a buyer's max cost); raises TxError."""
    if grid.get_tariffs(store) is None:
        raise TxError(MarketCode.MARKET_CLOSED, "the grid operator has published no tariffs yet")
    check_interval(store, now, interval)
    if side == BUY and limit_price < 1:
        raise TxError(Code.INVALID_ARGUMENT, "a buy order's limit price must be at least 1")
    check_price(store, limit_price)
    cap = max_open_orders(store)
    if keeper.get_open_count(store, interval, owner) >= cap:
        raise TxError(
            MarketCode.TOO_MANY_ORDERS, f"a member holds at most {cap} open orders for one interval ({interval})"
        )
    keeper.add_open_count(store, interval, owner, 1)
    escrow = 0
    renewable = False
    if side == BUY:
        site = devices.get_site(store, site_id)
        if site is None:
            raise TxError(MarketCode.UNKNOWN_SITE, f"site {site_id!r} is not registered")
        if site.owner != owner:
            raise TxError(MarketCode.NOT_SITE_OWNER, f"signer does not own site {site_id!r}")
        device_id, feeder = "", site.feeder
        escrow = max_cost(energy_wh, limit_price)
        accounts.subtract(store, owner, escrow)
        accounts.add(store, keeper.ESCROW_ADDRESS, escrow)
    else:
        device = seller_device(store, owner, device_id)
        require_commissioned(store, device, interval, interval + interval_length(store))
        can = deliverable_wh(store, device, interval_length(store))
        have = keeper.get_committed(store, interval, device_id)
        if have + energy_wh > can:
            raise TxError(
                MarketCode.DEVICE_CANNOT_DELIVER,
                f"device {device_id!r} can deliver {can} Wh in the interval; {have} Wh already offered",
            )
        keeper.add_committed(store, interval, device_id, energy_wh)
        site_id, feeder = device.site_id, device.feeder
        renewable = device.kind in (PV, WIND)
    order = Order(
        order_id=OrderId(keeper.next_id(store, "order")),
        owner=owner,
        side=side,
        interval_start=interval,
        energy_wh=energy_wh,
        limit_price=limit_price,
        device_id=device_id,
        site_id=site_id,
        feeder=feeder,
        escrow=escrow,
        rule_id=RuleId(rule_id),
        status=OPEN,
        placed_at=now,
        renewable=renewable,
    )
    keeper.put_order(store, order, new=True)
    return order


def refund(store: Branch, order: Order, amount: int) -> Order:
    """Return `amount` of the order's escrow to its owner; the order as it is after."""
    if not amount:
        return order
    accounts.subtract(store, keeper.ESCROW_ADDRESS, amount)
    accounts.add(store, order.owner, amount)
    return replace(order, escrow=order.escrow - amount, refunded=order.refunded + amount)


def refund_many(store: Branch, per_owner: dict[bytes, int]) -> None:
    """Return escrow to many owners at once (`per_owner`: the total each gets back; the
    orders' escrow/refunded fields are the caller's): the escrow account is debited once
    with the sum and each owner credited once, in owner order. The balances end exactly as
    a `refund` per order would leave them."""
    total = sum(per_owner.values())
    if total:
        accounts.subtract(store, keeper.ESCROW_ADDRESS, total)
    for owner in sorted(per_owner):
        if per_owner[owner]:
            accounts.add(store, owner, per_owner[owner])


def cancel(store: Branch, now: int, owner: bytes, order_id: int) -> Order:
    """Cancel an open order before its gate closes: the escrow goes back, capacity is freed."""
    order = keeper.get_order(store, order_id)
    if order is None:
        raise TxError(MarketCode.UNKNOWN_ORDER, f"order {order_id} does not exist")
    if order.owner != owner:
        raise TxError(MarketCode.NOT_ORDER_OWNER, f"order {order_id} belongs to another member")
    if order.interval_start - gate_closure(store) <= now:
        raise TxError(MarketCode.GATE_CLOSED, f"the gate of interval {order.interval_start} closed")
    if order.status != OPEN:
        raise TxError(MarketCode.ORDER_NOT_OPEN, f"order {order_id} is no longer open")
    keeper.remove_from_book(store, order.interval_start, order_id)
    keeper.add_open_count(store, order.interval_start, order.owner, -1)
    order = refund(store, order, order.escrow)
    if order.side == SELL:
        keeper.add_committed(store, order.interval_start, order.device_id, -order.energy_wh)
    order = replace(order, status=CANCELLED)
    keeper.put_order(store, order)
    return order
