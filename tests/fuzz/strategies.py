"""Hypothesis strategies for adversarial input: protobuf wire garbage, every message kind with
hostile field values (read from the message descriptors, so new messages are fuzzed too),
and the consortium's real keys, addresses and certificates mixed in so some inputs get deep."""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from abci_app.codec_util import MAX_AMOUNT
from abci_app.framing import encode_uvarint
from abci_app.registry import MESSAGES
from clients.ops.consortium import Consortium, demo_consortium
from clients.pki import Identity

__all__ = [
    "CONSORTIUM",
    "build",
    "message_st",
    "msg_st",
    "protobuf_wire_st",
    "signer_st",
]

CONSORTIUM: Consortium = demo_consortium()
MEMBERS = sorted(CONSORTIUM.members)
# A key no CA certified, and a certificate a consortium CA issued to a not-yet-enrolled key.
NEWCOMER: Identity = CONSORTIUM.cas["community-a"].issue("newcomer.community-a", ["prosumer"])

_U64 = (1 << 64) - 1
INT_EDGES = (0, 1, 2, 255, 256, MAX_AMOUNT - 1, MAX_AMOUNT, MAX_AMOUNT + 1, _U64 - 1, _U64)
SINT_EDGES = (0, 1, -1, 2, 10, 1_000_000_000_000, 1_000_000_000_001, -(1 << 63), (1 << 63) - 1)
STRING_EDGES = (
    "",
    "admin",
    "issuer",
    "prosumer",
    "operator",
    "auditor",
    "gateway",
    "ADMIN",
    "utility",
    "community-a",
    "new-org",
    "a",
    "x" * 33,
    "max_tx_bytes",
    "max_msgs_per_tx",
    "quorum_numerator",
    "quorum_denominator",
    "voting_period_seconds",
    "max_memo_bytes",
    "\x00",
    "é" * 200,
    "\u202e\u2066",
    "😀" * 70,
)


def _bytes_edges() -> tuple[bytes, ...]:
    out: list[bytes] = [b"", b"\x00" * 20, b"\xff" * 32]
    for ref in MEMBERS:
        ident = CONSORTIUM.members[ref]
        out += [ident.address, ident.public_key]
    out += [NEWCOMER.cert_der, NEWCOMER.address, CONSORTIUM.members["community-b/carol"].cert_der]
    out += [ca.cert_der for _org, ca in sorted(CONSORTIUM.cas.items())]
    return tuple(out)


BYTES_EDGES = _bytes_edges()


def _plausible_st(field: FieldDescriptor) -> st.SearchStrategy[Any] | None:
    """Values a well-meaning client would send for this field (by name), so that fuzzed txs
    also get past validation into the handlers; None when the name says nothing."""
    members = [CONSORTIUM.members[r] for r in MEMBERS]
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "to": st.sampled_from([m.address for m in members]),
        "member": st.sampled_from([m.address for m in members] + [NEWCOMER.address]),
        "certificate_der": st.sampled_from([NEWCOMER.cert_der] + [m.cert_der for m in members[:3]]),
        "root_ca_der": st.sampled_from([ca.cert_der for _o, ca in sorted(CONSORTIUM.cas.items())]),
        "pub_key_ed25519": st.sampled_from([m.public_key for m in members]),
        "role": st.sampled_from(["admin", "issuer", "prosumer", "operator", "auditor", "gateway"]),
        "org_id": st.sampled_from(["utility", "community-a", "new-org", "gridop"]),
        "amount": st.integers(1, 2_000_000),
        "power": st.sampled_from([0, 1, 10]),
        "proposal_id": st.integers(1, 3),
        "value": st.integers(0, 5_000),
    }
    if field.name == "name" and field.containing_type is not None and field.containing_type.name == "ChangeParam":
        return st.sampled_from(["max_tx_bytes", "max_msgs_per_tx", "max_memo_bytes", "voting_period_seconds"])
    return by_name.get(field.name)


