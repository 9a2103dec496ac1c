"""Frozen dataclass records mapped to their stored protobuf message by one declaration.

A domain declares a record once, as a frozen dataclass whose fields are named like its
message's fields, and gets `to_proto`, `from_proto`, `encode` and `decode` from it:

    @proto_record(short_price="imbalance_short_per_kwh")
    @dataclass(frozen=True, slots=True)
    class SettlementEstimate(ProtoRecord[market_pb2.SettlementEstimate]):
        ...

The message is the type argument of `ProtoRecord`. Field by field, from the message's
descriptor and the dataclass's type hints:

- a scalar (NewType ids, ints, bytes, str, bool; an enum kept as a plain int) is copied;
- an enum field hinted as an `IntEnum` reads back as that enum (`ValueError` for a number
  it does not have, which every decoder of stored bytes already treats as corrupt);
- a repeated field is a tuple (of records, for a repeated message field);
- a message field is a nested `ProtoRecord`; hinted `X | None`, None is the absent
  submessage (a present but empty one encodes to other bytes), otherwise it is always set;
- a proto3 `optional` scalar is hinted `X | None`: None is absent;
- a record field named after a Python keyword plus `_` (`from_`) is the keyword's field.

The odd ones are declared on the decorator (keywords named after the record's fields): a string renames the field
(`short_price="imbalance_short_per_kwh"`), a `Derived` writes and reads a value kept in
other fields (a presence flag beside its value, two optional fields as one pair).

Every message field must be covered and every record field must exist in the message, or
the decorator raises at import. The conversion runs per stored record on the hot paths
(every reading, order and fill), so the plan is built once per class: plain fields are read
and written with `operator.attrgetter` over the names, the few converted ones by
precomputed closures, and nothing is looked up per call. `encode` is deterministic
protobuf; stored bytes are consensus (the app hash commits to them), pinned by
tests/unit/test_proto_record.py against bytes captured from the hand-written encoders.
"""

from __future__ import annotations

import dataclasses
import keyword
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from operator import attrgetter
from typing import Any, ClassVar, Generic, NewType, Self, TypeVar, cast

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

__all__ = ["Derived", "ProtoRecord", "proto_record"]

P = TypeVar("P", bound=Message)
R = TypeVar("R", bound="ProtoRecord[Any]")


class ProtoRecord(Generic[P]):
    """Base of a frozen dataclass stored as the protobuf message `P` (see the module's
    docstring); `proto_record` installs the conversions, so these bodies never run."""

    __slots__ = ()
    PROTO: ClassVar[type[Message]]

    def to_proto(self) -> P:
        """The record as its message, every field set from the record."""
        raise TypeError(f"{type(self).__name__} is not declared with @proto_record")

    def encode(self) -> bytes:
        """The record's stored bytes: its message, serialized deterministically."""
        raise TypeError(f"{type(self).__name__} is not declared with @proto_record")

    @classmethod
    def from_proto(cls, pb: P) -> Self:
        """The record the message holds; `decode(raw).encode() == raw` for stored bytes."""
        raise TypeError(f"{cls.__name__} is not declared with @proto_record")

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """The record stored as `raw` (DecodeError for bytes that are no such message)."""
        raise TypeError(f"{cls.__name__} is not declared with @proto_record")


@dataclass(frozen=True, slots=True)
class Derived:
    """A record field kept in message fields of another name or shape: `write(value)` gives
    those fields as constructor keywords (none: all absent), `read(message)` reads the value
    back. `proto_fields` names them, so the decorator knows they are covered."""

    proto_fields: tuple[str, ...]
    write: Callable[[Any], Mapping[str, Any]]
    read: Callable[[Any], Any]


def _base(hint: Any) -> Any:
    """A NewType's underlying type (NewTypes of NewTypes too)."""
    while isinstance(hint, NewType):
        hint = hint.__supertype__
    return hint


