"""Grid handlers (operator-only except the demand-response programme and enrolment) and
demand-response settlement.

Demand response: baselines that cannot be written afterwards.

A device's owner first makes it a member of its feeder's demand-response programme
(JoinDrProgramme; at most `grid.max_dr_members_per_feeder` members per feeder). Publishing
an event (PublishDrEvent, block time = the announcement A) snapshots, for every member of
the event's feeder, how far its accepted readings reached at that moment: the `end` E of
the device's last accepted reading (devices keeper reading state; 0 when it has none).

Why that is exact: a device's interval energy is written only by its readings, and a reading
writes only into its span [last end, end), which never starts before the device's last
accepted end (overlaps are refused). So once the reading end has passed an interval's end,
that interval's energy never changes again: every interval ending at or before E was final,
and committed, before the announcement. Nothing that arrives later (a backdated reading of
a silent device, a first reading reaching into the past) can add to it. (Assumed: the
settlement interval L is not changed by governance and changed back between the announcement
and the enrolment; a reading apportions with the L in force when it is accepted. If governance
lowers max_dr_members_per_feeder below the current membership, the first that many members
in key order are snapshotted.)

Enrolment (EnrolDr, by the device's owner, before the event starts) requires
- a snapshot of the device for the event (it was a programme member of the event's feeder
  at the announcement), else DR_NOT_IN_PROGRAMME (313);
- the device registered at least the baseline window before the announcement:
  registered_at + `grid.dr_baseline_days` × `grid.dr_baseline_period_seconds` ≤ A, else
  DR_DEVICE_TOO_NEW (314).
The baseline is computed once, at enrolment, and stored in the enrolment: for each
settlement interval [s, s + L) of the event window and each d in 1..N (N baseline days, a
"day" being the baseline period), the device's metered import in [s − d·day, s − d·day + L)
counts when that interval ends at or before the snapshot's E, and counts zero otherwise
(so energy of baseline intervals that arrived after the announcement never counts);
baseline = Σ ÷ N (floor). Parameter changes after enrolment do not change it.

Settlement (end-block hook, carried over blocks): `grid.dr_settlement_grace_seconds` after
the event ends it is measured: actual = Σ import over the window's intervals, reduction =
max(0, baseline − actual), claim = reduction × reward_per_kwh ÷ 1000 (capped at MAX_DR_CLAIM
≈ 9.2 × 10^15, so the claims of 1,000 enrolments total below 2^63). Then it is
paid: every claim in full when the claims total at most the escrowed budget; otherwise pro
rata, reward = claim × budget ÷ Σ claims (floor), so the order of devices never matters and
Σ rewards ≤ budget. What the rewards leave of the budget returns to the operator, so the
escrow pays out exactly the budget.

Whose signature authorises each movement of money: the operator's PublishDrEvent signature
moves the budget from the operator into the escrow (DR_ESCROW) and commits it to rewards by
the rule above; the device owner's EnrolDr signature entitles the owner (and no one else) to
that device's reward, as long as the owner keeps the device: a device transferred since the
event started (its owner_since) is no longer the enroller's, and its reward is forfeited
(dr_rewarded with reward 0, forfeited device_transferred) and returns to the operator; the hook
moves escrowed money only to enrolled owners and back to the publishing operator.

Bounded work (params.py): an event covers at most MAX_DR_INTERVALS (96) settlement
intervals; publishing reads and writes at most max_dr_members_per_feeder (≤ 2,000) records;
an enrolment reads at most N × 96 energy records (≤ 2,880); the hook takes at most
`grid.dr_settlements_per_block` steps per block (a step: drop one unused snapshot, measure
one enrolment — at most 96 energy reads — or pay one) and touches at most as many events, so at most
200 × 96 = 19,200 energy reads per block at the extreme legal parameters; the rest is
carried over to the next blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice
from typing import TypeVar

from abci_app.accounts import keeper as accounts
from abci_app.auth import require_member, require_role
from abci_app.context import TxContext
from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.errors import TxError
from abci_app.grid import events, keeper
from abci_app.grid.errors import GridCode
from abci_app.grid.keys import DR_ESCROW
from abci_app.grid.messages import (
    UNLIMITED_WH,
    EnrolDr,
    JoinDrProgramme,
    LeaveDrProgramme,
    PublishDrEvent,
    RemoveFeederLimit,
    SetFeederLimit,
    SetGridFees,
    SetTariffs,
)
from abci_app.grid.params import (
    BASELINE_DAYS,
    BASELINE_PERIOD,
    DR_GRACE,
    MAX_DR_BUDGET,
    MAX_DR_CLAIM,
    MAX_DR_INTERVALS,
    MAX_DR_SECONDS,
    MAX_ENROLMENTS,
    MAX_MEMBERS,
    SETTLEMENTS_PER_BLOCK,
)
from abci_app.grid.records import (
    MEASURING,
    OPEN,
    PAYING,
    DrEnrolment,
    DrEvent,
    DrMember,
    DrSnapshot,
    FeederLimit,
    GridFees,
    Tariffs,
)
from abci_app.grid.supplier import supplier_problem
from abci_app.identity.keeper import get_member
from abci_app.identity.roles import Role
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, Event

__all__ = [
    "enrol_dr",
    "join_dr_programme",
    "leave_dr_programme",
    "measure_actual",
    "measure_baseline",
    "publish_dr_event",
    "remove_feeder_limit",
    "reward_for",
    "set_feeder_limit",
    "set_grid_fees",
    "set_tariffs",
    "settle_dr_events",
    "still_held",
]


def set_tariffs(ctx: TxContext, msg: SetTariffs) -> None:
    """Publish the supplier of last resort and its prices; the signing operator receives fees.
    The supplier pays feed-in and imbalance surplus, so it must be eligible (supplier.py)."""
    operator = require_role(ctx, Role.OPERATOR)
    if get_member(ctx.store, msg.supplier) is None:
        raise TxError(GridCode.UNKNOWN_SUPPLIER, f"supplier {msg.supplier.hex()} is not an enrolled member")
    problem = supplier_problem(ctx.store, msg.supplier, ctx.block.time)
    if problem is not None:
        raise TxError(GridCode.SUPPLIER_NOT_ELIGIBLE, problem)
    keeper.put_tariffs(
        ctx.store,
        Tariffs(
            msg.supplier,
            operator.address,
            msg.retail_per_kwh,
            msg.feed_in_per_kwh,
            msg.imbalance_short_per_kwh,
            msg.imbalance_long_per_kwh,
            ctx.block.time,
            msg.export_penalty_per_kwh,
        ),
    )
    ctx.emit(
        events.TARIFFS_SET,
        supplier=msg.supplier.hex(),
        retail_per_kwh=msg.retail_per_kwh,
        feed_in_per_kwh=msg.feed_in_per_kwh,
        imbalance_short_per_kwh=msg.imbalance_short_per_kwh,
        imbalance_long_per_kwh=msg.imbalance_long_per_kwh,
        export_penalty_per_kwh=msg.export_penalty_per_kwh,
    )


def set_grid_fees(ctx: TxContext, msg: SetGridFees) -> None:
    """Grid fees per kWh; local energy is never charged more than energy across feeders."""
    require_role(ctx, Role.OPERATOR)
    if msg.intra_feeder_per_kwh > msg.inter_feeder_per_kwh:
        raise TxError(GridCode.FEES_INVERTED, "the intra-feeder fee must not exceed the inter-feeder fee")
    keeper.put_fees(ctx.store, GridFees(msg.intra_feeder_per_kwh, msg.inter_feeder_per_kwh, ctx.block.time))
    ctx.emit(events.GRID_FEES_SET, intra=msg.intra_feeder_per_kwh, inter=msg.inter_feeder_per_kwh)


def set_feeder_limit(ctx: TxContext, msg: SetFeederLimit) -> None:
    """The operator limits a feeder's market flows per interval; a side may be left unlimited
    (stored as messages.UNLIMITED_WH), and 0 means that nothing may cross."""
    require_role(ctx, Role.OPERATOR)
    keeper.put_feeder_limit(ctx.store, FeederLimit(msg.feeder, msg.import_wh, msg.export_wh))
    ctx.emit(events.FEEDER_LIMIT_SET, feeder=msg.feeder, import_wh=_side(msg.import_wh), export_wh=_side(msg.export_wh))


def _side(wh: int) -> str:
    return "unlimited" if wh == UNLIMITED_WH else str(wh)


def remove_feeder_limit(ctx: TxContext, msg: RemoveFeederLimit) -> None:
    """Lift a feeder's limit, by an operator; UNKNOWN_FEEDER_LIMIT when it has none; emits
    feeder_limit_set with both sides unlimited."""
    require_role(ctx, Role.OPERATOR)
    if keeper.get_feeder_limit(ctx.store, msg.feeder) is None:
        raise TxError(GridCode.UNKNOWN_FEEDER_LIMIT, f"feeder {msg.feeder} has no limit")
    keeper.remove_feeder_limit(ctx.store, msg.feeder)
    ctx.emit(events.FEEDER_LIMIT_SET, feeder=msg.feeder, import_wh="unlimited", export_wh="unlimited")


def publish_dr_event(ctx: TxContext, msg: PublishDrEvent) -> None:
    """Publish an event, escrow its whole reward budget from the operator's account, and
    snapshot the reading end of every programme member of the feeder (the announcement)."""
    operator = require_role(ctx, Role.OPERATOR)
    interval = domain_param(ctx.store, SETTLEMENT_INTERVAL)
    if keeper.get_dr_event(ctx.store, msg.event_id) is not None:
        raise TxError(GridCode.DR_EVENT_EXISTS, f"event {msg.event_id} exists")
    longest = min(MAX_DR_SECONDS, MAX_DR_INTERVALS * interval)
    if (
        msg.end <= msg.start
        or msg.start <= ctx.block.time
        or msg.end - msg.start > longest
        or msg.start % interval
        or msg.end % interval
    ):
        raise TxError(
            GridCode.DR_BAD_WINDOW,
            f"the window must start in the future, end after it, last at most {longest}s "
            f"({MAX_DR_INTERVALS} intervals, at most a day) and align to {interval}s settlement intervals",
        )
    budget = -(-msg.requested_reduction_wh * msg.reward_per_kwh // 1000)
    if budget > MAX_DR_BUDGET:
        raise TxError(GridCode.DR_BUDGET_TOO_LARGE, f"the budget {budget} is above {MAX_DR_BUDGET}")
    accounts.subtract(ctx.store, operator.address, budget)
    accounts.add(ctx.store, DR_ESCROW, budget)
    event = DrEvent(
        msg.event_id,
        msg.feeder,
        msg.start,
        msg.end,
        msg.requested_reduction_wh,
        msg.reward_per_kwh,
        operator.address,
        budget,
        announced_at=ctx.block.time,
    )
    keeper.put_dr_event(ctx.store, event)
    cap = domain_param(ctx.store, MAX_MEMBERS)
    members = list(islice(keeper.iter_feeder_members(ctx.store, msg.feeder), cap))
    for device_id in members:
        reading = devices.get_reading(ctx.store, device_id)
        sealed = 0 if reading is None else int(reading.end)
        keeper.put_dr_snapshot(ctx.store, DrSnapshot(msg.event_id, device_id, sealed))
    ctx.emit(
        events.DR_EVENT_PUBLISHED,
        event_id=msg.event_id,
        feeder=msg.feeder,
        start=msg.start,
        end=msg.end,
        requested_reduction_wh=msg.requested_reduction_wh,
        reward_per_kwh=msg.reward_per_kwh,
        members=len(members),
    )


def _owned_device(ctx: TxContext, device_id: str, owner: bytes) -> object:
    device = devices.get_device(ctx.store, device_id)
    if device is None:
        raise TxError(GridCode.UNKNOWN_DEVICE, f"no device {device_id}")
    if bytes(device.owner) != owner:
        raise TxError(GridCode.NOT_DEVICE_OWNER, f"device {device_id} belongs to {bytes(device.owner).hex()}")
    return device


def join_dr_programme(ctx: TxContext, msg: JoinDrProgramme) -> None:
    """The device's owner puts it in its feeder's programme (moving it there when the device
    has changed feeder since joining); events announced afterwards snapshot it."""
    member = require_member(ctx)
    device = _owned_device(ctx, msg.device_id, member.address)
    feeder = _feeder_of(ctx.store, device)
    if not feeder:
        raise TxError(GridCode.DR_WRONG_FEEDER, f"device {msg.device_id} is on no feeder")
    existing = keeper.get_dr_member(ctx.store, msg.device_id)
    if existing is not None and existing.feeder == feeder:
        raise TxError(GridCode.DR_ALREADY_MEMBER, f"device {msg.device_id} is in the programme of {feeder}")
    cap = domain_param(ctx.store, MAX_MEMBERS)
    if keeper.count_feeder_members(ctx.store, feeder, cap) >= cap:
        raise TxError(GridCode.DR_PROGRAMME_FULL, f"the programme of feeder {feeder} has its {cap} members")
    if existing is not None:
        keeper.remove_dr_member(ctx.store, existing)
    keeper.put_dr_member(ctx.store, DrMember(msg.device_id, feeder, member.address, ctx.block.time))
    ctx.emit(events.DR_JOINED, device=msg.device_id, feeder=feeder, owner=member.address.hex())


def leave_dr_programme(ctx: TxContext, msg: LeaveDrProgramme) -> None:
    """The device's owner takes it out of the programme (enrolments already made stand)."""
    member = require_member(ctx)
    _owned_device(ctx, msg.device_id, member.address)
    existing = keeper.get_dr_member(ctx.store, msg.device_id)
    if existing is None:
        raise TxError(GridCode.DR_NOT_MEMBER, f"device {msg.device_id} is in no demand-response programme")
    keeper.remove_dr_member(ctx.store, existing)
    ctx.emit(events.DR_LEFT, device=msg.device_id, feeder=existing.feeder)


