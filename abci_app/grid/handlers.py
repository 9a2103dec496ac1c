"""Grid handlers (operator-only except enrolment) and demand-response settlement.

Demand-response baseline (documented rule): for an enrolled device and each settlement
interval of the event window, the baseline is the device's metered import in the same
interval on each of the previous N days (`grid.dr_baseline_days`, default 5; a "day" is
`grid.dr_baseline_period_seconds`, 86,400 but for demonstrations), summed and divided by N
(floor). Reduction = max(0, Σ baseline − Σ actual import in the window).
Reward = reduction × reward_per_kwh ÷ 1000 (floor), paid from the event's escrowed budget
in device-id order until the budget is spent; the rest returns to the operator.

Bounded work: an event has at most `grid.max_enrolments_per_event` enrolments (default 100;
DR_TOO_MANY_ENROLMENTS beyond), so settling it reads at most that × (window ÷ settlement
interval, ≤ 96 for a 24 h window of 15-minute intervals) × (baseline days + 1) energy
records: 57,600 with the defaults (5 days).

Authorisation (whose signature moves what). An event's budget leaves the operator's account
only on the operator's own PublishDrEvent (escrowed in DR_ESCROW at once). A reward leaves
the escrow only for an enrolment the device's owner signed (EnrolDr, refused for another
member's device), is computed only from energy recorded from readings signed by the
enrolled device's key, and is paid to the member who enrolled it; what is not paid returns
to the operator that published the event. No one else's signature moves DR money.
"""

from __future__ import annotations

from dataclasses import replace

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
    EnrolDr,
    PublishDrEvent,
    RemoveFeederLimit,
    SetFeederLimit,
    SetGridFees,
    SetTariffs,
)
from abci_app.grid.params import BASELINE_DAYS, BASELINE_PERIOD, DR_GRACE, MAX_DR_SECONDS, MAX_ENROLMENTS
from abci_app.grid.records import DrEnrolment, DrEvent, FeederLimit, GridFees, Tariffs
from abci_app.grid.supplier import supplier_problem
from abci_app.identity.keeper import get_member
from abci_app.identity.roles import Role
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, Event

__all__ = [
    "enrol_dr",
    "publish_dr_event",
    "remove_feeder_limit",
    "set_feeder_limit",
    "set_grid_fees",
    "set_tariffs",
    "settle_dr_events",
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
        ),
    )
    ctx.emit(
        events.TARIFFS_SET,
        supplier=msg.supplier.hex(),
        retail_per_kwh=msg.retail_per_kwh,
        feed_in_per_kwh=msg.feed_in_per_kwh,
        imbalance_short_per_kwh=msg.imbalance_short_per_kwh,
        imbalance_long_per_kwh=msg.imbalance_long_per_kwh,
    )


def set_grid_fees(ctx: TxContext, msg: SetGridFees) -> None:
    """Grid fees per kWh; local energy is never charged more than energy across feeders."""
    require_role(ctx, Role.OPERATOR)
    if msg.intra_feeder_per_kwh > msg.inter_feeder_per_kwh:
        raise TxError(GridCode.FEES_INVERTED, "the intra-feeder fee must not exceed the inter-feeder fee")
    keeper.put_fees(ctx.store, GridFees(msg.intra_feeder_per_kwh, msg.inter_feeder_per_kwh, ctx.block.time))
    ctx.emit(events.GRID_FEES_SET, intra=msg.intra_feeder_per_kwh, inter=msg.inter_feeder_per_kwh)


def set_feeder_limit(ctx: TxContext, msg: SetFeederLimit) -> None:
    require_role(ctx, Role.OPERATOR)
    keeper.put_feeder_limit(ctx.store, FeederLimit(msg.feeder, msg.import_wh, msg.export_wh))
    ctx.emit(events.FEEDER_LIMIT_SET, feeder=msg.feeder, import_wh=msg.import_wh, export_wh=msg.export_wh)


def remove_feeder_limit(ctx: TxContext, msg: RemoveFeederLimit) -> None:
    require_role(ctx, Role.OPERATOR)
    if keeper.get_feeder_limit(ctx.store, msg.feeder) is None:
        raise TxError(GridCode.UNKNOWN_FEEDER_LIMIT, f"feeder {msg.feeder} has no limit")
    keeper.remove_feeder_limit(ctx.store, msg.feeder)
    ctx.emit(events.FEEDER_LIMIT_SET, feeder=msg.feeder, import_wh="unlimited", export_wh="unlimited")


def publish_dr_event(ctx: TxContext, msg: PublishDrEvent) -> None:
    """Publish an event and escrow its whole reward budget from the operator's account."""
    operator = require_role(ctx, Role.OPERATOR)
    interval = domain_param(ctx.store, SETTLEMENT_INTERVAL)
    if keeper.get_dr_event(ctx.store, msg.event_id) is not None:
        raise TxError(GridCode.DR_EVENT_EXISTS, f"event {msg.event_id} exists")
    if (
        msg.end <= msg.start
        or msg.start <= ctx.block.time
        or msg.end - msg.start > MAX_DR_SECONDS
        or msg.start % interval
        or msg.end % interval
    ):
        raise TxError(
            GridCode.DR_BAD_WINDOW,
            f"the window must start in the future, end after it, last at most {MAX_DR_SECONDS}s and align to "
            f"{interval}s settlement intervals",
        )
    budget = -(-msg.requested_reduction_wh * msg.reward_per_kwh // 1000)
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
    )
    keeper.put_dr_event(ctx.store, event)
    ctx.emit(
        events.DR_EVENT_PUBLISHED,
        event_id=msg.event_id,
        feeder=msg.feeder,
        start=msg.start,
        end=msg.end,
        requested_reduction_wh=msg.requested_reduction_wh,
        reward_per_kwh=msg.reward_per_kwh,
    )


