"""Feeder limits reach the devices: grid instructions, their alerts, and the export penalty.

At gate closure (close.py), when clearing curtailed orders of interval I (a feeder limit cut
their pool volume), for each site with a curtailed order on a feeder whose own limit bound
on that side (its pool export, or import, reached its limit: the feeder was curtailed; a
site cut only because another feeder's limit bound is alerted but not instructed, its
feeder's flows were not limited):

- a sell order cut: the site gets an export cap, the energy it still sold in I (Σ filled Wh
  of its sell orders), as power `export_cap_w` = cap Wh × 3600 ÷ interval length (floor),
  reason "feeder_export_limit";
- a buy order cut, on a site with an EV charger or a battery (the loads a gateway can hold
  back): an import cap, the energy it still bought in I, as power the same way, reason
  "feeder_import_limit" (a site with neither gets the alert only: nothing to instruct);
- the other side is "unlimited". One `GridInstruction` per site and interval, kept at
  /instructions/<I> (in site order) and /instructions/<I>/<site>, and one `grid_instruction`
  block event per site (the instruction contract: interval, interval_end, feeder, site,
  owner, export_cap_w, import_cap_w, reason);
- every curtailed order's owner gets an alert (reason feeder_limit, `order_id` set) with the
  best price available: for a buyer the lowest all-in price of the book (an ask + its fee,
  or the upstream grid's retail + inter fee when lower), for a seller its feeder's zone
  price (what its energy fetched there: below the pool price when the export limit bound).

At settlement (settlement.py, `penalise_export`): a site with an export cap whose metered
export (its meters; without a meter, its devices' export) in I exceeds the cap Wh pays for the
excess at the tariffs' `export_penalty_per_kwh`, ceil(excess × price ÷ 1000), to the supplier
(at most its balance, the rest `unpaid`), recorded as `penalty_wh` / `penalty_paid` on the
owner's statement. The excess is then neither paid as surplus imbalance nor as feed-in: the
caller takes it off both. Export within the cap settles as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from abci_app.devices import keeper as devices
from abci_app.grid.records import Tariffs
from abci_app.market import events, keeper
from abci_app.market.alerts import raise_order_alert
from abci_app.market.clearing import ClearOutcome
from abci_app.market.records import (
    BUY,
    EXPORT_LIMIT_REASON,
    IMPORT_LIMIT_REASON,
    AlertReason,
    GridInstruction,
    Order,
)
from abci_app.market.retail import METER, StatementSums, add_to_statement, pay
from abci_app.store.branch import Branch
from abci_app.types import Address, Event

__all__ = ["UNLIMITED", "instruct_curtailed", "penalise_export", "take_excess"]

UNLIMITED = "unlimited"
BATTERY, EV_CHARGER = 4, 5  # gridledger.devices.v1.DeviceKind numbers (as retail.METER)
FLEXIBLE_LOADS = frozenset({BATTERY, EV_CHARGER})


def _has_flexible_load(store: Branch, site_id: str) -> bool:
    for device_id in devices.iter_site_devices(store, site_id):
        d = devices.get_device(store, device_id)
        if d is not None and d.kind in FLEXIBLE_LOADS:
            return True
    return False


def instruct_curtailed(  # noqa: PLR0917 - internal, called once per clearing
    store: Branch,
    now: int,
    interval: int,
    length: int,
    done: Sequence[Order],
    traded: Mapping[str, Mapping[int, int]],
    outcome: ClearOutcome,
    limits: Mapping[str, tuple[int, int]],
    buyer_best: Mapping[str, int],
    seller_best: Mapping[str, int],
) -> list[Event]:
    """The instructions, their events and the alerts of one clearing (see the module doc);
    `done` are the interval's orders a limit cut as clearing left them (in id order), `traded`
    site → side → Wh filled over all the interval's orders, `limits` the feeder limits of the
    clearing (import Wh, export Wh), `*_best` the best prices per feeder."""
    if not outcome.curtailed:
        return []
    bound_out = {f.feeder for f in outcome.feeders if f.feeder in limits and f.pool_export_wh >= limits[f.feeder][1]}
    bound_in = {f.feeder for f in outcome.feeders if f.feeder in limits and f.pool_import_wh >= limits[f.feeder][0]}
    evs: list[Event] = []
    cut: dict[str, dict[int, int]] = {}  # site → side → Wh cut
    where: dict[str, tuple[str, Address]] = {}
    for o in done:
        q = outcome.curtailed.get(o.order_id, 0)
        if q:
            cut.setdefault(o.site_id, {})[o.side] = cut.get(o.site_id, {}).get(o.side, 0) + q
            where.setdefault(o.site_id, (o.feeder, o.owner))
            best = (buyer_best if o.side == BUY else seller_best).get(o.feeder, 0)
            evs.append(raise_order_alert(store, now, o, AlertReason.FEEDER_LIMIT, interval, best))
    for site_id in sorted(cut, key=str.encode):
        sides = cut[site_id]
        feeder, owner = where[site_id]
        sold = traded.get(site_id, {})
        export_wh = import_wh = 0
        export_w = import_w = None
        if any(side != BUY for side in sides) and feeder in bound_out:
            export_wh = sum(wh for side, wh in sold.items() if side != BUY)
            export_w = export_wh * 3600 // length
        elif BUY in sides and feeder in bound_in and _has_flexible_load(store, site_id):
            import_wh = sold.get(BUY, 0)
            import_w = import_wh * 3600 // length
        else:
            continue
        ins = GridInstruction(
            interval_start=interval,
            interval_end=interval + length,
            feeder=feeder,
            site_id=site_id,
            owner=owner,
            reason=EXPORT_LIMIT_REASON if export_w is not None else IMPORT_LIMIT_REASON,
            export_cap_w=export_w,
            export_cap_wh=export_wh,
            import_cap_w=import_w,
            import_cap_wh=import_wh,
            curtailed_wh=sum(sides.values()),
        )
        keeper.put_instruction(store, ins)
        evs.append(
            Event.of(
                events.GRID_INSTRUCTION,
                interval=interval,
                interval_end=interval + length,
                feeder=feeder,
                site=site_id,
                owner=owner.hex(),
                export_cap_w=UNLIMITED if export_w is None else export_w,
                import_cap_w=UNLIMITED if import_w is None else import_w,
                reason=ins.reason,
            )
        )
    return evs


def _site_export(store: Branch, site_id: str, interval: int) -> int:
    """The site's export in the interval: its meters' if it has any, else its devices'."""
    metered = unmetered = 0
    has_meter = False
    for device_id in devices.iter_site_devices(store, site_id):
        d = devices.get_device(store, device_id)
        if d is None:
            continue
        e = devices.get_energy(store, device_id, interval)
        wh = 0 if e is None else e.export_wh
        if d.kind == METER:
            has_meter = True
            metered += wh
        else:
            unmetered += wh
    return metered if has_meter else unmetered


