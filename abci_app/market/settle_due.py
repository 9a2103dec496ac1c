"""The settle-due record of an interval: what gate closure leaves for its settlement.

Settling 10,000 fills used to decode every cleared order, sum it into its owner's, site's and
device's totals and encode it again as SETTLED: about 4 µs an order in CPython, twice the design's
20 ms. Gate closure has every one of those numbers at hand while it writes the order, so it also
builds, per interval, each cleared order's settled bytes (status SETTLED, a buy's escrow 0: what
settlement stores) and the sums settlement moves money and energy by; settlement then writes the
orders in one pass and works per member, site and device, not per order.

One builder (`SettleDueBuilder.add`) makes the record wherever it is made: gate closure, genesis
import and the upgrade that re-lays older records all add the cleared orders' protobuf messages to
it, and the invariant copies_match_orders rebuilds it from the stored orders and compares.
Integers only; every list in key order, so the bytes are the same on every node.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.market.v1 import market_pb2

from abci_app.market.records import BUY, SETTLED

__all__ = ["Due", "SettleDueBuilder", "decode"]


@dataclass(frozen=True, slots=True)
class Due:
    """An interval's settle-due record, read: its cleared orders and their sums."""

    order_ids: list[int]  # ascending
    settled: list[bytes]  # each order's bytes as settlement stores them
    owners: list[tuple[bytes, int, int, int, int, int]]  # owner, paid, bought Wh, fees, received, sold Wh
    buy_sites: list[tuple[bytes, str, int, int]]  # owner, site, bought Wh, unfilled Wh
    sold_devices: list[tuple[bytes, str, str, int, int]]  # owner, device, its site, sold Wh, offered Wh


class SettleDueBuilder:
    """Collects cleared orders (`add`) into an interval's settle-due record (`encode`)."""

    def __init__(self) -> None:
        self.orders: dict[int, bytes] = {}
        self.owners: dict[bytes, list[int]] = {}
        self.buy_sites: dict[tuple[bytes, str], list[int]] = {}
        self.sold_devices: dict[tuple[bytes, str], tuple[str, list[int]]] = {}

    def __bool__(self) -> bool:
        return bool(self.orders)

    def add(self, order: market_pb2.Order, fee: int) -> None:
        """Add a CLEARED order (its stored message; `fee`: the grid fee its buy fills owe, each leg
        rounded down). The message is changed to the order as settled."""
        owner, cost, filled = order.owner, order.cost, order.filled_wh
        sums = self.owners.get(owner)
        if sums is None:
            sums = self.owners[owner] = [0, 0, 0, 0, 0]
        if order.side == BUY:
            sums[0] += cost
            sums[1] += filled
            sums[2] += fee
            site = (owner, order.site_id)
            have = self.buy_sites.get(site)
            if have is None:
                have = self.buy_sites[site] = [0, 0]
            have[0] += filled
            have[1] += order.energy_wh - filled
            order.escrow = 0  # all that was left of it, its cost, leaves at settlement
        else:
            sums[3] += cost
            sums[4] += filled
            device = (owner, order.device_id)
            held = self.sold_devices.get(device)
            if held is None:
                held = self.sold_devices[device] = (order.site_id, [0, 0])
            held[1][0] += filled
            held[1][1] += order.energy_wh
        order.status = SETTLED  # type: ignore[assignment]
        self.orders[order.order_id] = order.SerializeToString(deterministic=True)

    def add_due(self, due: Due) -> None:
        """Add a stored record's orders and sums (orders no other record of the interval holds)."""
        self.orders.update(zip(due.order_ids, due.settled, strict=True))
        for owner, *numbers in due.owners:
            sums = self.owners.setdefault(owner, [0, 0, 0, 0, 0])
            for i, n in enumerate(numbers):
                sums[i] += n
        for owner, site, bought, unfilled in due.buy_sites:
            have = self.buy_sites.setdefault((owner, site), [0, 0])
            have[0] += bought
            have[1] += unfilled
        for owner, device, site, sold, offered in due.sold_devices:
            held = self.sold_devices.setdefault((owner, device), (site, [0, 0]))
            held[1][0] += sold
            held[1][1] += offered

    def encode(self) -> bytes:
        """The record's bytes: every list in key order."""
        ids = sorted(self.orders)
        message = market_pb2.SettleDue(order_ids=ids, settled=[self.orders[i] for i in ids])
        for owner in sorted(self.owners):
            paid, bought, fees, received, sold = self.owners[owner]
            message.owners.add(owner=owner, paid=paid, bought_wh=bought, fees=fees, received=received, sold_wh=sold)
        for owner, site in sorted(self.buy_sites):
            bought, unfilled = self.buy_sites[(owner, site)]
            message.buy_sites.add(owner=owner, site_id=site, bought_wh=bought, unfilled_wh=unfilled)
        for owner, device in sorted(self.sold_devices):
            site, (sold, offered) = self.sold_devices[(owner, device)]
            message.sold_devices.add(owner=owner, device_id=device, site_id=site, sold_wh=sold, offered_wh=offered)
        return message.SerializeToString(deterministic=True)


def decode(raw: bytes) -> Due:
    """A stored settle-due record."""
    m = market_pb2.SettleDue.FromString(raw)
    return Due(
        order_ids=list(m.order_ids),
        settled=list(m.settled),
        owners=[(o.owner, o.paid, o.bought_wh, o.fees, o.received, o.sold_wh) for o in m.owners],
        buy_sites=[(s.owner, s.site_id, s.bought_wh, s.unfilled_wh) for s in m.buy_sites],
        sold_devices=[(d.owner, d.device_id, d.site_id, d.sold_wh, d.offered_wh) for d in m.sold_devices],
    )