def _scalar_st(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    hostile = _hostile_st(field)
    plausible = _plausible_st(field)
    if plausible is None:
        return hostile
    # Mostly plausible, so the handlers run; often hostile, so their checks are hit too.
    return st.one_of(plausible, plausible, plausible, plausible, plausible, hostile)


def _hostile_st(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.sampled_from(BYTES_EDGES), st.binary(max_size=40), st.binary(min_size=20, max_size=20))
    if t == FieldDescriptor.TYPE_STRING:
        return st.one_of(st.sampled_from(STRING_EDGES), st.text(max_size=40), st.text(min_size=250, max_size=300))
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.one_of(st.sampled_from(INT_EDGES), st.integers(0, _U64), st.integers(1, 1_000))
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.integers(0, (1 << 32) - 1)
    if t in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return st.one_of(st.sampled_from(SINT_EDGES), st.integers(-(1 << 63), (1 << 63) - 1))
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return st.integers(-(1 << 31), (1 << 31) - 1)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        return st.sampled_from([v.number for v in field.enum_type.values])
    raise NotImplementedError(f"no strategy for field type {t} ({field.full_name})")


def message_st(desc: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of field values for `desc`: at most one field of each oneof, any plain field."""
    plain = [f for f in desc.fields if f.containing_oneof is None and not _repeated(f)]
    parts: list[st.SearchStrategy[dict[str, Any]]] = []
    for f in plain:
        value = _named(f, depth)
        parts.append(st.one_of(value, value, value, st.just({})))  # mostly set: unset is a default
    for oneof in desc.oneofs:
        parts.append(st.one_of(st.just({}), *[_named(f, depth) for f in oneof.fields]))

    def merge(dicts: tuple[dict[str, Any], ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for d in dicts:
            out.update(d)
        return out

    return st.tuples(*parts).map(merge)


def _named(f: FieldDescriptor, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    name = f.name

    def wrap(value: Any) -> dict[str, Any]:
        return {name: value}

    return _field_st(f, depth).map(wrap)


def _repeated(f: FieldDescriptor) -> bool:
    return bool(f.is_repeated)


def _field_st(f: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        if depth > 3:
            return st.just({})
        assert f.message_type is not None
        return message_st(f.message_type, depth + 1)
    return _scalar_st(f)


def build(cls: type[Message], values: dict[str, Any]) -> Message:
    """The protobuf message of class `cls` with these (possibly nested) field values."""
    m = cls()
    desc = m.DESCRIPTOR
    for name, value in values.items():
        f = desc.fields_by_name[name]
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(m, name).CopyFrom(build(type(getattr(m, name)), value))
        else:
            setattr(m, name, value)
    return m


def _registered_st(cls: type[Message]) -> st.SearchStrategy[Message]:
    return message_st(cls.DESCRIPTOR).map(lambda v: build(cls, v))  # type: ignore[arg-type]


def msg_st() -> st.SearchStrategy[Message]:
    """One message of any registered type with hostile field values, or an `Any` of an
    unknown type or of bytes that are not the named type."""
    known = [_registered_st(m.proto) for _url, m in sorted(MESSAGES.items())]
    unknown = st.builds(
        any_pb2.Any,
        type_url=st.sampled_from(["", "/gridledger.nope.v1.Nope", "type.googleapis.com/x", *sorted(MESSAGES)]),
        value=st.binary(max_size=64),
    )
    return st.one_of(*known, unknown)


def signer_st() -> st.SearchStrategy[Identity]:
    return st.sampled_from([CONSORTIUM.members[r] for r in MEMBERS] + [NEWCOMER])


# -- raw protobuf wire format ----------------------------------------------------------------


_varint = encode_uvarint  # protobuf varints and ABCI frame lengths are the same encoding


def _wire_field(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    field_no = st.one_of(st.integers(1, 6), st.integers(1, 60), st.integers(1, (1 << 29) - 1))
    varint = st.tuples(field_no, st.one_of(st.sampled_from(INT_EDGES), st.integers(0, _U64))).map(
        lambda t: _varint(t[0] << 3 | 0) + _varint(t[1])
    )
    fixed64 = st.tuples(field_no, st.binary(min_size=8, max_size=8)).map(lambda t: _varint(t[0] << 3 | 1) + t[1])
    fixed32 = st.tuples(field_no, st.binary(min_size=4, max_size=4)).map(lambda t: _varint(t[0] << 3 | 5) + t[1])
    length = st.tuples(field_no, children).map(lambda t: _varint(t[0] << 3 | 2) + _varint(len(t[1])) + t[1])
    # A lying length prefix, a group start/end, an invalid wire type 6/7.
    lying = st.tuples(field_no, st.integers(0, 1 << 40), st.binary(max_size=8)).map(
        lambda t: _varint(t[0] << 3 | 2) + _varint(t[1]) + t[2]
    )
    odd = st.tuples(field_no, st.sampled_from([3, 4, 6, 7])).map(lambda t: _varint(t[0] << 3 | t[1]))
    return st.one_of(varint, fixed64, fixed32, length, lying, odd)


def protobuf_wire_st() -> st.SearchStrategy[bytes]:
    """Byte strings shaped like protobuf messages (nested a few levels), valid and not."""
    leaf = st.binary(max_size=40)
    nested = st.recursive(
        leaf,
        lambda children: st.lists(_wire_field(children), max_size=6).map(b"".join),
        max_leaves=12,
    )
    return st.lists(_wire_field(nested), max_size=6).map(b"".join)