def penalise_export(store: Branch, t: Tariffs, stmts: StatementSums, interval: int) -> dict[str, int]:
    """Charge every site of `interval` with an export cap for its export above the cap (see
    the module doc); returns site → penalised Wh (only sites with an excess)."""
    out: dict[str, int] = {}
    for ins in keeper.iter_instructions(store, interval):
        if ins.export_cap_w is None:
            continue
        excess = _site_export(store, ins.site_id, interval) - ins.export_cap_wh
        if excess <= 0:
            continue
        out[ins.site_id] = excess
        owner = bytes(ins.owner)
        paid, unpaid = pay(store, owner, t.supplier, -(-excess * t.export_penalty_per_kwh // 1000))
        add_to_statement(stmts, owner, interval, penalty_wh=excess, penalty_paid=paid, unpaid=unpaid)
    return out


def take_excess(store: Branch, excess: dict[str, int], device_id: str, long_wh: int) -> int:
    """A selling device's surplus `long_wh` less its site's penalised excess not yet taken off
    another device of the site (`excess`, site → Wh, reduced in place; devices in the caller's
    order): the surplus imbalance still paid."""
    if long_wh <= 0 or not excess:
        return long_wh
    d = devices.get_device(store, device_id)
    site_id = "" if d is None else d.site_id
    taken = min(long_wh, excess.get(site_id, 0))
    if taken:
        excess[site_id] -= taken
    return long_wh - taken
