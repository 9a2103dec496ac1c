"""The market's fast encoders (gate closure and settlement write orders and fills without
building records) give exactly the bytes the records give, on random orders and fills: an
order's stored bytes parsed as a protobuf message with its outcome fields set (close.py,
settlement.py), and one Fill message reused for many fills (close.py)."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2
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
def test_order_outcome_set_on_its_message_matches_the_record(  # noqa: PLR0917 - hypothesis arguments
    order: Order, escrow: int, refunded: int, filled: int, cost: int, status: int
) -> None:
    """An order's stored bytes parsed, its outcome fields set and serialised equal the record's
    `with_outcome` encoding."""
    pb = market_pb2.Order.FromString(order.encode())
    pb.escrow = escrow
    pb.refunded = refunded
    pb.filled_wh = filled
    pb.cost = cost
    pb.status = status  # type: ignore[assignment]
    expected = order.with_outcome(escrow, refunded, filled, cost, status).encode()
    assert pb.SerializeToString(deterministic=True) == expected


@given(st.lists(FILLS, max_size=6))
def test_one_fill_message_reused_matches_each_record(fills: list[Fill]) -> None:
    """One Fill message with every field set anew for each fill encodes each fill as its record
    does (fields that fall to zero leave no trace of the fill before)."""
    msg = market_pb2.Fill()
    for f in fills:
        msg.order_id = f.order_id
        msg.owner = f.owner
        msg.side = f.side  # type: ignore[assignment]
        msg.interval_start = f.interval_start
        msg.limit_price = f.limit_price
        msg.feeder = f.feeder
        msg.energy_wh = f.energy_wh
        msg.price = f.price
        msg.fee_per_kwh = f.fee_per_kwh
        msg.cross_feeder = f.cross_feeder
        assert msg.SerializeToString(deterministic=True) == f.encode()


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