def enrol_dr(ctx: TxContext, msg: EnrolDr) -> None:
    """The device's owner enrols it before the event starts; the device must be on the
    feeder, have been a programme member at the announcement and registered at least the
    baseline window before it. The baseline is fixed here (module doc)."""
    member = require_member(ctx)
    event = keeper.get_dr_event(ctx.store, msg.event_id)
    if event is None:
        raise TxError(GridCode.UNKNOWN_DR_EVENT, f"no demand-response event {msg.event_id}")
    device = _owned_device(ctx, msg.device_id, member.address)
    if ctx.block.time >= event.start:
        raise TxError(GridCode.DR_ENROLMENT_CLOSED, f"event {event.event_id} started at {event.start}")
    if _feeder_of(ctx.store, device) != event.feeder:
        raise TxError(GridCode.DR_WRONG_FEEDER, f"device {msg.device_id} is not on feeder {event.feeder}")
    if keeper.get_dr_enrolment(ctx.store, msg.event_id, msg.device_id) is not None:
        raise TxError(GridCode.DR_ALREADY_ENROLLED, f"device {msg.device_id} is already enrolled")
    snapshot = keeper.get_dr_snapshot(ctx.store, msg.event_id, msg.device_id)
    if snapshot is None:
        raise TxError(
            GridCode.DR_NOT_IN_PROGRAMME,
            f"device {msg.device_id} was not in the demand-response programme of {event.feeder} when event "
            f"{event.event_id} was announced at {event.announced_at}",
        )
    days = domain_param(ctx.store, BASELINE_DAYS)
    day = domain_param(ctx.store, BASELINE_PERIOD)
    registered = int(getattr(device, "registered_at", 0))
    if registered + days * day > event.announced_at:
        raise TxError(
            GridCode.DR_DEVICE_TOO_NEW,
            f"device {msg.device_id} was registered at {registered}, less than the baseline window of "
            f"{days} × {day}s before the announcement at {event.announced_at}",
        )
    cap = domain_param(ctx.store, MAX_ENROLMENTS)
    if keeper.count_dr_enrolments(ctx.store, msg.event_id, cap) >= cap:
        raise TxError(GridCode.DR_TOO_MANY_ENROLMENTS, f"event {event.event_id} has its {cap} enrolments")
    interval = domain_param(ctx.store, SETTLEMENT_INTERVAL)
    baseline = measure_baseline(ctx.store, event, msg.device_id, snapshot.sealed_until, (days, day, interval))
    keeper.delete_dr_snapshot(ctx.store, msg.event_id, msg.device_id)
    keeper.put_dr_enrolment(
        ctx.store,
        DrEnrolment(
            msg.event_id, msg.device_id, member.address, baseline_wh=baseline, sealed_until=snapshot.sealed_until
        ),
    )
    ctx.emit(
        events.DR_ENROLLED,
        event_id=msg.event_id,
        device=msg.device_id,
        owner=member.address.hex(),
        baseline_wh=baseline,
        sealed_until=snapshot.sealed_until,
    )