def _optional(hint: Any) -> tuple[Any, bool]:
    """(X, True) for a hint `X | None`, else (hint, False)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, ProtoRecord)


_Reader = Callable[[Any], Any]
_Writer = Callable[[Any], Mapping[str, Any]]


def _field_plan(cls: type, name: str, hint: Any, field: FieldDescriptor) -> tuple[_Reader | None, _Writer | None]:
    """(reader, writer) for a field that is not copied as it is; (None, None) when it is."""
    p = field.name
    inner, optional = _optional(hint)
    inner = _base(inner)
    repeated = field.is_repeated
    if repeated:
        if typing.get_origin(inner) is not tuple:
            raise TypeError(f"{cls.__name__}.{name}: the repeated field {p} needs a tuple[..., ...] hint")
        item = _base(typing.get_args(inner)[0])
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if not _is_record(item):
                raise TypeError(f"{cls.__name__}.{name}: items of {p} must be a ProtoRecord")
            item_from = item.from_proto
            get = attrgetter(p)
            return (lambda pb: tuple(map(item_from, get(pb)))), (lambda v: {p: [x.to_proto() for x in v]})
        if isinstance(item, type) and issubclass(item, IntEnum):
            enum_item = item
            get = attrgetter(p)
            return (lambda pb: tuple(map(enum_item, get(pb)))), None
        get = attrgetter(p)
        return (lambda pb: tuple(get(pb))), None
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if not _is_record(inner):
            raise TypeError(f"{cls.__name__}.{name}: the message field {p} needs a ProtoRecord hint")
        sub_from = inner.from_proto
        get = attrgetter(p)
        if optional:
            return (lambda pb: sub_from(get(pb)) if pb.HasField(p) else None), (
                lambda v: {} if v is None else {p: v.to_proto()}
            )
        return (lambda pb: sub_from(get(pb))), (lambda v: {p: v.to_proto()})
    if optional:
        if not field.has_presence:
            raise TypeError(f"{cls.__name__}.{name}: {p} has no presence, so None cannot be stored")
        get = attrgetter(p)
        return (lambda pb: get(pb) if pb.HasField(p) else None), (lambda v: {} if v is None else {p: v})
    if field.has_presence:
        raise TypeError(f"{cls.__name__}.{name}: the optional field {p} needs an `X | None` hint")
    if isinstance(inner, type) and issubclass(inner, IntEnum):
        enum = inner
        get = attrgetter(p)
        return (lambda pb: enum(get(pb))), None
    return None, None


@dataclass(slots=True)
class _Plan:
    """How one record class converts, field by field, worked out once at import."""

    message: type[Message]
    readers: list[_Reader]  # per record field, in order: message -> value
    read_copied: list[str]  # message fields of the record fields read as they are
    write_copied: list[tuple[str, str]]  # (record field, message field) written as they are
    writers: list[tuple[str, _Writer]]  # (record field, value -> message keywords), the others


def _plan(cls: type, overrides: Mapping[str, str | Derived]) -> _Plan:
    message: type[Message] = next(
        typing.get_args(b)[0] for b in getattr(cls, "__orig_bases__", ()) if typing.get_origin(b) is ProtoRecord
    )
    descriptor = message.DESCRIPTOR
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise TypeError(f"{cls.__name__}: overrides for fields it does not have: {unknown}")
    plan = _Plan(message, [], [], [], [])
    covered: set[str] = set()
    for name in names:
        spec = overrides.get(name)
        if isinstance(spec, Derived):
            missing = [p for p in spec.proto_fields if p not in descriptor.fields_by_name]
            if missing:
                raise TypeError(f"{cls.__name__}.{name}: {message.__name__} has no fields {missing}")
            covered.update(spec.proto_fields)
            plan.readers.append(spec.read)
            plan.writers.append((name, spec.write))
            continue
        if spec is not None:
            p = spec
        elif name.endswith("_") and keyword.iskeyword(name[:-1]):
            p = name[:-1]
        else:
            p = name
        field = descriptor.fields_by_name.get(p)
        if field is None:
            raise TypeError(f"{cls.__name__}.{name}: {message.__name__} has no field {p!r}")
        covered.add(p)
        reader, writer = _field_plan(cls, name, hints[name], cast(FieldDescriptor, field))
        if reader is None:
            plan.read_copied.append(p)
        plan.readers.append(reader or attrgetter(p))
        if writer is None:
            plan.write_copied.append((name, p))
        else:
            plan.writers.append((name, writer))
    uncovered = sorted(set(descriptor.fields_by_name) - covered)
    if uncovered:
        raise TypeError(f"{cls.__name__}: no record field for {message.__name__}'s fields {uncovered}")
    return plan


def _tuple_getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The named attributes as a tuple (attrgetter of one name returns the bare value)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


def _to_proto(plan: _Plan) -> Callable[[Any], Any]:
    message = plan.message
    keys = tuple(p for _, p in plan.write_copied)
    read_copied = _tuple_getter([n for n, _ in plan.write_copied])
    if not plan.writers:
        return lambda record: message(**dict(zip(keys, read_copied(record), strict=True)))
    converted = tuple((attrgetter(name), write) for name, write in plan.writers)

    def to_proto(record: Any) -> Any:
        kwargs = dict(zip(keys, read_copied(record), strict=True))
        for get, write in converted:
            kwargs.update(write(get(record)))
        return message(**kwargs)

    return to_proto


def _from_proto(cls: type, plan: _Plan) -> Callable[[Any], Any]:
    if len(plan.read_copied) == len(plan.readers):
        read_all = _tuple_getter(plan.read_copied)  # every field as it is: one C call
        return lambda pb: cls(*read_all(pb))
    readers = tuple(plan.readers)
    return lambda pb: cls(*[read(pb) for read in readers])


def _install(cls: type[R], plan: _Plan, cached: int) -> None:
    to_proto = _to_proto(plan)
    from_proto = _from_proto(cls, plan)
    parse = plan.message.FromString

    def encode(self: Any) -> bytes:
        return to_proto(self).SerializeToString(deterministic=True)  # type: ignore[no-any-return]

    def decode(raw: bytes) -> Any:
        return from_proto(parse(raw))

    cls.PROTO = plan.message
    methods = {
        "to_proto": to_proto,
        "encode": encode,
        "from_proto": staticmethod(from_proto),
        "decode": staticmethod(lru_cache(maxsize=cached)(decode) if cached else decode),
    }
    for name, method in methods.items():
        setattr(cls, name, method)


def proto_record(*, cached: int = 0, **overrides: str | Derived) -> Callable[[type[R]], type[R]]:
    """The decorator that maps a frozen dataclass `ProtoRecord[M]` to `M` field by field
    (module docstring), with `overrides` for fields stored under another name (a string) or
    shape (a `Derived`). Raises TypeError at import when the two do not cover each other.
    With `cached`, `decode` keeps that many records by their bytes (LRU): readers of the
    same stored bytes share one frozen record (devices, readings and orders are read many
    times a block)."""

    def apply(cls: type[R]) -> type[R]:
        if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:
            raise TypeError(f"{cls.__name__}: @proto_record goes above @dataclass(frozen=True, slots=True)")
        _install(cls, _plan(cls, overrides), cached)
        return cls

    return apply
