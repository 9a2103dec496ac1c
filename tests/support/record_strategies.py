"""Hypothesis strategies for stored records, built from a record's type hints and its message.

Each field draws values its message field can hold (the integer range of its wire type,
any text, any bytes, an enum's members, tuples for repeated fields, nested records, None
for optional ones), so every drawn record encodes; edge values (0, the bounds) come often.
Fields stored in other shapes (a `Derived` override) take a strategy from `extra`.
"""

from __future__ import annotations

import dataclasses
import keyword
import types
import typing
from collections.abc import Mapping
from enum import IntEnum
from typing import Any, NewType

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

__all__ = ["record_strategy"]

_INT_RANGES = {
    FieldDescriptor.TYPE_INT64: (-(1 << 63), (1 << 63) - 1),
    FieldDescriptor.TYPE_SINT64: (-(1 << 63), (1 << 63) - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(1 << 63), (1 << 63) - 1),
    FieldDescriptor.TYPE_UINT64: (0, (1 << 64) - 1),
    FieldDescriptor.TYPE_FIXED64: (0, (1 << 64) - 1),
    FieldDescriptor.TYPE_INT32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_ENUM: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_UINT32: (0, (1 << 32) - 1),
    FieldDescriptor.TYPE_FIXED32: (0, (1 << 32) - 1),
}


def _base(hint: Any) -> Any:
    while isinstance(hint, NewType):
        hint = hint.__supertype__
    return hint


def _scalar(field: FieldDescriptor, hint: Any) -> st.SearchStrategy[Any]:
    """Values of one (non-repeated) scalar field."""
    hint = _base(hint)
    if isinstance(hint, type) and issubclass(hint, IntEnum):
        return st.sampled_from(list(hint))
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=12)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=24)
    low, high = _INT_RANGES[field.type]
    return st.one_of(st.sampled_from([0, 1, low, high]), st.integers(low, high))


def record_strategy(
    cls: type, message: Any, renamed: Mapping[str, str] | None = None, extra: Mapping[str, Any] | None = None
) -> st.SearchStrategy[Any]:
    """Records of `cls` (a frozen dataclass stored as `message`), every field drawn."""
    renamed = renamed or {}
    extra = extra or {}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for f in dataclasses.fields(cls):
        if f.name in extra:
            kwargs[f.name] = extra[f.name]
            continue
        p = renamed.get(f.name) or (f.name[:-1] if f.name.endswith("_") and keyword.iskeyword(f.name[:-1]) else f.name)
        field = message.DESCRIPTOR.fields_by_name[p]
        hint = hints[f.name]
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
            optional = True
        hint = _base(hint)
        if field.is_repeated:
            item = _base(typing.get_args(hint)[0])
            items = (
                record_strategy(item, GetMessageClass(field.message_type))
                if field.type == FieldDescriptor.TYPE_MESSAGE
                else _scalar(field, item)
            )
            kwargs[f.name] = st.lists(items, max_size=3).map(tuple)
            continue
        value = (
            record_strategy(hint, GetMessageClass(field.message_type))
            if field.type == FieldDescriptor.TYPE_MESSAGE
            else _scalar(field, hint)
        )
        kwargs[f.name] = st.one_of(st.none(), value) if optional else value
    return st.builds(cls, **kwargs)
