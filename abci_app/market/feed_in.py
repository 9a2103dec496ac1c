"""A sell site's feed-in that settlement withheld while a device sold there had not reported.

At the settlement deadline a site's metered export is split: what its sold devices exported
(their own readings) is settled by the market and the sellers' imbalance, the rest is the site
owner's feed-in (retail.py). While a sold device has not reported the interval, that split cannot
be made, so settlement withholds the site's feed-in and records what it will need
(`WithheldFeedIn`: the waiting devices, the export of the sold devices that had reported, the
export penalised above a grid instruction's cap, and the feed-in tariff at the deadline).

When the waiting devices' data arrives within `market.correction_window_seconds` after the
deadline (their late readings mark the site; the hook runs the interval's settlement again,
which corrects estimates and calls `release_feed_in`), the site owner is paid floor(Wh ×
feed-in tariff / 1000) for the site's metered export now, less the sold devices' export and the
penalised Wh, by the supplier the tariffs name now (at most its balance, nothing when it is no
longer eligible: `unreceived`). The statement counts it as a correction and a `feed_in_released`
event says how much. When the window ends first, the record is dropped (`feed_in_final`), as
an estimate becomes final. No money moves on anything but the site's own devices' signed
readings; the site owner is the one named by the site record at the time, as at settlement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from abci_app.devices import keeper as devices
from abci_app.grid.records import Tariffs
from abci_app.grid.supplier import supplier_problem
from abci_app.market import events, keeper
from abci_app.market.params import correction_window, interval_length, settlement_grace
from abci_app.market.records import WithheldFeedIn
from abci_app.market.retail import (
    StatementSums,
    add_to_statement,
    amend_statement,
    metered,
    pay_from_supplier,
    reported,
)
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["finalise_withheld", "release_feed_in", "withhold_feed_in"]


def withhold_feed_in(  # noqa: PLR0917 - called once, by settle_interval
    store: Branch,
    t: Tariffs,
    interval: int,
    waiting: Mapping[str, Iterable[str]],
    reported_export: Mapping[str, int],
    penalised: Mapping[str, int],
) -> None:
    """Record the withheld feed-in of each metered sell site in `waiting` (site → its sold
    devices not reported by the deadline), with `reported_export` (site → the export of its sold
    devices that had reported) and `penalised` (site → Wh not paid as feed-in)."""
    for site_id in sorted(waiting):
        if not metered(store, site_id, interval)[0]:
            continue  # a site without a meter has no feed-in
        keeper.put_withheld_feed_in(
            store,
            WithheldFeedIn(
                interval_start=interval,
                site_id=site_id,
                waiting_devices=tuple(sorted(set(waiting[site_id]))),
                reported_export_wh=reported_export.get(site_id, 0),
                penalised_wh=penalised.get(site_id, 0),
                feed_in_per_kwh=t.feed_in_per_kwh,
            ),
        )


def _export(store: Branch, device_id: str, interval: int) -> int:
    energy = devices.get_energy(store, device_id, interval)
    return 0 if energy is None else energy.export_wh


def release_feed_in(
    store: Branch, block: BlockInfo, tariffs: Tariffs, interval: int, sites: Iterable[str] | None = None
) -> list[Event]:
    """Pay the interval's withheld feed-ins (of the `sites` a late reading marked, or all) whose
    waiting devices have all reported, while the correction window is open (module doc); the
    others wait (or are dropped by `finalise_withheld`). Reads one record per marked site, so a
    block's work follows the late readings in it, not the interval's withheld sites."""
    length = interval_length(store)
    end = interval + length
    if block.time > end + settlement_grace(store) + correction_window(store):
        return []
    if sites is None:
        held = list(keeper.iter_withheld_feed_in(store, interval))
    else:
        found = (keeper.get_withheld_feed_in(store, interval, site_id) for site_id in sites)
        held = [w for w in found if w is not None]
    eligible = supplier_problem(store, tariffs.supplier, block.time) is None
    evs: list[Event] = []
    for w in held:
        if not all(reported(store, d, end) for d in w.waiting_devices):
            continue
        keeper.delete_withheld_feed_in(store, w)
        site = devices.get_site(store, w.site_id)
        _has_meter, _imported, exported = metered(store, w.site_id, interval)
        sold = w.reported_export_wh + sum(_export(store, d, interval) for d in w.waiting_devices)
        wh = max(0, exported - sold - w.penalised_wh)
        paid = owed = 0
        if site is not None and wh:
            owner = bytes(site.owner)
            paid, owed = pay_from_supplier(store, tariffs, eligible, owner, wh * w.feed_in_per_kwh // 1000)
            stmts: StatementSums = {}
            add_to_statement(
                stmts, owner, interval, feed_in_wh=wh, feed_in_received=paid, unreceived=owed, corrections=1
            )
            amend_statement(store, stmts, owner, interval)
        evs.append(
            Event.of(
                events.FEED_IN_RELEASED,
                interval=interval,
                site=w.site_id,
                owner="" if site is None else bytes(site.owner).hex(),
                feed_in_wh=wh,
                paid=paid,
                unreceived=owed,
            )
        )
    return evs


def finalise_withheld(store: Branch, now: int) -> list[Event]:
    """Drop the withheld feed-ins whose correction window has ended: nothing more is paid."""
    cutoff = now - interval_length(store) - settlement_grace(store) - correction_window(store)
    if cutoff <= 0:
        return []
    evs: list[Event] = []
    for w in keeper.withheld_feed_in_before(store, cutoff):
        keeper.delete_withheld_feed_in(store, w)
        waiting = ",".join(w.waiting_devices)
        evs.append(Event.of(events.FEED_IN_FINAL, interval=w.interval_start, site=w.site_id, waiting=waiting))
    return evs