def _feeder_of(store: Branch, device: object) -> str:
    feeder = str(getattr(device, "feeder", ""))
    if feeder:
        return feeder
    site = devices.get_site(store, str(getattr(device, "site_id", "")))
    return "" if site is None else str(site.feeder)


def _import_wh(store: Branch, device_id: str, interval_start: int) -> int:
    energy = devices.get_energy(store, device_id, interval_start)
    return 0 if energy is None else int(energy.import_wh)


def _window(event: DrEvent, interval: int) -> Iterator[int]:
    """The starts of the event's settlement intervals (at most MAX_DR_INTERVALS, whatever
    the settlement interval has become since publication)."""
    return islice(range(event.start, event.end, interval), MAX_DR_INTERVALS)


def measure_baseline(
    store: Branch, event: DrEvent, device_id: str, sealed_until: int, rule: tuple[int, int, int]
) -> int:
    """The device's baseline Wh for the event (module doc): only intervals that ended by
    `sealed_until` count. `rule` is (baseline days, baseline period, settlement interval).
    Reads at most days × MAX_DR_INTERVALS energy records."""
    days, day, interval = rule
    total = 0
    for start in _window(event, interval):
        for d in range(1, days + 1):
            s = start - d * day
            if s + interval <= sealed_until:
                total += _import_wh(store, device_id, s)
    return total // days


