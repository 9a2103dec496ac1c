"""Signals out of blocks: the same answer from a websocket NewBlock and from block_results,
addressed by feeder and owner; reading results out of a SubmitReadings tx's events."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from gridledger.api.v1 import gateway_pb2

from clients.api_gateway import reading_results
from clients.api_signals import SignalFilter, needs_tx_hashes, signals_of_block_results, signals_of_new_block

TX = base64.b64encode(b"tx-bytes").decode()


def _event(type_: str, **attrs: str) -> dict[str, Any]:
    return {"type": type_, "attributes": [{"key": k, "value": v, "index": True} for k, v in attrs.items()]}


TX_EVENTS = [
    _event("message", sender="ab"),
    _event("dr_event", event_id="e1", feeder="f1", level="2"),
    _event("tariffs_set", supplier="cd", retail_per_kwh="300"),
]
BLOCK_EVENTS = [_event("alert", owner="aa" * 20, reason="NO_OFFER"), _event("dr_event", event_id="e2", feeder="f2")]
FAILED = {"code": 14, "events": [_event("dr_event", event_id="bad")]}


def _new_block() -> dict[str, Any]:
    return {
        "block": {"header": {"height": "7"}, "data": {"txs": [TX, TX]}},
        "result_finalize_block": {"tx_results": [{"code": 0, "events": TX_EVENTS}, FAILED], "events": BLOCK_EVENTS},
    }


def _results() -> dict[str, Any]:
    return {
        "height": "7",
        "txs_results": [{"code": 0, "events": TX_EVENTS}, FAILED],
        "finalize_block_events": BLOCK_EVENTS,
    }


def test_live_and_replayed_blocks_give_the_same_signals() -> None:
    """NewBlock and block_results of one block yield identical signals, failed txs excluded."""
    who = SignalFilter()
    height, live = signals_of_new_block(_new_block(), who)
    replayed = signals_of_block_results(_results(), [TX, TX], who)
    assert height == 7
    assert live == replayed
    assert [s.type for s in live] == ["dr_event", "tariffs_set", "alert", "dr_event"]
    assert live[0].kind == gateway_pb2.SIGNAL_KIND_DEMAND_RESPONSE
    assert live[0].tx_hash == hashlib.sha256(b"tx-bytes").digest()
    assert live[2].tx_hash == b""  # a block event
    assert needs_tx_hashes(_results(), who)


def test_feeder_and_owner_filters() -> None:
    """Feeder-addressed events go to that feeder only, owner-addressed ones to that owner only;
    unaddressed ones to everyone."""
    _, f1 = signals_of_new_block(_new_block(), SignalFilter(feeder="f1"))
    assert [s.type for s in f1] == ["dr_event", "tariffs_set", "alert"]
    _, other = signals_of_new_block(_new_block(), SignalFilter(owner="bb" * 20, feeder="f3"))
    assert [s.type for s in other] == ["tariffs_set"]
    _, mine = signals_of_new_block(_new_block(), SignalFilter(owner="AA" * 20, feeder="f2"))
    assert [(s.type, s.attributes[0].value) for s in mine] == [
        ("tariffs_set", "cd"),
        ("alert", "aa" * 20),
        ("dr_event", "e2"),
    ]
    assert not needs_tx_hashes({"txs_results": [{"code": 0, "events": [TX_EVENTS[0]]}]}, SignalFilter())


def test_reading_results_follow_the_events() -> None:
    """Each reading event becomes one result in order; other events are ignored."""
    events = [
        _event("message", sender="ab"),
        _event("reading_accepted", device="pv", seq="1", start="0", end="60"),
        _event("reading_duplicate", device="pv", seq="2", status="duplicate"),
        _event("reading_rejected", device="pv", seq="3", code="105", reason="SEQ_REPLAYED: seq 3"),
    ]
    got = [(r.device_id, r.seq, r.outcome, r.code, r.reason) for r in reading_results(events)]
    assert got == [
        ("pv", 1, gateway_pb2.READING_OUTCOME_ACCEPTED, 0, ""),
        ("pv", 2, gateway_pb2.READING_OUTCOME_DUPLICATE, 0, ""),
        ("pv", 3, gateway_pb2.READING_OUTCOME_REJECTED, 105, "SEQ_REPLAYED: seq 3"),
    ]


def test_signal_types_are_ledger_event_types() -> None:
    """Every type the stream forwards is an event type some registered domain emits."""
    from abci_app.registry import DOMAINS
    from clients.api_signals import SIGNAL_TYPES

    emitted = set().union(*(d.events for d in DOMAINS))
    assert "reading_accepted" in emitted
    assert sorted(set(SIGNAL_TYPES) - emitted) == []
