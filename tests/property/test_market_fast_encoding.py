"""The market's fast encoders (gate closure and settlement write orders and fills without
building records) give exactly the bytes the records give, on random orders and fills."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from abci_app.market.records import (
    BUY,
    CLEARED,
    OPEN,
    SELL,
    SETTLED,
    UNFILLED,
    Fill,
    Order,
    OrderId,
    RuleId,
    StoredOrder,
)
from abci_app.types import Address

U64 = st.integers(min_value=0, max_value=2**64 - 1)
SMALL = st.integers(min_value=0, max_value=10**12)
NAMES = st.text(max_size=12)
ADDRESSES = st.binary(min_size=20, max_size=20).map(Address)
STATUSES = st.sampled_from([OPEN, CLEARED, UNFILLED, SETTLED])

ORDERS = st.builds(
    Order,
    order_id=U64.map(OrderId),
    owner=ADDRESSES,
    side=st.sampled_from([BUY, SELL]),
    interval_start=U64,
    energy_wh=SMALL,
    limit_price=SMALL,
    device_id=NAMES,
    site_id=NAMES,
    feeder=NAMES,
    escrow=SMALL,
    rule_id=U64.map(RuleId),
    status=STATUSES,
    filled_wh=SMALL,
    placed_at=U64,
    renewable=st.booleans(),
    refunded=SMALL,
    cost=SMALL,
)

FILLS = st.builds(
    Fill,
    order_id=U64.map(OrderId),
    owner=ADDRESSES,
    side=st.sampled_from([BUY, SELL]),
    interval_start=U64,
    energy_wh=SMALL,
    price=SMALL,
    fee_per_kwh=st.integers(min_value=0, max_value=100),
    limit_price=SMALL,
    feeder=NAMES,
    cross_feeder=st.booleans(),
)


@given(ORDERS, SMALL, SMALL, SMALL, SMALL, STATUSES)
def test_order_encode_outcome_matches_the_record(  # noqa: PLR0917 - hypothesis arguments
    order: Order, escrow: int, refunded: int, filled: int, cost: int, status: int
) -> None:
    """A stored order's fields, record and rewritten outcome equal the record's and its encoding."""
    raw = order.encode()
    stored = StoredOrder(raw)
    assert stored.record() == order
    fields = ["order_id", "owner", "side", "energy_wh", "limit_price", "device_id", "site_id", "feeder", "escrow"]
    fields += ["rule_id", "filled_wh", "refunded", "cost"]
    assert all(getattr(stored, f) == getattr(order, f) for f in fields)
    expected = order.with_outcome(escrow, refunded, filled, cost, status).encode()
    assert stored.encode_outcome(escrow, refunded, filled, cost, status) == expected
    assert all(getattr(stored, f) == getattr(order, f) for f in fields)  # the attributes keep the stored values


@given(FILLS)
def test_fill_encode_fields_matches_the_record(fill: Fill) -> None:
    """Encoding a fill from its fields equals encoding the Fill record."""
    encoded = Fill.encode_fields(
        fill.order_id,
        fill.owner,
        fill.side,
        fill.interval_start,
        fill.energy_wh,
        fill.price,
        fill.fee_per_kwh,
        fill.limit_price,
        fill.feeder,
        fill.cross_feeder,
    )
    assert encoded == fill.encode()


@given(FILLS)
def test_fill_buy_fee_matches_the_decoded_record(fill: Fill) -> None:
    """The fee settlement reads from a stored fill is what the decoded record says a buyer owes."""
    decoded = Fill.decode(fill.encode())
    expected = (
        (decoded.owner, decoded.energy_wh * decoded.fee_per_kwh // 1000)
        if decoded.side == BUY and decoded.fee_per_kwh
        else None
    )
    assert Fill.buy_fee(fill.encode()) == expected