def measure_actual(store: Branch, event: DrEvent, device_id: str) -> int:
    """The device's import over the event window; reads at most MAX_DR_INTERVALS records."""
    interval = domain_param(store, SETTLEMENT_INTERVAL)
    return sum(_import_wh(store, device_id, start) for start in _window(event, interval))


_T = TypeVar("_T")


def _take(items: Iterable[_T], steps: int) -> tuple[list[_T], bool]:
    """Up to `steps` items, and whether that exhausted them (never known with 0 steps)."""
    batch = list(islice(items, steps))
    return batch, len(batch) < steps


def settle_dr_events(store: Branch, block: BlockInfo) -> list[Event]:
    """End-block hook: advance the settlement of events whose end plus the grace period has
    passed, oldest first, by at most `grid.dr_settlements_per_block` steps in all (touching at
    most that many events); what is left carries over to the next block (module doc)."""
    grace = domain_param(store, DR_GRACE)
    steps = domain_param(store, SETTLEMENTS_PER_BLOCK)
    out: list[Event] = []
    for event_id in keeper.due_dr_events(store, block.time - grace, steps):
        if steps <= 0:
            break
        event = keeper.get_dr_event(store, event_id)
        if event is None or event.settled:  # pragma: no cover - the index holds unsettled events
            continue
        steps = _advance(store, event, steps, out)
    return out


