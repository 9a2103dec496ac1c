"""Standing instructions (EnergyTag recurring transfer and recurring cancellation), run by
the end-block hook.

An instruction is due when its next production hour's issuance is final: the hour's end
plus the governed issuance grace has passed (issuance.py issues every device-hour by
then, barring a backlog beyond certificates.max_issuance_per_block). A due instruction takes
up to `wh` Wh of its owner's active certificates of that production hour, in bundle id
order, and transfers them to its target (if the target is still an active member that
accepts the owner: otherwise nothing moves) or retires them for its target as beneficiary,
for a consumption period equal to the production hour (so they count in hourly matching).
Then it moves on `every_hours` periods (its due-index entry moves with it), and is removed
after its last run. Whatever happened, a recurring_action_executed event says so (`skipped`
names why nothing moved).

Bounded work: at most MAX_RECURRING_PER_BLOCK due instructions per block, in (due hour, id)
order (the rest wait for the next blocks), each touching at most MAX_BUNDLES_PER_RUN bundles.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import islice

from abci_app.certificates import events, keeper, ops, registry_keeper
from abci_app.certificates.keeper import Sink
from abci_app.certificates.params import GRACE, period
from abci_app.certificates.registry_records import RecurringAction, RecurringKind
from abci_app.identity.keeper import get_member
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo

__all__ = ["MAX_BUNDLES_PER_RUN", "MAX_RECURRING_PER_BLOCK", "run_due"]

MAX_RECURRING_PER_BLOCK = 100
MAX_BUNDLES_PER_RUN = 32


def _skip_reason(store: Branch, action: RecurringAction) -> str:
    if action.kind != RecurringKind.TRANSFER:
        return ""
    target = get_member(store, action.target)
    if target is None or target.revoked:
        return "unknown_recipient"
    if not registry_keeper.accepts(store, action.target, action.owner):
        return "not_accepted"
    return ""


def _run(store: Branch, block: BlockInfo, action: RecurringAction, length: int, sink: Sink) -> tuple[int, str]:
    """Move up to action.wh of the owner's active certificates of action.next_hour; (Wh moved, skip reason)."""
    reason = _skip_reason(store, action)
    if reason:
        return 0, reason
    left = action.wh
    hour = action.next_hour
    for b in keeper.owner_hour_bundles(store, action.owner, hour)[:MAX_BUNDLES_PER_RUN]:
        if left == 0:
            break
        take = min(left, keeper.volume(b))
        if action.kind == RecurringKind.TRANSFER:
            ops.transfer(store, block, b, take, action.target, sink=sink)
        else:
            claim = ops.Claim(action.target, action.purpose, hour, hour + length)
            ops.retire(store, block, b, take, claim=claim, sink=sink)
        left -= take
    moved = action.wh - left
    return moved, "" if moved else "no_certificates"


def run_due(store: Branch, block: BlockInfo, sink: Sink) -> None:
    """Run the standing instructions due at this block (see the module doc)."""
    length = period(store)
    last = block.time - length - domain_param(store, GRACE)
    if last < 0:
        return
    due = list(islice(registry_keeper.iter_due(store, last), MAX_RECURRING_PER_BLOCK))
    for action in due:
        moved, reason = _run(store, block, action, length, sink)
        remaining = action.remaining - 1
        if remaining == 0:
            registry_keeper.delete_recurring(store, action)
        else:
            nxt = replace(action, next_hour=action.next_hour + action.every_hours * length, remaining=remaining)
            registry_keeper.put_recurring(store, nxt, action)
        extra = {"skipped": reason} if reason else {}
        sink.emit(
            events.RECURRING_ACTION_EXECUTED,
            action=action.action_id,
            owner=action.owner.hex(),
            kind=action.kind.name.lower(),
            hour=action.next_hour,
            wh=moved,
            remaining=remaining,
            **extra,
        )
