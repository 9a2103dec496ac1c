"""A throwaway domain, added exactly as the README's "Adding a domain" lists, works end to end.

The domain ("notes": a member posts one short note, readable by address) is written here in the
shapes the list names, each part where a real domain keeps it:

- its contract (proto/gridwire/contract/<name>.py): error codes with their range, event types,
  a path builder per query root, the key builder proofs need;
- its folder abci_app/<name>/: messages (converter, bounds), keys, records/keeper, handlers
  (authorise, apply, emit), queries, genesis (import/export), invariants, and `DOMAIN`;
- one line in abci_app/registry.py (here: the fixture registers it, once, for the test's duration);
- its client builder (clients/<name>.py): one function per message.

A real domain also brings its proto package (here a well-known type stands in for the message).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import pytest
from google.protobuf import wrappers_pb2
from gridwire.contract.paths import QueryRoot
from gridwire.tx import type_url

from abci_app import app as app_module
from abci_app import genesis as genesis_module
from abci_app import registry
from abci_app.context import TxContext
from abci_app.domain import Domain, GenesisError, MessageSpec, QueryResult
from abci_app.errors import Code, TxError
from abci_app.query_util import address_arg, args_exactly, record
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed

# -- the contract: proto/gridwire/contract/notes.py --------------------------------------------

ERROR_RANGE = (900, 909)


class NotesCode(IntEnum):
    NOTE_TOO_LONG = 900


NOTE_POSTED = "note_posted"
EVENTS = frozenset({NOTE_POSTED})
PREFIX = b"\x7e"


class Paths:
    NOTE = QueryRoot("note")


def note_key(address: bytes) -> bytes:
    return PREFIX + address


# -- the domain: abci_app/notes/ ----------------------------------------------------------------

MAX_NOTE_BYTES = 64


@dataclass(frozen=True, slots=True)
class PostNote:  # messages.py: the frozen record a handler sees
    text: str


def post_note_from_proto(m: wrappers_pb2.StringValue) -> PostNote:  # messages.py: bounds checked here
    if len(m.value.encode()) > MAX_NOTE_BYTES:
        raise TxError(NotesCode.NOTE_TOO_LONG, f"a note is at most {MAX_NOTE_BYTES} bytes")
    return PostNote(m.value)


def post_note(ctx: TxContext, msg: PostNote) -> None:  # handlers.py: authorise, apply, emit
    if ctx.signer is None:
        raise TxError(Code.UNAUTHORIZED, "only an enrolled member posts notes")
    ctx.store.set(note_key(ctx.signer_address), msg.text.encode())
    ctx.emit(NOTE_POSTED, author=ctx.signer_address.hex(), length=len(msg.text))


def note(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:  # queries.py
    (address,) = args_exactly(args, 1, "/note/<address hex>")
    return record(store, note_key(address_arg(address)))


def _notes(store: KVReader) -> Iterator[tuple[bytes, bytes]]:
    return store.iter_range(PREFIX, prefix_end(PREFIX))


def import_genesis(branch: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:  # genesis.py
    for i, row in enumerate(sections.get("notes", [])):
        try:
            branch.set(note_key(bytes.fromhex(row["author"])), str(row["text"]).encode())
        except (KeyError, ValueError, TypeError) as exc:
            raise GenesisError(f"notes[{i}]: {exc}") from exc


def export_genesis(store: KVReader) -> dict[str, Any]:
    return {"notes": [{"author": k[1:].hex(), "text": v.decode()} for k, v in _notes(store)]}


def notes_fit(store: KVReader) -> str | None:  # invariants.py
    long = [k.hex() for k, v in _notes(store) if len(v) > MAX_NOTE_BYTES]
    return f"notes over {MAX_NOTE_BYTES} bytes: {long}" if long else None


NOTES = Domain(  # domain.py
    name="notes",
    key_prefixes=frozenset(PREFIX),
    error_range=ERROR_RANGE,
    errors=NotesCode,
    messages=(MessageSpec(wrappers_pb2.StringValue, PostNote, post_note_from_proto, post_note),),
    queries={Paths.NOTE.root: note},
    events=EVENTS,
    genesis_sections=("notes",),
    genesis_import=import_genesis,
    genesis_export=export_genesis,
    invariants=(notes_fit,),
)


# -- the client builder: clients/notes.py -------------------------------------------------------


def post(text: str) -> wrappers_pb2.StringValue:
    """A note to post."""
    return wrappers_pb2.StringValue(value=text)


# -- registered once (abci_app/registry.py's DOMAINS), for this module's tests ------------------


@pytest.fixture
def notes_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register NOTES beside the real domains (as one line in registry.DOMAINS would), undone after."""
    domains = (*registry.DOMAINS, NOTES)
    tables = registry.assemble(domains)  # refuses any overlap with the real domains
    for name, table in (
        ("MESSAGES", tables.messages),
        ("HANDLERS", tables.handlers),
        ("ACTIONS", tables.actions),
        ("QUERIES", tables.queries),
        ("ERROR_NAMES", tables.error_names),
    ):
        shared: dict[Any, Any] = getattr(registry, name)
        for key, value in table.items():
            if key not in shared:
                monkeypatch.setitem(shared, key, value)
    for module in (registry, app_module, genesis_module):
        monkeypatch.setattr(module, "DOMAINS", domains)


@pytest.mark.usefixtures("notes_registered")
def test_a_new_domain_works_end_to_end(consortium: Consortium) -> None:
    """Its message is accepted and emits its event, its query answers with a proof, its error code
    and name reach the tx result, and its invariant holds."""
    driver = AppDriver(consortium)
    alice = consortium.member("community-a/alice")
    result = driver.block([signed(driver, alice, post("hello"))])
    assert result.codes == (0,)
    assert [e.type for e in result.tx_results[0].events if e.type == NOTE_POSTED] == [NOTE_POSTED]
    answer = driver.query(Paths.NOTE(alice.address), prove=True)
    assert (answer.code, answer.value, answer.key) == (0, b"hello", note_key(alice.address))
    assert len(answer.proof_ops.ops) == 1
    too_long = driver.block([signed(driver, alice, post("x" * (MAX_NOTE_BYTES + 1)))], check=False)
    assert too_long.codes == (NotesCode.NOTE_TOO_LONG,)
    assert too_long.tx_results[0].log.startswith("NOTE_TOO_LONG")
    assert registry.check_invariants(driver.app.state) == []
    assert type_url(wrappers_pb2.StringValue) in registry.MESSAGES


@pytest.mark.usefixtures("notes_registered")
def test_a_new_domain_genesis_round_trips(consortium: Consortium) -> None:
    """Its genesis section exports what it stored and an import rebuilds its keys byte for byte."""
    driver = AppDriver(consortium)
    alice = consortium.member("community-a/alice")
    driver.block([signed(driver, alice, post("kept across a restart"))])
    app_state, fresh = export_and_import(driver.app.state)
    assert app_state["notes"] == [{"author": alice.address.hex(), "text": "kept across a restart"}]
    assert differences(NOTES, driver.app.state, fresh) == []


def test_without_registration_the_message_is_unknown(consortium: Consortium) -> None:
    """Unregistered (the line in registry.DOMAINS left out), the same tx fails UNKNOWN_MESSAGE."""
    driver = AppDriver(consortium)
    alice = consortium.member("community-a/alice")
    result = driver.block([signed(driver, alice, post("hello"))], check=False)
    assert result.codes == (Code.UNKNOWN_MESSAGE,)
