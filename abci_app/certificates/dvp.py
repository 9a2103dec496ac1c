"""Delivery versus payment: the market's seam into certificates.

The market's settlement calls `deliver` inside its atomic step, on the same branch as the
payment, so certificates and money move together or (the branch discarded) not at all.
"""

from __future__ import annotations

from abci_app.certificates import keeper, ops
from abci_app.certificates.keeper import EventSink
from abci_app.certificates.params import period
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo

__all__ = ["deliver"]


def deliver(  # noqa: PLR0917 - the market's fixed call signature
    store: Branch,
    seller: bytes,
    buyer: bytes,
    hour_start: int,
    wh: int,
    block: BlockInfo,
    retire_for_buyer: bool = False,
) -> int:
    """Move up to `wh` Wh of the seller's active bundles of production hour `hour_start`
    (aligned to the certificate period, an hour) to the buyer, lowest bundle id first; with `retire_for_buyer` the
    moved Wh are retired at once for the buyer's consumption in that hour (purpose "dvp").
    Returns the Wh moved (less than `wh` only when the seller holds less). Writes only to
    `store`; bundle histories record every step."""
    moved = 0
    sink = EventSink()
    for b in keeper.owner_hour_bundles(store, seller, hour_start):
        if moved >= wh:
            break
        take = min(keeper.volume(b), wh - moved)
        piece = ops.transfer(store, block, b, take, Address(buyer), sink=sink, merge=not retire_for_buyer)
        if retire_for_buyer:
            claim = ops.Claim(Address(buyer), "dvp", hour_start, hour_start + period(store))
            ops.retire(store, block, piece, take, claim=claim, sink=sink)
        moved += take
    return moved
