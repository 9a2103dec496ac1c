"""The check every pruning test makes of the blocks that archived records: each record in a block's
`<domain>_archived` event is the bytes live state held before that block, is gone from live state,
and is proven against the app hash through the block's archive commitment (clients/archive.py)."""

from __future__ import annotations

from google.protobuf.json_format import MessageToDict

from clients import archive
from tests.support.driver import AppDriver, BlockResult

__all__ = ["Archiving", "archived_events", "proven_records"]

# a block that archived records, with the domain's rows in live state before it
Archiving = list[tuple[BlockResult, dict[bytes, bytes]]]


def archived_events(result: BlockResult, source: archive.ArchiveSource) -> list[dict[str, str]]:
    """The attributes of the block's `<domain>_archived` events (at most one)."""
    return [{a.key: a.value for a in e.attributes} for e in result.response.events if e.type == source.event_type]


def proven_records(driver: AppDriver, archiving: Archiving, source: archive.ArchiveSource) -> dict[bytes, bytes]:
    """Every record the blocks archived, key → value, each checked as the module doc says."""
    archived: dict[bytes, bytes] = {}
    for result, rows in archiving:
        (attributes,) = archived_events(result, source)
        block = archive.archived_block(source.event_type, attributes, source)
        commitment = MessageToDict(driver.query(source.commitment_query(block.height), prove=True))
        for key, value in block.records:
            assert rows.get(key) == value, f"{key.hex()} was not what live state held"
            assert driver.app.state.get(key) is None
            proof = archive.prove_record(block, key)
            assert archive.verify_archived_record(proof, commitment, driver.app.state.app_hash, source) == value
            archived[key] = value
    return archived
