"""Delivery versus payment: the market's seam into certificates.

The market's settlement calls `deliver` inside its atomic step, on the same branch as the
payment, so certificates and money move together or (the branch discarded) not at all.

Pending deliveries. Settlement runs at an interval's end plus the market's grace, but an
hour's certificates are issued only once the device's data reaches the hour's end or the
issuance grace after it has passed (issuance.py): with 900 s intervals and an hour's
certificates, the first intervals of an hour settle before its certificates exist. So when
`deliver` moves less than asked while the hour's issuance is not final (block time < hour
end + `certificates.issuance_grace_seconds`), the remainder is recorded as a pending
delivery (seller, buyer, hour, Wh, retire flag, settlement interval; keys.py). The
end-block hook completes pending deliveries right after issuance (`complete_pending`):
oldest production hour first, a seller-hour's deliveries oldest first, at most
MAX_PENDING_PER_BLOCK examined per block, each moving what the seller's active bundles of
the hour now cover (event certificates_delivered, and the bundle events of the transfer);
once the hour's issuance is final, whatever is still uncovered is dropped (event
certificates_delivery_dropped). A delivery asked while older ones of the same seller-hour
are pending queues behind them whole, so the seller's certificates go oldest first. Money
is never touched here: settlement has paid already. The seller keeps control of its
certificates meanwhile: Wh it transfers or retires before they are delivered are not
there to deliver, and the shortfall is dropped at finality.

Authorisation (whose signature moves what). `deliver` moves certificates only out of the
seller's own active bundles (bundles issued to the owner of the generating device, or
transferred to it by their holder's signed Transfer), never anyone else's, and only to a
buyer, for Wh the market matched: the seller's sell order (its PlaceOrder, or the sell rule
or battery rules it signed, for a device it owns: market orders.seller_device) and the
buyer's buy order (signed by the buyer, or its rule, or a site owner's charging consent) are
the signatures; settlement caps the Wh at what the seller's device metered as exported in
the interval (silence delivers none). A pending delivery is completed later under the same
authority, without a new signature, and only from the seller's bundles of that hour. The
buyer never chooses the seller; the seller cannot push certificates on a buyer beyond its
matched and delivered Wh.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import islice

from abci_app.certificates import events, keeper, keys, ops
from abci_app.certificates.keeper import EventSink, Sink
from abci_app.certificates.params import GRACE, period
from abci_app.certificates.records import PendingDelivery
from abci_app.params import domain_param
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address, BlockInfo

__all__ = ["MAX_PENDING_PER_BLOCK", "complete_pending", "deliver", "issuance_final"]

# Pending deliveries the end-block hook examines per block (bounded work; the rest wait).
MAX_PENDING_PER_BLOCK = 64
PENDING_COUNTER = "pending_delivery"  # the next pending delivery id


def issuance_final(store: KVReader, hour_start: int, now: int) -> bool:
    """Whether issuance for the production hour is final: its issuance grace has passed, so
    the end-block hook has issued every device-hour of it (readings after that are late)."""
    return now >= hour_start + period(store) + domain_param(store, GRACE)


def _move(  # noqa: PLR0917 - one delivery's fields
    store: Branch, block: BlockInfo, seller: bytes, buyer: bytes, hour_start: int, wh: int, retire: bool, sink: Sink
) -> int:
    """Move up to `wh` Wh of the seller's active bundles of the hour to the buyer (retired for
    the buyer with `retire`), lowest bundle id first; the Wh moved."""
    moved = 0
    for b in keeper.owner_hour_bundles(store, seller, hour_start):
        if moved >= wh:
            break
        take = min(keeper.volume(b), wh - moved)
        piece = ops.transfer(store, block, b, take, Address(buyer), sink=sink, merge=not retire)
        if retire:
            claim = ops.Claim(Address(buyer), "dvp", hour_start, hour_start + period(store))
            ops.retire(store, block, piece, take, claim=claim, sink=sink)
        moved += take
    return moved


def deliver(  # noqa: PLR0917 - the market's fixed call signature
    store: Branch,
    seller: bytes,
    buyer: bytes,
    hour_start: int,
    wh: int,
    block: BlockInfo,
    retire_for_buyer: bool = False,
    *,
    interval: int = 0,
) -> int:
    """Move up to `wh` Wh of the seller's active bundles of production hour `hour_start`
    (aligned to the certificate period, an hour) to the buyer, lowest bundle id first; with `retire_for_buyer` the
    moved Wh are retired at once for the buyer's consumption in that hour (purpose "dvp").
    Returns the Wh moved now (less than `wh` when the seller holds less). What is not
    moved is recorded as a pending delivery (from settlement interval `interval`, 0: not
    given) while the hour's issuance is not final; all of `wh` is, without moving anything,
    when the seller already owes pending deliveries of the hour. Writes only to `store`;
    bundle histories record every step."""
    if wh <= 0:
        return 0
    moved = 0
    queued = keeper.pending_for(store, seller, hour_start)
    if not queued:
        moved = _move(store, block, seller, buyer, hour_start, wh, retire_for_buyer, EventSink())
    if moved < wh and seller != buyer and (queued or not issuance_final(store, hour_start, block.time)):
        p = PendingDelivery(
            delivery_id=keeper.next_counter(store, PENDING_COUNTER),
            seller=Address(seller),
            buyer=Address(buyer),
            hour_start=hour_start,
            wh=wh - moved,
            retire_for_buyer=retire_for_buyer,
            interval=interval,
            height=block.height,
        )
        keeper.put_pending_delivery(store, p)
    return moved


def _attrs(p: PendingDelivery) -> dict[str, object]:
    return {
        "delivery": p.delivery_id,
        "seller": p.seller.hex(),
        "buyer": p.buyer.hex(),
        "hour": p.hour_start,
        "interval": p.interval,
        "retired": int(p.retire_for_buyer),
        "via": events.VIA_DVP,
    }


def complete_pending(store: Branch, block: BlockInfo, sink: Sink) -> None:
    """Complete the oldest pending deliveries (at most MAX_PENDING_PER_BLOCK): move what the
    seller's active bundles of the hour cover, and drop the rest once the hour's issuance is final."""
    prefix = keys.pending_delivery_prefix()
    due = list(islice(store.iter_range(prefix, prefix_end(prefix)), MAX_PENDING_PER_BLOCK))
    for _k, raw in due:
        p = PendingDelivery.decode(raw)
        moved = _move(store, block, p.seller, p.buyer, p.hour_start, p.wh, p.retire_for_buyer, sink)
        left = p.wh - moved
        if moved:
            sink.emit(events.CERTIFICATES_DELIVERED, **_attrs(p), wh=moved, remaining=left)
        if left and not issuance_final(store, p.hour_start, block.time):
            if moved:
                keeper.put_pending_delivery(store, replace(p, wh=left), p)
            continue
        keeper.put_pending_delivery(store, None, p)
        if left:
            sink.emit(events.CERTIFICATES_DELIVERY_DROPPED, **_attrs(p), wh=left)