def _advance(store: Branch, event: DrEvent, steps: int, out: list[Event]) -> int:
    """Take up to `steps` settlement steps of one event; the steps left."""
    if event.stage == OPEN:
        event = replace(event, stage=MEASURING, cursor="")
    if event.stage == MEASURING:
        stale, done = _take(keeper.iter_dr_snapshots(store, event.event_id), steps)
        for snapshot in stale:
            keeper.delete_dr_snapshot(store, event.event_id, snapshot.device_id)
        steps -= len(stale)
        if not done:
            keeper.put_dr_event(store, event)
            return steps
        event, steps, done = _measure(store, event, steps)
        if not done:
            keeper.put_dr_event(store, event)
            return steps
        event = replace(event, stage=PAYING, cursor="")
    event, steps, done = _pay(store, event, steps, out)
    if not done:
        keeper.put_dr_event(store, event)
        return steps
    refund = event.budget - event.paid
    if refund:
        accounts.subtract(store, DR_ESCROW, refund)
        accounts.add(store, Address(event.operator), refund)
    keeper.put_dr_event(store, replace(event, settled=True, cursor=""))
    out.append(Event.of(events.DR_EVENT_SETTLED, event_id=event.event_id, paid=event.paid, refunded=refund))
    return steps


def _measure(store: Branch, event: DrEvent, steps: int) -> tuple[DrEvent, int, bool]:
    batch, done = _take(keeper.iter_dr_enrolments_after(store, event.event_id, event.cursor), steps)
    total = event.total_claim
    for enrolment in batch:
        actual = measure_actual(store, event, enrolment.device_id)
        reduction = max(0, enrolment.baseline_wh - actual)
        claim = min(MAX_DR_CLAIM, reduction * event.reward_per_kwh // 1000)
        total += claim
        keeper.put_dr_enrolment(
            store, replace(enrolment, actual_wh=actual, reduction_wh=reduction, claim=claim, measured=True)
        )
    cursor = batch[-1].device_id if batch else event.cursor
    return replace(event, cursor=cursor, total_claim=total), steps - len(batch), done


def reward_for(claim: int, total_claim: int, budget: int) -> int:
    """One enrolment's reward: its claim when the claims total at most the budget, else its
    pro-rata share claim × budget ÷ total (floor). Σ rewards ≤ budget, each ≤ its claim, and
    the floors leave less than one unit per enrolment unpaid (returned to the operator)."""
    return claim if total_claim <= budget else claim * budget // total_claim


def still_held(store: Branch, event: DrEvent, enrolment: DrEnrolment) -> bool:
    """Whether the enrolling owner has held the device, without a transfer, since before the event
    started. A device handed on after enrolment was not the enroller's to curtail (or it was
    sold on before the reward was paid): its reward is forfeited and returns to the operator
    with the rest of the budget; nobody else signed up for it."""
    device = devices.get_device(store, enrolment.device_id)
    return device is not None and device.owner == enrolment.owner and device.owned_since <= event.start


def _pay(store: Branch, event: DrEvent, steps: int, out: list[Event]) -> tuple[DrEvent, int, bool]:
    batch, done = _take(keeper.iter_dr_enrolments_after(store, event.event_id, event.cursor), steps)
    paid = event.paid
    for enrolment in batch:
        held = still_held(store, event, enrolment)
        reward = reward_for(enrolment.claim, event.total_claim, event.budget) if held else 0
        if reward:
            accounts.subtract(store, DR_ESCROW, reward)
            accounts.add(store, enrolment.owner, reward)
            paid += reward
        keeper.put_dr_enrolment(store, replace(enrolment, reward=reward, settled=True))
        out.append(
            Event.of(
                events.DR_REWARDED,
                event_id=event.event_id,
                device=enrolment.device_id,
                owner=enrolment.owner.hex(),
                baseline_wh=enrolment.baseline_wh,
                actual_wh=enrolment.actual_wh,
                reduction_wh=enrolment.reduction_wh,
                claim=enrolment.claim,
                reward=reward,
                forfeited="" if held else "device_transferred",
            )
        )
    cursor = batch[-1].device_id if batch else event.cursor
    return replace(event, cursor=cursor, paid=paid), steps - len(batch), done
