"""Bounded demand-response state (abci_app/grid/prune.py): a settled event's enrolments leave live
state after grid.dr_retention_seconds, a bounded number per block, provably from the block's archive
against the app hash; the event stays, marked archived, and keeps its id taken; the pruned state
round-trips through genesis; the upgrade dr-retention indexes a running chain's settled events."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from google.protobuf.json_format import MessageToDict
from gridledger.grid.v1 import grid_pb2
from gridwire.contract import grid as contract
from gridwire.contract.grid import GridCode

from abci_app.domain import GenesisError
from abci_app.governance.upgrades import DR_RETENTION
from abci_app.grid import invariants, keeper, keys
from abci_app.grid.domain import DOMAIN as GRID
from abci_app.grid.params import PRUNE_PER_BLOCK, RETENTION
from abci_app.registry import check_invariants
from abci_app.store.branch import Branch, KVReader
from abci_app.upgrades import dr_retention
from abci_app.upgrades.registry import RELEASED
from clients import archive, gridctl
from clients.ops.consortium import Consortium
from tests.support.archive_check import Archiving, archived_events, proven_records
from tests.support.driver import AppDriver, BlockResult
from tests.support.genesis_roundtrip import differences, export_and_import, import_exported
from tests.unit.helpers import balance
from tests.unit.test_certificates_prune import _ArchiveNode, _Headers
from tests.unit.test_grid import T0, _code, _until, programme_meters
from tests.unit.test_upgrade_hour_indexes import migrate_index_at_plan

GRACE = 900  # grid.dr_settlement_grace_seconds' default
RETAIN = 3_600
START = T0 + 1800  # the events' window: [START, START + 900)
DUE = START + 900 + GRACE + RETAIN  # when their enrolments become due for pruning


def _archived(result: BlockResult) -> list[dict[str, str]]:
    return archived_events(result, archive.GRID)


def _grid_rows(state: KVReader) -> dict[bytes, bytes]:
    return {k: v for p in sorted(GRID.key_prefixes) for k, v in state.iter_range(bytes([p]), bytes([p + 1]))}


def _event(driver: AppDriver, event_id: str) -> grid_pb2.DrEvent:
    return grid_pb2.DrEvent.FromString(driver.query(f"/dr/{event_id}").value)


def settled_events(consortium: Consortium, budget: int) -> AppDriver:
    """Two settled events on one feeder: "one" with meter-a's and meter-2's enrolments, "two" with
    meter-3's; the chain's retention is RETAIN and pruning takes `budget` steps a block."""
    params = {
        "grid.dr_baseline_days": 1,
        "grid.dr_baseline_period_seconds": 10,
        RETENTION: RETAIN,
        PRUNE_PER_BLOCK: budget,
    }
    driver = AppDriver(consortium, params=params)
    operator, alice = programme_meters(driver, consortium)
    events = [
        grid_pb2.PublishDrEvent(
            event_id=e, feeder="feeder-1", start=START, end=START + 900, requested_reduction_wh=1, reward_per_kwh=1
        )
        for e in ("one", "two")
    ]
    assert _code(driver, operator, *events) == 0
    for event_id, device in (("one", "meter-a"), ("one", "meter-2"), ("two", "meter-3")):
        assert _code(driver, alice, grid_pb2.EnrolDr(event_id=event_id, device_id=device)) == 0
    _until(driver, START + 900 + GRACE + 60)
    assert _event(driver, "one").settled
    assert _event(driver, "two").settled
    return driver


@pytest.fixture
def pruned(consortium: Consortium) -> tuple[AppDriver, dict[bytes, bytes], Archiving]:
    """`settled_events` with two steps a block, run past DUE; returns the driver, the grid's rows
    before the first due block, and the blocks that archived anything with the rows before each."""
    driver = settled_events(consortium, budget=2)
    _until(driver, DUE - 1)
    assert not any(_event(driver, e).archived for e in ("one", "two"))
    before = _grid_rows(driver.app.state)
    archiving: Archiving = []
    for _ in range(4):
        rows = _grid_rows(driver.app.state)
        result = driver.block([])
        if _archived(result):
            archiving.append((result, rows))
    return driver, before, archiving


def test_nothing_leaves_before_the_retention(consortium: Consortium) -> None:
    """Up to the second before DUE the enrolments stay and no block archives anything."""
    driver = settled_events(consortium, budget=2)
    blocks = [driver.block([], seconds=s) for s in (60, DUE - 1 - driver.time - 60)]
    assert driver.time == DUE - 1
    assert not any(_archived(b) for b in blocks)
    enrolled = grid_pb2.DrEnrolmentList.FromString(driver.query("/dr_enrolments/one").value).enrolments
    assert sorted(e.device_id for e in enrolled) == ["meter-2", "meter-a"]


def test_settled_enrolments_leave_live_state_and_are_proven_from_the_archive(
    pruned: tuple[AppDriver, dict[bytes, bytes], Archiving],
) -> None:
    """Two steps a block: the first due block removes event one's two enrolments, the next marks it
    archived and removes event two's enrolment, the third marks two; every archived record is the
    bytes live state held, proven against the app hash; the events stay, with what was paid, and
    keep their ids; the enrolment queries answer DR_ENROLMENTS_ARCHIVED; money does not move."""
    driver, before, archiving = pruned
    state = driver.app.state
    counts = [(int(a["enrolments"]), int(a["events"])) for result, _rows in archiving for a in _archived(result)]
    assert counts == [(2, 0), (1, 1)]  # the third block archives no record: it only marks event two
    enrolments = {k: v for k, v in before.items() if k[:1] == keys.DR_ENROLMENT}
    assert len(enrolments) == 3
    archived = proven_records(driver, archiving, archive.GRID)
    assert archived == enrolments
    assert contract.enrolment_key("one", "meter-a") in archived
    assert not {k for k in _grid_rows(state) if k[:1] == keys.DR_ENROLMENT}
    assert not list(state.iter_range(keys.DR_SETTLED, keys.ARCHIVE))  # the pruning index is empty

    for event_id in ("one", "two"):
        stored = _event(driver, event_id)
        assert stored.archived
        assert stored.settled
        assert stored.paid == grid_pb2.DrEvent.FromString(before[keys.dr_event(event_id)]).paid
        answer = driver.query(f"/dr_enrolments/{event_id}")
        assert answer.code == GridCode.DR_ENROLMENTS_ARCHIVED
        assert "grid_archived" in answer.log
    assert check_invariants(state) == []
    operator = driver.consortium.member("gridop/control")
    again = grid_pb2.PublishDrEvent(
        event_id="one", feeder="feeder-1", start=driver.time + 3600, end=driver.time + 4500,
        requested_reduction_wh=1, reward_per_kwh=1,
    )  # fmt: skip
    assert _code(driver, operator, again) == GridCode.DR_EVENT_EXISTS
    quiet = driver.block([], seconds=600)
    assert not _archived(quiet)


def test_pruning_moves_no_money_and_a_later_event_is_untouched(consortium: Consortium) -> None:
    """Balances are the same before and after pruning; an event that ends later keeps its enrolments
    until its own retention has passed, to the second."""
    driver = settled_events(consortium, budget=100)
    alice = driver.consortium.member("community-a/alice")
    operator = driver.consortium.member("gridop/control")
    later = grid_pb2.PublishDrEvent(
        event_id="later", feeder="feeder-1", start=START + 7200, end=START + 8100, requested_reduction_wh=1,
        reward_per_kwh=1,
    )  # fmt: skip
    assert _code(driver, operator, later) == 0
    assert _code(driver, alice, grid_pb2.EnrolDr(event_id="later", device_id="meter-a")) == 0
    _until(driver, DUE - 1)
    money = (balance(driver, alice), balance(driver, operator))
    result = driver.block([])
    ((event,),) = [_archived(result)]
    assert (int(event["enrolments"]), int(event["events"])) == (3, 2)
    assert (balance(driver, alice), balance(driver, operator)) == money
    _until(driver, START + 8100 + GRACE)  # settles
    assert _event(driver, "later").settled
    assert not _event(driver, "later").archived
    assert driver.query("/dr_enrolments/later").code == 0
    _until(driver, START + 8100 + GRACE + RETAIN - 1)
    assert not _event(driver, "later").archived
    _until(driver, START + 8100 + GRACE + RETAIN)
    assert _event(driver, "later").archived


def test_pruned_state_round_trips_through_genesis(pruned: tuple[AppDriver, dict[bytes, bytes], Archiving]) -> None:
    """The archived events and the commitments travel in the export, byte for byte (the pruning index
    rebuilt from the events); an import refuses an enrolment of an archived event, an archived event
    that is not settled, and a malformed commitment."""
    driver, before, _archiving = pruned
    state = driver.app.state
    exported, fresh = export_and_import(state)
    section = exported["grid"]
    assert len(section["archive_commitments"]) == 2
    assert all(e["archived"] for e in section["dr_events"])
    assert "dr_enrolments" not in section or section["dr_enrolments"] == []
    assert differences(GRID, state, fresh) == []
    assert check_invariants(fresh) == []

    enrolment = MessageToDict(grid_pb2.DrEnrolment.FromString(before[keys.dr_enrolment("one", "meter-a")]))
    resurrected = copy.deepcopy(exported)
    resurrected["grid"]["dr_enrolments"] = [enrolment]
    with pytest.raises(GenesisError, match=r"grid\.dr_enrolments\[0\]: event 'one' is archived"):
        import_exported(state, resurrected)
    unsettled = copy.deepcopy(exported)
    unsettled["grid"]["dr_events"][0]["settled"] = False
    with pytest.raises(GenesisError, match=r"grid\.dr_events\[0\]\.archived"):
        import_exported(state, unsettled)
    bad = copy.deepcopy(exported)
    bad["grid"]["archive_commitments"][0]["count"] = "0"
    with pytest.raises(GenesisError, match=r"grid\.archive_commitments\[0\]"):
        import_exported(state, bad)


def test_invariants_catch_a_broken_pruning_index_or_an_archived_event_with_enrolments(
    consortium: Consortium,
) -> None:
    driver = settled_events(consortium, budget=2)
    state = driver.app.state
    assert invariants.settled_dr_events_indexed(state) is None
    unindexed = Branch(state)
    unindexed.delete(keys.dr_settled(START + 900, "one"))
    assert (invariants.settled_dr_events_indexed(unindexed) or "").startswith(
        "settled DR events not in the pruning index"
    )
    early = Branch(state)
    event = keeper.get_dr_event(early, "one")
    assert event is not None
    early.set(keys.dr_event("one"), replace(event, archived=True).encode())
    assert invariants.archived_dr_events_hold_no_enrolments(early) == (
        "DR event 'one' is archived but still has enrolments in live state"
    )
    assert invariants.archived_dr_events_hold_no_enrolments(state) is None


def test_the_contract_names_the_keys_the_ledger_archives() -> None:
    """What an auditor's client builds is the state key the ledger archives under."""
    assert contract.enrolment_key("peak-1", "meter-a") == keys.dr_enrolment("peak-1", "meter-a")
    assert contract.archive_commitment_key(12) == keys.archive_commitment(12)


