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

The odd ones are declared on the decorator, as keywords named after the record's fields: a
string renames the field (`short_price="imbalance_short_per_kwh"`), a `Derived` writes and
reads a value kept in other fields (a presence flag beside its value, two optional fields
as one pair). `cached=N` keeps N decoded records by their bytes.

Every message field must be covered and every record field must exist in the message, or
the decorator raises at import. The conversion runs per stored record on the hot paths
(every reading, order and fill), so it is planned once per class and compiled, as
`dataclasses` compiles `__init__`, into straight-line functions: one message constructor
call naming every field, one record constructor call reading every field, closures only for
the converted ones; nothing is looked up per call, and it runs as fast as the hand-written
converters did. `encode` is deterministic protobuf; stored bytes are consensus (the app
hash commits to them), pinned by tests/unit/test_proto_record.py against bytes captured
from the hand-written encoders this replaced.
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
    reads: list[str | _Reader]  # per record field, in order: the message field copied, or a reader
    writes: list[tuple[str, str | _Writer]]  # (record field, message field it is copied to, or a writer)


def _plan(cls: type, overrides: Mapping[str, str | Derived]) -> _Plan:
    message: type[Message] | None = next(
        (typing.get_args(b)[0] for b in getattr(cls, "__orig_bases__", ()) if typing.get_origin(b) is ProtoRecord),
        None,
    )
    if message is None:
        raise TypeError(f"{cls.__name__}: a @proto_record class derives from ProtoRecord[<its message>]")
    descriptor = message.DESCRIPTOR
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise TypeError(f"{cls.__name__}: overrides for fields it does not have: {unknown}")
    plan = _Plan(message, [], [])
    covered: set[str] = set()
    for name in names:
        spec = overrides.get(name)
        if isinstance(spec, Derived):
            missing = [p for p in spec.proto_fields if p not in descriptor.fields_by_name]
            if missing:
                raise TypeError(f"{cls.__name__}.{name}: {message.__name__} has no fields {missing}")
            covered.update(spec.proto_fields)
            plan.reads.append(spec.read)
            plan.writes.append((name, spec.write))
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
        plan.reads.append(reader or p)
        plan.writes.append((name, writer or p))
    uncovered = sorted(set(descriptor.fields_by_name) - covered)
    if uncovered:
        raise TypeError(f"{cls.__name__}: no record field for {message.__name__}'s fields {uncovered}")
    return plan


def _compile(cls: type, plan: _Plan) -> dict[str, Any]:
    """`to_proto`, `encode` and `from_proto` of the plan as straight-line functions, the way
    `dataclasses` writes `__init__`: one constructor call with every field named, as a
    hand-written converter has it, and the few converted fields through their closures.
    Only identifiers from the dataclass and the message descriptor enter the source."""
    env: dict[str, Any] = {"_message": plan.message, "_cls": cls}
    args = []
    for i, (name, write) in enumerate(plan.writes):
        if callable(write):
            env[f"_w{i}"] = write
            args.append(f"**_w{i}(self.{name})")
        elif keyword.iskeyword(write):  # `from`: a keyword argument it cannot be
            args.append(f"**{{{write!r}: self.{name}}}")
        else:
            args.append(f"{write}=self.{name}")
    values = []
    for i, read in enumerate(plan.reads):
        if callable(read):
            env[f"_r{i}"] = read
            values.append(f"_r{i}(pb)")
        elif keyword.iskeyword(read):
            values.append(f"getattr(pb, {read!r})")
        else:
            values.append(f"pb.{read}")
    call = f"_message({', '.join(args)})"
    source = (
        f"def to_proto(self):\n    return {call}\n"
        f"def encode(self):\n    return {call}.SerializeToString(deterministic=True)\n"
        f"def from_proto(pb):\n    return _cls({', '.join(values)})\n"
    )
    exec(compile(source, f"<proto_record {cls.__qualname__}>", "exec"), env)  # noqa: S102 - generated above from identifiers only
    return {name: env[name] for name in ("to_proto", "encode", "from_proto")}


def _install(cls: type[R], plan: _Plan, cached: int) -> None:
    functions = _compile(cls, plan)
    from_proto = functions["from_proto"]
    parse = plan.message.FromString

    def decode(raw: bytes) -> Any:
        return from_proto(parse(raw))

    cls.PROTO = plan.message
    methods = {
        "to_proto": functions["to_proto"],
        "encode": functions["encode"],
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