def enrol_dr(ctx: TxContext, msg: EnrolDr) -> None:
    """The device's owner enrols it before the event starts; the device must be on the feeder."""
    member = require_member(ctx)
    event = keeper.get_dr_event(ctx.store, msg.event_id)
    if event is None:
        raise TxError(GridCode.UNKNOWN_DR_EVENT, f"no demand-response event {msg.event_id}")
    device = devices.get_device(ctx.store, msg.device_id)
    if device is None:
        raise TxError(GridCode.UNKNOWN_DEVICE, f"no device {msg.device_id}")
    if bytes(device.owner) != member.address:
        raise TxError(GridCode.NOT_DEVICE_OWNER, f"device {msg.device_id} belongs to {bytes(device.owner).hex()}")
    if ctx.block.time >= event.start:
        raise TxError(GridCode.DR_ENROLMENT_CLOSED, f"event {event.event_id} started at {event.start}")
    if _feeder_of(ctx.store, device) != event.feeder:
        raise TxError(GridCode.DR_WRONG_FEEDER, f"device {msg.device_id} is not on feeder {event.feeder}")
    if keeper.get_dr_enrolment(ctx.store, msg.event_id, msg.device_id) is not None:
        raise TxError(GridCode.DR_ALREADY_ENROLLED, f"device {msg.device_id} is already enrolled")
    cap = domain_param(ctx.store, MAX_ENROLMENTS)
    if keeper.count_dr_enrolments(ctx.store, msg.event_id, cap) >= cap:
        raise TxError(GridCode.DR_TOO_MANY_ENROLMENTS, f"event {event.event_id} has its {cap} enrolments")
    keeper.put_dr_enrolment(ctx.store, DrEnrolment(msg.event_id, msg.device_id, member.address))
    ctx.emit(events.DR_ENROLLED, event_id=msg.event_id, device=msg.device_id, owner=member.address.hex())


def _feeder_of(store: Branch, device: object) -> str:
    feeder = str(getattr(device, "feeder", ""))
    if feeder:
        return feeder
    site = devices.get_site(store, str(getattr(device, "site_id", "")))
    return "" if site is None else str(site.feeder)


def _import_wh(store: Branch, device_id: str, interval_start: int) -> int:
    energy = devices.get_energy(store, device_id, interval_start)
    return 0 if energy is None else int(energy.import_wh)


def measure(store: Branch, event: DrEvent, device_id: str, days: int) -> tuple[int, int]:
    """(baseline Wh, actual Wh) of a device over the event window, by the documented rule."""
    interval = domain_param(store, SETTLEMENT_INTERVAL)
    day = domain_param(store, BASELINE_PERIOD)
    baseline_sum = actual = 0
    for start in range(event.start, event.end, interval):
        actual += _import_wh(store, device_id, start)
        baseline_sum += sum(_import_wh(store, device_id, start - d * day) for d in range(1, days + 1))
    return baseline_sum // days, actual


def settle_dr_events(store: Branch, block: BlockInfo) -> list[Event]:
    """End-block hook: settle every event whose end plus the grace period has passed."""
    grace = domain_param(store, DR_GRACE)
    days = domain_param(store, BASELINE_DAYS)
    out: list[Event] = []
    for event_id in keeper.due_dr_events(store, block.time - grace):
        event = keeper.get_dr_event(store, event_id)
        if event is None or event.settled:
            continue
        remaining = event.budget
        for enrolment in list(keeper.iter_dr_enrolments(store, event_id)):
            baseline, actual = measure(store, event, enrolment.device_id, days)
            reduction = max(0, baseline - actual)
            reward = min(remaining, reduction * event.reward_per_kwh // 1000)
            if reward:
                accounts.subtract(store, DR_ESCROW, reward)
                accounts.add(store, enrolment.owner, reward)
                remaining -= reward
            keeper.put_dr_enrolment(
                store,
                replace(
                    enrolment,
                    baseline_wh=baseline,
                    actual_wh=actual,
                    reduction_wh=reduction,
                    reward=reward,
                    settled=True,
                ),
            )
            out.append(
                Event.of(
                    events.DR_REWARDED,
                    event_id=event_id,
                    device=enrolment.device_id,
                    owner=enrolment.owner.hex(),
                    baseline_wh=baseline,
                    actual_wh=actual,
                    reduction_wh=reduction,
                    reward=reward,
                )
            )
        if remaining:
            accounts.subtract(store, DR_ESCROW, remaining)
            accounts.add(store, Address(event.operator), remaining)
        keeper.put_dr_event(store, replace(event, settled=True, paid=event.budget - remaining))
        out.append(
            Event.of(events.DR_EVENT_SETTLED, event_id=event_id, paid=event.budget - remaining, refunded=remaining)
        )
    return out
