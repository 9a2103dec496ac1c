"""Crash and restart on the 4-validator localnet: kill -9, app-only kill, injected crash points.

Each test leaves the net whole (every pair running) and starts by healing it, so a failing
test does not cascade. A light load runs through node 0, which is never killed; every tx it
got accepted must end up committed.
"""

from __future__ import annotations

import subprocess

import pytest

from abci_app.faults import CRASH_EXIT_CODE
from abci_app.store.sqlite import SQLiteBackend
from clients.ops.localnet import Localnet
from tests.integration.support import (
    LoadGenerator,
    Wallet,
    assert_app_agrees,
    assert_same_app_hashes,
    heal,
    max_height,
    wait_until,
)

pytestmark = pytest.mark.integration

OTHERS_AHEAD = 3  # blocks the rest of the net makes while a node is down


@pytest.fixture
def load(net4: Localnet, wallet4: Wallet):
    """A light transfer load (10 tx/s) through node 0 for the duration of one test."""
    heal(net4)
    c = net4.consortium()
    gen = LoadGenerator(net4, wallet4, c.member("community-b/carol"), c.member("community-b/dave").address, node=0)
    with gen:
        yield gen


def _catch_up_and_compare(net: Localnet, i: int, load: LoadGenerator) -> None:
    """Node i reaches the others' height; all nodes agree on every app hash; no accepted tx was lost."""
    others = [j for j in range(net.n) if j != i]
    target = max_height(net, others) + 1
    net.wait_height(target, [i], timeout=30)
    net.wait_height(target, others, timeout=30)
    assert_same_app_hashes(net, range(net.n), target)
    assert_app_agrees(net, i, reference=others[0])
    load.stop()
    load.assert_all_committed(net.rpc(0))


def _let_others_advance(net: Localnet, i: int) -> None:
    others = [j for j in range(net.n) if j != i]
    net.wait_height(max_height(net, others) + OTHERS_AHEAD, others, timeout=30)


def test_kill9_pair_restarts_and_catches_up(net4: Localnet, load: LoadGenerator) -> None:
    """A validator and its app killed with SIGKILL come back, catch up and agree on every app hash."""
    i = 3
    net4.wait_height(max_height(net4, [0]) + 1)
    net4.stop_pair(i, kill=True)
    assert not net4.pair_alive(i)
    _let_others_advance(net4, i)
    net4.start_pair(i)
    _catch_up_and_compare(net4, i, load)


def test_kill9_app_only_stops_the_node_then_pair_recovers(net4: Localnet, load: LoadGenerator) -> None:
    """With only its app killed, the node exits (it stops on a lost ABCI connection); the restarted pair catches up."""
    i = 2
    node = net4.nodes[i]
    net4.kill_app(i)
    wait_until(lambda: node.poll() is not None, timeout=30, what=f"node{i} to stop without its app")
    _let_others_advance(net4, i)
    net4.stop_pair(i, kill=True)
    net4.start_pair(i)
    _catch_up_and_compare(net4, i, load)


@pytest.mark.parametrize(
    "point", ["after_finalize_block", "commit_before_write", "commit_mid_write", "commit_after_write"]
)
def test_crash_point_replays_to_the_same_app_hash(net4: Localnet, load: LoadGenerator, point: str) -> None:
    """An app crashing at a fault point exits 77; restarted without it, the pair replays to the others' app hashes."""
    i = 1
    net4.stop_pair(i)
    crash_height = max_height(net4, [0]) + OTHERS_AHEAD
    net4.start_pair(i, app_env={"GRIDLEDGER_CRASH_AT": f"{point}@{crash_height}"})
    app = net4.apps[i]
    try:
        code = app.wait(timeout=40)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the app did not crash at {point}@{crash_height}")
    assert code == CRASH_EXIT_CODE
    # One atomic write per Commit: only a crash after the write leaves block `crash_height` persisted.
    db = SQLiteBackend(net4.app_home(i) / "state.sqlite")
    try:
        meta = db.meta()
    finally:
        db.close()
    assert meta is not None
    assert meta.height == (crash_height if point == "commit_after_write" else crash_height - 1)
    net4.stop_pair(i, kill=True)
    net4.start_pair(i)
    _catch_up_and_compare(net4, i, load)
