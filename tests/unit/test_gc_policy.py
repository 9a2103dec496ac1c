"""The app process's garbage-collector policy (abci_app/gc_policy.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from abci_app import gc_policy
from tests.support.driver import AppDriver


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_install_freezes_and_refreezes_after_commits(restore_gc: None, consortium: Any) -> None:
    """Installing freezes the heap, raises only generation 0's threshold, and every `every`-th Commit re-freezes."""
    driver = AppDriver(consortium)
    driver.block([])
    gen1, gen2 = gc.get_threshold()[1:]
    gc_policy.install(driver.app, every=2)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (gc_policy.GEN0_THRESHOLD, gen1, gen2)
    gc.unfreeze()
    driver.block([])
    assert gc.get_freeze_count() == 0  # the first Commit after install: not yet
    driver.block([])
    assert gc.get_freeze_count() > 0


def test_policy_changes_no_app_hash(restore_gc: None, consortium: Any) -> None:
    """The same blocks give the same app hashes with and without the policy installed."""
    plain, tuned = AppDriver(consortium), AppDriver(consortium)
    gc_policy.install(tuned.app, every=1)
    for _ in range(3):
        assert plain.block([]).app_hash == tuned.block([]).app_hash
