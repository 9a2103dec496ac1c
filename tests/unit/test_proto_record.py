"""Records mapped to their messages by abci_app/proto_record.py keep their stored bytes exactly.

The golden file tests/unit/record_golden.json was written (`python -m tests.support.record_golden`)
from the hand-written `to_proto`/`from_proto` the generic mapper replaced: drawn records of every
record class with their repr and their stored bytes. Stored bytes are consensus (the app hash
commits to them), so each golden must decode to the same record and encode to the same bytes.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gridledger.devices.v1 import devices_pb2
from gridledger.market.v1 import market_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app.proto_record import Derived, ProtoRecord, proto_record
from tests.support.record_golden import record_cases

GOLDEN = json.loads((Path(__file__).parent / "record_golden.json").read_text())
CASES = record_cases()


def _class(qualname: str) -> Any:
    module, name = qualname.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def test_every_record_class_has_goldens() -> None:
    """The golden file covers exactly the record classes of the domains (a new record adds its goldens)."""
    assert sorted(GOLDEN) == [qualname for qualname, *_ in CASES]


@pytest.mark.parametrize("qualname", sorted(GOLDEN))
def test_goldens_decode_to_the_same_record_and_encode_to_the_same_bytes(qualname: str) -> None:
    """Bytes the hand-written encoders stored decode to the record they encoded and re-encode unchanged."""
    cls = _class(qualname)
    assert GOLDEN[qualname]
    for expected_repr, hex_bytes in GOLDEN[qualname]:
        raw = bytes.fromhex(hex_bytes)
        record = cls.decode(raw)
        assert repr(record) == expected_repr
        assert record.encode() == raw


@pytest.mark.parametrize(("qualname", "cls", "message", "strategy"), CASES, ids=[c[0] for c in CASES])
def test_records_round_trip(qualname: str, cls: Any, message: Any, strategy: st.SearchStrategy[Any]) -> None:
    """Drawn records of each class: from_proto(to_proto(x)) == x, decode(encode(x)) == x, encode is its bytes."""

    @settings(max_examples=40, derandomize=True, database=None)
    @given(strategy)
    def check(record: Any) -> None:
        pb = record.to_proto()
        assert type(pb) is message is cls.PROTO
        assert cls.from_proto(pb) == record
        raw = record.encode()
        assert raw == pb.SerializeToString(deterministic=True)
        assert cls.decode(raw) == record
        assert message.FromString(raw) == pb

    check()


def test_an_uncovered_message_field_is_refused_at_declaration() -> None:
    """A record that leaves a message field out fails when it is declared, not when it is stored."""
    with pytest.raises(TypeError, match="no record field for BatteryState's fields \\['soc_mwh'\\]"):

        @proto_record()
        @dataclass(frozen=True, slots=True)
        class Empty(ProtoRecord[devices_pb2.BatteryState]):
            pass


def test_a_record_field_the_message_lacks_is_refused() -> None:
    """A record field with no message field of its name (and no override) is refused."""
    with pytest.raises(TypeError, match="has no field 'soc_wh'"):

        @proto_record()
        @dataclass(frozen=True, slots=True)
        class Misnamed(ProtoRecord[devices_pb2.BatteryState]):
            soc_wh: int


def test_an_optional_field_needs_a_none_hint_and_none_needs_presence() -> None:
    """An `optional` message field must be hinted `X | None`, and None is refused where proto3 cannot keep it."""
    with pytest.raises(TypeError, match="latitude_udeg needs an `X \\| None` hint"):

        @proto_record()
        @dataclass(frozen=True, slots=True)
        class Site(ProtoRecord[devices_pb2.Site]):
            site_id: str
            owner: bytes
            feeder: str
            grid_region: str
            registered_at: int
            latitude_udeg: int
            longitude_udeg: int | None

    with pytest.raises(TypeError, match="has no presence"):

        @proto_record()
        @dataclass(frozen=True, slots=True)
        class State(ProtoRecord[devices_pb2.BatteryState]):
            soc_mwh: int | None


def test_renamed_and_derived_fields_are_stored_under_their_message_fields() -> None:
    """A renamed field is written to the field it names; a derived one to the fields it declares."""
    doubled = Derived(("unpaid",), lambda v: {"unpaid": 2 * v}, lambda pb: pb.unpaid // 2)

    @proto_record(long_price="imbalance_long_per_kwh", half_unpaid=doubled)
    @dataclass(frozen=True, slots=True)
    class Estimate(ProtoRecord[market_pb2.SettlementEstimate]):
        interval_start: int
        owner: bytes
        side: int
        target: str
        traded_wh: int
        estimated_wh: int
        half_unpaid: int
        imbalance_short_per_kwh: int
        long_price: int

    record = Estimate(900, b"o", 1, "dev", 5, 6, 7, 8, 9)
    pb = record.to_proto()
    assert (pb.unpaid, pb.imbalance_short_per_kwh, pb.imbalance_long_per_kwh) == (14, 8, 9)
    assert Estimate.decode(record.encode()) == record


def test_a_record_must_name_its_message() -> None:
    """A record that does not derive from ProtoRecord[<message>] is refused with a readable error."""
    with pytest.raises(TypeError, match="derives from ProtoRecord"):

        @proto_record()
        @dataclass(frozen=True, slots=True)
        class Loose:  # type: ignore[type-var]
            soc_mwh: int
