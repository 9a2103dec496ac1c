"""Every gRPC read turns any request into a path the ledger accepts, or INVALID_ARGUMENT naming
the field — nothing reaches the node that the node would refuse for its shape.

Hypothesis fills each read's request message field by field (ids of every length and
alphabet, addresses of every length, zero, huge and negative numbers, pages with hostile
cursors); the path the API builds is asked of the real app in-process. The app may answer
with the record or "not found", never with "bad request" or "unknown path" — but for an hour
not aligned to the governed certificate period, which only the ledger knows.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.errors import Code
from clients.ops.consortium import Consortium
from clients.servers.api_reads import READS, BadRequestError, ReadRpc
from tests.support.driver import AppDriver

F = FieldDescriptor
TEXT = st.one_of(
    st.sampled_from(["pv-1", "site-a", "F1", "LV1.101-F2", "nl", "community-a", "a/b", "x?y", "", "ä", "x" * 65]),
    st.text(max_size=70),
)
ADDRESS_BYTES = st.one_of(st.binary(min_size=20, max_size=20), st.binary(max_size=40))
UINT = st.one_of(st.sampled_from([0, 1, 3600, 1_767_225_600, 2**32, 2**63 - 1, 2**64 - 1]), st.integers(0, 2**64 - 1))
SINT = st.one_of(st.sampled_from([0, -1, 3600, -(2**63), 2**63 - 1]), st.integers(-(2**63), 2**63 - 1))


def _fill(draw: st.DrawFn, msg: Message, depth: int = 0) -> None:
    """Set a random subset of `msg`'s fields (one member of each oneof) to hostile values."""
    chosen_oneofs: set[str] = set()
    for field in msg.DESCRIPTOR.fields:
        if field.containing_oneof is not None:
            if field.containing_oneof.name in chosen_oneofs or not draw(st.booleans()):
                continue
            chosen_oneofs.add(field.containing_oneof.name)
        elif not draw(st.booleans()):
            continue
        if field.is_repeated:
            continue
        kind = field.type
        if kind == F.TYPE_MESSAGE:
            if depth < 2:
                _fill(draw, getattr(msg, field.name), depth + 1)
        elif kind == F.TYPE_STRING:
            value: Any = draw(TEXT)
            if field.name == "after":
                value = draw(st.one_of(TEXT, st.text("0123456789abcdef", max_size=600)))
            setattr(msg, field.name, value)
        elif kind == F.TYPE_BYTES:
            setattr(msg, field.name, draw(ADDRESS_BYTES))
        elif kind == F.TYPE_BOOL:
            setattr(msg, field.name, draw(st.booleans()))
        elif kind == F.TYPE_ENUM:
            numbers = [v.number for v in field.enum_type.values] if field.enum_type is not None else []
            setattr(msg, field.name, draw(st.sampled_from([*numbers, 99])))
        elif kind in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64, F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
            high = 2**31 - 1 if kind in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32) else 2**63 - 1
            setattr(msg, field.name, max(-high - 1, min(high, draw(SINT))))
        else:  # unsigned
            high = 2**32 - 1 if kind in (F.TYPE_UINT32, F.TYPE_FIXED32) else 2**64 - 1
            setattr(msg, field.name, min(high, draw(UINT)))


def _field_names(msg: Message, prefix: str = "") -> set[str]:
    names = set()
    for field in msg.DESCRIPTOR.fields:
        names.add(prefix + field.name)
        if field.type == F.TYPE_MESSAGE and not field.is_repeated:
            names |= _field_names(getattr(msg, field.name), f"{prefix}{field.name}.")
    return names


@st.composite
def requests(draw: st.DrawFn) -> tuple[ReadRpc, Message]:
    rpc = draw(st.sampled_from(READS))
    msg = rpc.request()
    _fill(draw, msg)
    return rpc, msg


@pytest.fixture(scope="module")
def app(consortium: Consortium) -> AppDriver:
    driver = AppDriver(consortium)
    driver.block([])
    return driver


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests())
def test_every_read_is_a_path_the_ledger_accepts_or_names_the_bad_field(
    app: AppDriver, case: tuple[ReadRpc, Message]
) -> None:
    """A request the API turns into a path is one the app answers (a record or not found); one it
    refuses is refused with a message that names a field of the request."""
    rpc, msg = case
    try:
        path = rpc.path(msg)
    except BadRequestError as exc:
        refusal = str(exc)
        path = ""
    if not path:
        assert [name for name in _field_names(msg) if name in refusal], (rpc.method, refusal)
        return
    answer = app.query(path)
    # the checks the API leaves to the ledger: an hour's alignment to the certificate period,
    # and a forecast count above the chain's governed maximum: governed parameters (the bridge
    # answers them INVALID_ARGUMENT with the ledger's words)
    by_state = answer.code == Code.QUERY_BAD_REQUEST and (
        "multiple of the certificate period" in answer.log or answer.log.startswith("count ")
    )
    assert by_state or answer.code not in (Code.QUERY_BAD_REQUEST, Code.QUERY_UNKNOWN_PATH), (
        rpc.method,
        path,
        answer.log,
    )
    if answer.code == 0 and answer.value:
        rpc.response.FromString(answer.value)  # decodes as the RPC's response type
