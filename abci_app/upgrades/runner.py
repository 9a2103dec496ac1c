"""What an app does about the pending upgrade plan: at its height, run the migration (before the
block's txs) or stop; at start, refuse a version that is too old or too new for the next height.

The halt: `run_due_upgrade` raises UpgradeNeeded before the block changes anything; the server
writes the plan to UPGRADE_INFO_FILE in the app's home and exits with EXIT_UPGRADE_NEEDED without
answering FinalizeBlock, so nothing of the height is staged or committed. CometBFT has already
stored the decided block; it stops when its app connection breaks, and when both are restarted
with the new version its handshake replays that block into the new app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gridwire.contract.governance import EXIT_UPGRADE_NEEDED, EXIT_UPGRADE_TOO_EARLY, UPGRADE_APPLIED

from abci_app.governance import upgrades
from abci_app.governance.records import AppliedUpgrade, UpgradePlan
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration

__all__ = [
    "RefusedState",
    "StartRefusal",
    "UpgradeNeeded",
    "needed_message",
    "refuse_unrunnable",
    "run_due_upgrade",
    "start_refusal",
    "write_upgrade_info",
]


class UpgradeNeeded(Exception):  # noqa: N818 - a halt signal, not an error of the request
    """The block at `plan.height` needs a migration this app does not implement."""

    def __init__(self, plan: UpgradePlan) -> None:
        super().__init__(needed_message(plan))
        self.plan = plan


def needed_message(plan: UpgradePlan) -> str:
    """The line an app without the upgrade logs when it stops: UPGRADE NEEDED <name> at height H (info)."""
    return f"UPGRADE NEEDED {plan.name} at height {plan.height} ({plan.info})"


def run_due_upgrade(store: Branch, block: BlockInfo, migrations: Mapping[str, Migration]) -> list[Event]:
    """If the pending plan is due at `block.height`, run its migration on `store`, record it as
    applied and remove the plan (in the same writes); raise UpgradeNeeded, having written
    nothing, if this app does not implement it. Nothing happens at any other height, so no block
    content can bring a migration forward: only a passed plan in state, at its height, runs it."""
    plan = upgrades.get_plan(store)
    if plan is None or plan.height > block.height:
        return []
    migration = migrations.get(plan.name)
    if migration is None:
        raise UpgradeNeeded(plan)
    events = migration.apply(store, block)  # a bug here raises: the node stops rather than skip it
    upgrades.mark_applied(store, AppliedUpgrade(plan.name, block.height))
    upgrades.clear_plan(store)
    return [*events, Event.of(UPGRADE_APPLIED, name=plan.name, height=block.height)]


@dataclass(frozen=True, slots=True)
class StartRefusal:
    exit_code: int
    reason: str
    plan: UpgradePlan


def start_refusal(committed: KVReader, height: int, migrations: Mapping[str, Migration]) -> StartRefusal | None:
    """Why an app must not start on a state committed at `height`, or None. Too old: the plan is
    due at the next height and this app lacks its migration (it would stop there anyway), or the
    chain already ran an upgrade this app does not implement (an old version restarted after the
    upgrade). Too new: the app implements a planned upgrade whose height is still more than one
    block ahead (it must not run blocks before the height as the new version; run the previous
    version until then)."""
    for applied in upgrades.iter_applied(committed):
        if applied.name not in migrations:
            ran = UpgradePlan(applied.name, applied.height, "it ran already on this chain", 0)
            return StartRefusal(EXIT_UPGRADE_NEEDED, needed_message(ran), ran)
    plan = upgrades.get_plan(committed)
    if plan is None:
        return None
    if plan.name not in migrations:
        if plan.height <= height + 1:
            return StartRefusal(EXIT_UPGRADE_NEEDED, needed_message(plan), plan)
        return None
    if plan.height > height + 1:
        reason = (
            f"UPGRADE TOO EARLY: this app implements upgrade {plan.name}, planned at height {plan.height}, "
            f"but the chain is at height {height}; run the previous version until height {plan.height - 1}"
        )
        return StartRefusal(EXIT_UPGRADE_TOO_EARLY, reason, plan)
    return None


class RefusedState(Exception):  # noqa: N818 - a stop signal, like UpgradeNeeded
    """A state this version must not run on (`start_refusal`), met where it would otherwise be
    installed: a state sync restore. The process stops as it would at start, with the same code."""

    def __init__(self, refusal: StartRefusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def refuse_unrunnable(state: KVReader, height: int, migrations: Mapping[str, Migration]) -> None:
    """Raise RefusedState if this version must not run on `state` committed at `height`."""
    refusal = start_refusal(state, height, migrations)
    if refusal is not None:
        raise RefusedState(refusal)


def write_upgrade_info(path: Path, plan: UpgradePlan) -> None:
    """Tell the supervisor which upgrade is due: {"name", "height", "info"} (written atomically)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"name": plan.name, "height": plan.height, "info": plan.info}, indent=2))
    os.replace(tmp, path)
