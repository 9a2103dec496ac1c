"""The market's stored records round-trip byte for byte: `decode(raw).encode() == raw` for
every canonical encoding of each record's protobuf message (empty records, absent fields,
empty and repeated feeder entries included), and `decode(rec.encode()) == rec`."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from gridledger.market.v1 import market_pb2 as mpb
from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app.market.records import (
    Alert,
    AlertId,
    ClearingResult,
    FeederClearing,
    Fill,
    Order,
    OrderId,
    Rule,
    RuleId,
    Statement,
)
from abci_app.types import Address

RECORDS: list[tuple[type[Message], Any]] = [
    (mpb.Order, Order),
    (mpb.Fill, Fill),
    (mpb.FeederClearing, FeederClearing),
    (mpb.ClearingResult, ClearingResult),
    (mpb.Statement, Statement),
    (mpb.Rule, Rule),
    (mpb.Alert, Alert),
]

_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_UINT64: st.one_of(st.just(0), st.integers(0, 2**64 - 1)),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_STRING: st.one_of(st.just(""), st.text(max_size=12)),
    FieldDescriptor.TYPE_BYTES: st.one_of(st.just(b""), st.binary(min_size=20, max_size=20), st.binary(max_size=4)),
    # known values and numbers the enum does not name (proto3 enums are open)
    FieldDescriptor.TYPE_ENUM: st.integers(0, 12),
}


def messages(cls: type[Message]) -> st.SearchStrategy[Message]:
    """Messages of `cls` with any subset of fields set (unset fields stay absent)."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for f in cls.DESCRIPTOR.fields:
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            # the records' only submessages are repeated ones (no presence to keep)
            assert hasattr(getattr(cls(), f.name), "append"), f.full_name
            sub = f.message_type
            assert sub is not None
            parts[f.name] = st.lists(messages(getattr(mpb, sub.name)), max_size=3)
        else:
            parts[f.name] = _SCALARS[f.type]
    return st.fixed_dictionaries({}, optional=parts).map(lambda kw: cls(**kw))


@pytest.mark.parametrize(("pb_cls", "rec_cls"), RECORDS, ids=[r.__name__ for _p, r in RECORDS])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_decode_encode_is_the_identity_on_stored_bytes(
    pb_cls: type[Message], rec_cls: Any, data: st.DataObject
) -> None:
    pb = data.draw(messages(pb_cls))
    raw = pb.SerializeToString(deterministic=True)
    rec = rec_cls.decode(raw)
    assert rec.encode() == raw
    assert rec_cls.decode(rec.encode()) == rec
    assert rec.to_proto() == pb


@pytest.mark.parametrize(("pb_cls", "rec_cls"), RECORDS, ids=[r.__name__ for _p, r in RECORDS])
def test_an_empty_record_encodes_to_nothing(pb_cls: type[Message], rec_cls: Any) -> None:
    rec = rec_cls.decode(b"")
    assert rec.encode() == b""
    assert rec == rec_cls.from_proto(pb_cls())


def test_feeder_entries_keep_their_presence_and_order() -> None:
    """An all-default feeder entry is still an entry (a zero-length submessage on the wire),
    and entries keep their stored order."""
    empty = mpb.ClearingResult(interval_start=900)
    one_blank = mpb.ClearingResult(interval_start=900, feeders=[mpb.FeederClearing()])
    raws = [m.SerializeToString(deterministic=True) for m in (empty, one_blank)]
    assert raws[0] != raws[1]
    for raw in raws:
        assert ClearingResult.decode(raw).encode() == raw
    assert ClearingResult.decode(raws[0]).feeders == ()
    assert ClearingResult.decode(raws[1]).feeders == (FeederClearing(feeder=""),)
    two = ClearingResult(
        interval_start=900, feeders=(FeederClearing("f-2", local_price=7), FeederClearing("f-1", has_limit=True))
    )
    assert [f.feeder for f in ClearingResult.decode(two.encode()).feeders] == ["f-2", "f-1"]
    assert isinstance(ClearingResult.decode(two.encode()).feeders, tuple)


def test_records_built_in_python_round_trip() -> None:
    owner = Address(bytes(range(20)))
    records: list[Any] = [
        Order(OrderId(3), owner, 1, 1_800, 500, 30, site_id="s", feeder="f", escrow=15, status=1, placed_at=9),
        Fill(OrderId(3), owner, 2, 1_800, 250, 12, limit_price=10, feeder="f", cross_feeder=True),
        Statement(owner, 1_800, paid=4, refunds=2, unpaid=1),
        Rule(RuleId(2), owner, 4, site_id="s", limit_price=30, band_low_price=12, day=1, created_at=5),
        Alert(AlertId(1), owner, RuleId(2), 5, 1_800, best_price=31, accepted=True, accepted_price=40),
        ClearingResult(1_800, pool_price=12, feeders=(FeederClearing("f"),), settled=True),
    ]
    for rec in records:
        assert type(rec).decode(rec.encode()) == rec


def test_clearings_spelled_out_replace_is_replace() -> None:
    """close._cleared builds the order positionally (hot path): the same as dataclasses.replace."""
    from dataclasses import replace

    from abci_app.market.close import _cleared

    o = Order(OrderId(9), Address(b"\x05" * 20), 1, 900, 500, 30, "d", "s", "f", 15, RuleId(2), 1, 0, 7, True, 3, 0)
    assert _cleared(o, 11, 7, 400, 11, 3) == replace(o, escrow=11, refunded=7, filled_wh=400, cost=11, status=3)
