"""Bounded market state (abci_app/market/prune.py): a settled interval's statements, fills, orders,
clearing result, upstream trade and instructions, and old alerts, leave live state after the
retention, provably from the block's archive against the app hash; an interval still to settle
holds pruning back; the work per block is bounded; the in-between state travels through genesis
byte for byte; the invariants catch a broken index or cursor."""

from __future__ import annotations

import copy
import json

import pytest
from gridledger.market.v1 import market_pb2 as mpb
from gridwire.contract import market as contract
from gridwire.contract.market import MARKET_ARCHIVED, MarketCode

from abci_app.domain import GenesisError
from abci_app.market import invariants, keeper, keys, prune
from abci_app.market.domain import DOMAIN as MARKET
from abci_app.market.params import PRUNE_PER_BLOCK, RETENTION
from abci_app.market.records import CLEARED, OPEN
from abci_app.registry import check_invariants
from abci_app.store.branch import Branch, KVReader
from abci_app.store.scan import first_time
from clients import archive, gridctl
from clients.ops.consortium import Consortium
from clients.proof import ProofError
from tests.support.archive_check import Archiving, archived_events, proven_records
from tests.support.driver import AppDriver, BlockResult
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.test_certificates_prune import _ArchiveNode, _Headers
from tests.unit.test_market import GRACE, L
from tests.unit.test_market_genesis import _import_with_escrow, build_market

# a retention of four intervals and no correction window: an interval is due 5 L + GRACE after it ends
RETAIN = 4 * L
FAST = {RETENTION: RETAIN, "market.correction_window_seconds": 0}


def _archived(result: BlockResult) -> list[dict[str, str]]:
    return archived_events(result, archive.MARKET)


def _market_rows(state: KVReader) -> dict[bytes, bytes]:
    return {k: v for p in sorted(MARKET.key_prefixes) for k, v in state.iter_range(bytes([p]), bytes([p + 1]))}


def _orders_of(state: KVReader, interval: int) -> list[mpb.Order]:
    return _orders_of_snapshot(dict(state.iter_range(keys.ORDER, keys.BOOK)), interval)


