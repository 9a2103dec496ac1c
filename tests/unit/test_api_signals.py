"""Signals out of blocks: the same answer from a websocket NewBlock and from block_results,
addressed by feeder and owner; reading results out of a SubmitReadings tx's events."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from gridledger.api.v1 import gateway_pb2

from clients.servers.api_gateway import reading_results
from clients.signals import SignalFilter, needs_tx_hashes, signals_of_block_results, signals_of_new_block

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


def _instruction(site: str, owner: str, feeder: str) -> dict[str, Any]:
    return _event(
        "grid_instruction",
        interval="1781956800",
        interval_end="1781957700",
        feeder=feeder,
        site=site,
        owner=owner,
        export_cap_w="3000",
        import_cap_w="unlimited",
        reason="feeder_export_limit",
    )


INSTRUCTIONS = [
    _instruction("alice-home", "aa" * 20, "F1"),
    _instruction("bob-home", "bb" * 20, "F1"),
    _instruction("carol-home", "cc" * 20, "f2"),
]


def _instruction_block() -> dict[str, Any]:
    return {
        "block": {"header": {"height": "9"}, "data": {"txs": []}},
        "result_finalize_block": {"tx_results": [], "events": [_event("alert", owner="aa" * 20), *INSTRUCTIONS]},
    }


def test_grid_instructions_reach_the_sites_owner_or_its_feeder() -> None:
    """A grid instruction is an INSTRUCTION signal for the subscriber whose owner owns the site or
    whose feeder is the site's feeder (owner OR feeder), never for anyone else; replay gives the same."""

    def sites(who: SignalFilter) -> list[str]:
        _, got = signals_of_new_block(_instruction_block(), who)
        assert all(s.kind == gateway_pb2.SIGNAL_KIND_INSTRUCTION for s in got if s.type == "grid_instruction")
        replayed = signals_of_block_results(
            {"txs_results": [], "finalize_block_events": _instruction_block()["result_finalize_block"]["events"]},
            [],
            who,
        )
        assert replayed == got
        return [{a.key: a.value for a in s.attributes}["site"] for s in got if s.type == "grid_instruction"]

    assert sites(SignalFilter(owner="AA" * 20)) == ["alice-home"]  # the owner's site, whatever its feeder
    assert sites(SignalFilter(owner="aa" * 20, feeder="f2")) == ["alice-home", "carol-home"]  # owner OR feeder
    assert sites(SignalFilter(feeder="F1")) == ["alice-home", "bob-home"]  # the feeder's sites
    assert sites(SignalFilter(feeder="f1")) == []  # feeder ids are case-preserving
    assert sites(SignalFilter(owner="dd" * 20, feeder="f3")) == []
    assert sites(SignalFilter()) == ["alice-home", "bob-home", "carol-home"]
    # other types keep owner AND feeder: the owner's alert reaches Alice on any feeder, not Bob
    _, bob = signals_of_new_block(_instruction_block(), SignalFilter(owner="bb" * 20, feeder="F1"))
    assert [s.type for s in bob] == ["grid_instruction", "grid_instruction"]  # Alice's alert is not his


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
    from clients.signals import SIGNAL_TYPES

    emitted = set().union(*(d.events for d in DOMAINS))
    assert "reading_accepted" in emitted
    assert "grid_instruction" in emitted  # the market's instructions (issue 15's contract)
    assert sorted(set(SIGNAL_TYPES) - emitted) == []
