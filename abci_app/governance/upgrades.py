"""State access for software upgrades: the pending plan (at most one) and the applied upgrades.

A plan is set by a passed ScheduleUpgrade and removed by a passed CancelUpgrade or when its
migration runs at its height (abci_app/upgrades/runner.py), which also records it as applied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gridwire.contract.governance import UPGRADE_NAME_PATTERN

from abci_app.governance import keys
from abci_app.governance.records import AppliedUpgrade, UpgradePlan
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "DR_RETENTION",
    "HOUR_INDEXES",
    "MARKET_RETENTION",
    "MAX_INFO_BYTES",
    "PROPOSAL_KINDS",
    "RETIRED_BUNDLES_FIRST",
    "clear_plan",
    "get_plan",
    "is_applied",
    "is_upgrade_name",
    "iter_applied",
    "mark_applied",
    "set_plan",
]

MAX_INFO_BYTES = 1_024
# The upgrade whose migration adds `action_kind` to proposals; once it ran, new proposals carry it too.
PROPOSAL_KINDS = "proposal-kinds"
# The upgrade whose migration enters the clear-sky holds and hourly-matching claims stored before their
# production-hour indexes existed in those indexes (abci_app/upgrades/hour_indexes.py).
HOUR_INDEXES = "hour-indexes"
# The upgrade from which retired bundles leave live state ahead of their retirements, whose migration
# enters the retirements stored before in their owners' index (abci_app/upgrades/retired_bundles_first.py).
RETIRED_BUNDLES_FIRST = "retired-bundles-first"
# The upgrade from which settled market intervals leave live state after market.retention_seconds,
# whose migration enters the statements stored before in their interval's index
# (abci_app/upgrades/market_retention.py).
MARKET_RETENTION = "market-retention"
# The upgrade from which settled demand-response events' enrolments leave live state after
# grid.dr_retention_seconds, whose migration enters the events settled before in the pruning index
# (abci_app/upgrades/dr_retention.py).
DR_RETENTION = "dr-retention"
_NAME = re.compile(UPGRADE_NAME_PATTERN)


def is_upgrade_name(text: str) -> bool:
    """True if `text` is a valid upgrade name: [a-z0-9][a-z0-9._-]{0,63} (safe as a folder name)."""
    return _NAME.fullmatch(text) is not None


def get_plan(store: KVReader) -> UpgradePlan | None:
    """The pending upgrade plan, or None."""
    raw = store.get(keys.upgrade_plan())
    return None if raw is None else UpgradePlan.decode(raw)


def set_plan(store: Branch, plan: UpgradePlan) -> None:
    """Store the pending upgrade plan, replacing any earlier one."""
    store.set(keys.upgrade_plan(), plan.encode())


def clear_plan(store: Branch) -> None:
    """Delete the pending upgrade plan (nothing if none)."""
    store.delete(keys.upgrade_plan())


def is_applied(store: KVReader, name: str) -> bool:
    """True once the upgrade `name`'s migration ran on this chain."""
    return store.get(keys.applied_upgrade(name)) is not None


def mark_applied(store: Branch, applied: AppliedUpgrade) -> None:
    """Record that the upgrade's migration ran, at its height: it never runs again."""
    store.set(keys.applied_upgrade(applied.name), applied.encode())


def iter_applied(store: KVReader) -> Iterator[AppliedUpgrade]:
    """Applied upgrades in key order (by name length, then name)."""
    start = keys.applied_upgrade_prefix()
    for _k, v in store.iter_range(start, prefix_end(start)):
        yield AppliedUpgrade.decode(v)