@pytest.fixture
def pruned(consortium: Consortium) -> tuple[AppDriver, int, dict[bytes, bytes], Archiving]:
    """The genesis scenario's market on a chain with a short retention, run until its first interval
    (the one traded across feeders and settled against readings) has been due for a while; returns
    the driver, that interval, the market's rows at the scenario's end, and the blocks that archived
    anything with the rows before each."""
    driver = AppDriver(consortium, params=FAST)
    build_market(driver, consortium)
    first = first_time(driver.app.state, keys.CLEARING)
    assert first is not None
    assert prune.cutoff(driver.app.state, driver.time) <= first  # nothing of the scenario is due yet
    at_end = _market_rows(driver.app.state)
    archiving: Archiving = []
    while driver.time <= first + L + GRACE + RETAIN + 2 * L:
        rows = _market_rows(driver.app.state)
        result = driver.block([], seconds=L // 3)
        if _archived(result):
            archiving.append((result, rows))
    return driver, first, at_end, archiving


def test_a_settled_interval_leaves_live_state_and_is_proven_from_the_archive(
    pruned: tuple[AppDriver, int, dict[bytes, bytes], Archiving],
) -> None:
    """The first interval's orders, fills, statements and clearing result leave; each archived record
    is the bytes it held in live state, proven against the app hash; the queries of its records
    answer RECORD_ARCHIVED, while a later interval's still answer."""
    driver, first, before, archiving = pruned
    state = driver.app.state
    assert archiving, "nothing was archived"
    settled = _orders_of_snapshot(before, first)
    assert {o.status for o in settled} >= {mpb.ORDER_STATUS_SETTLED, mpb.ORDER_STATUS_CANCELLED}
    owners = {bytes(o.owner) for o in settled}
    assert all(state.get(keys.order(o.order_id)) is None for o in settled)
    assert all(state.get(keys.statement(owner, first)) is None for owner in owners)
    assert state.get(keys.clearing(first)) is None
    assert next(iter(state.iter_range(keys.fill_prefix(first), keys.fill_prefix(first + 1))), None) is None

    archived = proven_records(driver, archiving, archive.MARKET)
    assert keys.clearing(first) in archived
    assert {keys.statement(owner, first) for owner in owners} <= archived.keys()
    assert {keys.order(o.order_id) for o in settled} <= archived.keys()
    kinds = {k[:1] for k in archived}
    assert {keys.FILL, keys.FILLS_BY_OWNER, keys.ORDERS_BY_OWNER, keys.ALERT, keys.ALERTS_BY_OWNER} <= kinds
    assert keys.STATEMENTS_BY_INTERVAL[:1] in kinds  # the statements' index entries (SUBFAMILIES)

    for path in (f"/order/{settled[0].order_id}", f"/clearing/{first}", f"/statement/{owners.pop().hex()}/{first}"):
        answer = driver.query(path)
        assert answer.code == MarketCode.RECORD_ARCHIVED, path
        assert "market_archived" in answer.log
    latest = first_time(state, keys.CLEARING)
    assert latest is not None
    assert latest > first
    assert driver.query(f"/clearing/{latest}").code == 0
    live = [o for o in _orders_of(state, latest) if o.status not in (OPEN, CLEARED)]
    assert all(driver.query(f"/order/{o.order_id}").code == 0 for o in live)


def _orders_of_snapshot(rows: dict[bytes, bytes], interval: int) -> list[mpb.Order]:
    orders = [mpb.Order.FromString(v) for k, v in rows.items() if k[:1] == keys.ORDER]
    return [o for o in orders if o.interval_start == interval]


def test_an_interval_awaiting_settlement_holds_pruning_back(consortium: Consortium) -> None:
    """However far the clock, nothing of an interval still awaiting settlement, or after it, is due."""
    driver = AppDriver(consortium, params=FAST)
    build_market(driver, consortium)
    state = driver.app.state
    due = [t for t, _order in keeper.iter_settle_due(state)]
    assert due, "the scenario leaves a cleared interval awaiting settlement"
    assert prune.cutoff(state, driver.time + 10**9) <= min(due)
    assert prune.cutoff(state, driver.time) <= driver.time - L - GRACE + 1


def test_work_per_block_is_bounded(consortium: Consortium) -> None:
    """With market.prune_per_block 1, a block examines one row: it archives at most a row and its
    index entry, and the backlog goes on over the next blocks until it is gone."""
    driver = AppDriver(consortium, params={**FAST, PRUNE_PER_BLOCK: 1})
    build_market(driver, consortium)
    first = first_time(driver.app.state, keys.CLEARING)
    assert first is not None
    driver.block([], seconds=first + L + GRACE + RETAIN + L - driver.time)
    counts = []
    for _ in range(60):
        result = driver.block([])
        events = _archived(result)
        counts.append(int(events[0]["count"]) if events else 0)
        if not events and counts[-2:] == [0, 0]:
            break
    assert max(counts) <= 2
    assert sum(1 for c in counts if c) >= 10
    assert driver.app.state.get(keys.clearing(first)) is None


def test_pruned_state_round_trips_through_genesis(
    pruned: tuple[AppDriver, int, dict[bytes, bytes], Archiving],
) -> None:
    """The cursors, the cutoff and the commitments travel in the export, byte for byte; an import
    refuses a live order the cursor has passed and a malformed commitment."""
    driver, _first, _before, _archiving = pruned
    state = driver.app.state
    exported, fresh = export_and_import(state)
    section = exported["market"]
    assert len(section["archive_commitments"]) >= 1
    assert int(section["counters"][prune.ARCHIVE_ORDER]) > 0
    assert int(section["counters"][prune.ARCHIVE_INTERVAL]) > 0
    assert differences(MARKET, state, fresh) == []
    assert check_invariants(fresh) == []

    lowest = min(int(o["orderId"]) for o in section["orders"])
    behind = copy.deepcopy(exported)
    behind["market"]["counters"][prune.ARCHIVE_ORDER] = str(lowest)
    store, block, rest = _import_with_escrow(driver, behind)
    with pytest.raises(GenesisError, match=r"market\.orders: order .* pruning archived"):
        MARKET.genesis_import(store, block, rest)  # type: ignore[misc]
    bad = copy.deepcopy(exported)
    bad["market"]["archive_commitments"][0]["count"] = "0"
    store, block, rest = _import_with_escrow(driver, bad)
    with pytest.raises(GenesisError, match=r"market\.archive_commitments\[0\]"):
        MARKET.genesis_import(store, block, rest)  # type: ignore[misc]
    assert json.loads(json.dumps(section)) == section


def test_invariants_catch_a_broken_statement_index_or_cursor(
    pruned: tuple[AppDriver, int, dict[bytes, bytes], Archiving],
) -> None:
    driver = pruned[0]
    broken = Branch(driver.app.state)
    interval, owner = next(keeper.iter_statement_index(broken))
    broken.delete(keys.statement_by_interval(interval, owner))
    assert invariants.statements_indexed_by_interval(broken) is not None
    assert invariants.statements_indexed_by_interval(driver.app.state) is None
    ahead = Branch(driver.app.state)
    live = first_time(ahead, keys.ORDER)
    assert live is not None
    keeper.set_counter(ahead, prune.ARCHIVE_ORDER, live)
    assert invariants.archived_behind_cursors(ahead) == (
        f"order {live} is live, but pruning archived every order up to {live}"
    )
    assert invariants.archived_behind_cursors(driver.app.state) is None


def test_the_contract_names_the_keys_the_ledger_archives() -> None:
    """What an auditor's client builds is the state key the ledger archives under."""
    owner = bytes(range(20))
    assert contract.order_key(7) == keys.order(7)
    assert contract.alert_key(7) == keys.alert(7)
    assert contract.clearing_key(900) == keys.clearing(900)
    assert contract.statement_key(owner, 900) == keys.statement(owner, 900)
    assert contract.archive_commitment_key(12) == keys.archive_commitment(12)


def test_an_auditor_finds_and_proves_an_archived_order_from_when_it_was_due(consortium: Consortium) -> None:
    """From the time the first interval became due, the client finds the block that archived one of its
    orders (header times, then the blocks' archives) and proves the order against the app hash, from
    an untrusted node; a search from after that block finds nothing."""
    driver = AppDriver(consortium, params=FAST)
    build_market(driver, consortium)
    state = driver.app.state
    first = first_time(state, keys.CLEARING)
    assert first is not None
    order = next(o for o in _orders_of(state, first) if o.status == mpb.ORDER_STATUS_SETTLED)
    stored = state.get(keys.order(order.order_id))
    blocks: dict[int, tuple[int, BlockResult]] = {}
    while driver.time <= first + L + GRACE + RETAIN + 2 * L:
        result = driver.block([], seconds=L // 3)
        blocks[result.height] = (driver.time, result)
    key = contract.order_key(order.order_id)
    node = _ArchiveNode(driver, blocks)
    due = first + L + GRACE + RETAIN
    found = archive.find_archiving_block(node, key, due, source=archive.MARKET)  # type: ignore[arg-type]
    assert any(k == key for k, _v in archive.archived_block(MARKET_ARCHIVED, _archived(blocks[found][1])[0],
                                                             archive.MARKET).records)  # fmt: skip
    headers = _Headers(blocks[max(blocks)][1].app_hash)
    proof = archive.fetch_archived(node, found, key, headers, archive.MARKET)  # type: ignore[arg-type]
    assert proof.value == stored
    with pytest.raises(ProofError, match="archived the record"):
        archive.find_archiving_block(node, key, blocks[found][0] + 1, source=archive.MARKET)  # type: ignore[arg-type]
    with pytest.raises(ProofError, match=r"expected a certificates_archived event, got 'market_archived'"):
        archive.archived_block(MARKET_ARCHIVED, _archived(blocks[found][1])[0])  # the certificates' source


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--order", "3"], "give the HEIGHT that archived it"),
        (["12", "--statement", "00" * 20], "--statement MEMBER and --interval START together"),
        (["12", "--order", "3", "--alert", "4"], "give one of --order ID"),
        (["12"], "give one of --order ID"),
    ],
)
def test_gridctl_market_archived_refuses_an_incomplete_request_with_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before it asks any node: one line on stderr and exit 2."""
    assert gridctl.main(["--node", "http://127.0.0.1:1", "market-archived", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert len(err.strip().splitlines()) == 1