def test_an_auditor_finds_and_proves_an_archived_enrolment_from_when_it_was_due(consortium: Consortium) -> None:
    """From DUE, the client finds the block that archived meter-2's enrolment (header times, then the
    blocks' archives) and proves it against the app hash, from an untrusted node."""
    driver = settled_events(consortium, budget=2)
    stored = driver.app.state.get(keys.dr_enrolment("one", "meter-2"))
    assert stored is not None
    blocks: dict[int, tuple[int, BlockResult]] = {}
    for seconds in (600, DUE - driver.time - 600, 1, 1, 1):
        result = driver.block([], seconds=seconds)
        blocks[result.height] = (driver.time, result)
    key = contract.enrolment_key("one", "meter-2")
    node = _ArchiveNode(driver, blocks)
    found = archive.find_archiving_block(node, key, DUE, source=archive.GRID)  # type: ignore[arg-type]
    assert blocks[found][0] == DUE
    headers = _Headers(blocks[max(blocks)][1].app_hash)
    proof = archive.fetch_archived(node, found, key, headers, archive.GRID)  # type: ignore[arg-type]
    assert proof.value == stored


def test_the_upgrade_indexes_the_previous_versions_settled_events(consortium: Consortium) -> None:
    """Settled events whose pruning-index entries the previous version never wrote fail
    settled_dr_events_indexed; at the governed height this version writes exactly their entries, a
    second run changes nothing, and once they are due pruning archives their enrolments."""
    driver = settled_events(consortium, budget=100)
    entries = [keys.dr_settled(START + 900, e) for e in ("one", "two")]
    assert all(driver.app.state.get(k) == b"" for k in entries)
    migrate_index_at_plan(
        driver,
        consortium,
        dr_retention.MIGRATION,
        entries,
        invariants.settled_dr_events_indexed,
        "settled DR events not in the pruning index",
    )
    assert DR_RETENTION in [m.name for m in RELEASED]
    _until(driver, max(DUE, driver.time + 1))
    assert _event(driver, "one").archived
    assert _event(driver, "two").archived


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--event", "one", "--device", "meter-a"], "give the HEIGHT that archived it"),
        (["12", "--event", "one"], "--event ID and --device ID together"),
        (["12", "--event", "one", "--device", "meter-a", "--key", "64"], "give one of --event ID --device ID"),
        (["12"], "give one of --event ID --device ID or --key HEX"),
    ],
)
def test_gridctl_dr_archived_refuses_an_incomplete_request_with_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before it asks any node: one line on stderr and exit 2."""
    assert gridctl.main(["--node", "http://127.0.0.1:1", "dr", "archived", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert len(err.strip().splitlines()) == 1
