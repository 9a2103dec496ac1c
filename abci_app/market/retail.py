"""Energy outside the market: metered import and export settled at the utility's tariffs.

Part of one interval's settlement (settlement.py), on the same branch, after the market
positions. Which sites: those the devices domain marked as having energy recorded in the
interval (`devices.keeper.iter_energy_sites`, written when a reading's energy lands in an
interval); each mark is cleared as it is settled, so no device is scanned that had no
energy. Per marked site with at least one meter (kind METER), with I and E the Wh its
meters imported and exported in the interval:

- import side: a site with a buy position in the interval settles its deviation as
  imbalance (settlement.py); otherwise all of I is retail: the site's owner pays the
  supplier ceil(I × retail_per_kwh / 1000) (at most its balance, the rest is `unpaid`);
- export side: the export of the site's devices that sold in the interval (M, their own
  readings) is settled by the market and its imbalance, whoever owns them: a battery leased
  to someone else sells its own export, not the site owner's. What the meters exported
  beyond it, E − M less the export penalised above a grid instruction's cap, is feed-in:
  the supplier pays the owner floor(Wh × feed_in_per_kwh / 1000) (at most the supplier's
  balance; nothing when the supplier is no longer eligible, grid/supplier.py); what it
  does not pay is recorded on the owner's statement as `unreceived`. A site with a sold
  device that had not reported by the deadline gets no feed-in yet (its sale is settled on an
  estimate, corrected later; the site's export is not split before that): feed_in.py pays it
  when the device's data arrives within the correction window.

So every Wh through a meter is settled once: by the market, by imbalance, or by tariff.
Members pay rounded up and receive rounded down. Marks of an interval already settled
(a reading arriving after settlement) are dropped without settling retail or feed-in: that
is final with what had arrived by end + grace (only market positions settled on an
estimate and the feed-in withheld for them are corrected by late data, settlement.py and
feed_in.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from itertools import islice

from abci_app.accounts import keeper as accounts
from abci_app.devices import keeper as devices
from abci_app.grid.records import Tariffs
from abci_app.market import keeper
from abci_app.market.records import Statement
from abci_app.store.branch import Branch
from abci_app.types import Address

__all__ = [
    "METER",
    "StatementSums",
    "add_to_statement",
    "amend_statement",
    "drop_marks",
    "pay",
    "pay_from_supplier",
    "reported",
    "settle_sites",
    "statement_of",
]

METER = 1


def pay(store: Branch, payer: bytes, payee: bytes, amount: int) -> tuple[int, int]:
    """Move up to `amount` (bounded by the payer's balance); returns (paid, unpaid)."""
    paid = min(amount, accounts.balance(store, payer))
    if paid:
        accounts.subtract(store, payer, paid)
        accounts.add(store, payee, paid)
    return paid, amount - paid


def pay_from_supplier(store: Branch, t: Tariffs, eligible: bool, payee: bytes, amount: int) -> tuple[int, int]:
    """The supplier pays `amount` to `payee`: at most its balance, nothing at all when it is
    no longer an eligible supplier (`eligible` False); returns (paid, owed and not paid)."""
    if not eligible:
        return 0, amount
    return pay(store, t.supplier, payee, amount)


# The statements of the interval being settled, as plain sums (owner → Statement field →
# amount) built into Statement records once at the end: settlement adds to them several times
# per fill, and copying a frozen record each time cost more than the rest of settlement.
StatementSums = dict[bytes, dict[str, int]]


def add_to_statement(stmts: StatementSums, owner: bytes, interval: int, **amounts: int) -> None:
    """Add `amounts` (Statement field name → value) to the member's statement of the interval
    being settled (created empty on first use, also when every amount is 0; `interval` is the
    one `statement_of` builds it for)."""
    sums = stmts.setdefault(owner, {})
    for name, value in amounts.items():
        sums[name] = sums.get(name, 0) + value


def statement_of(stmts: StatementSums, owner: bytes, interval: int) -> Statement:
    """The member's Statement record of the interval from its sums."""
    return Statement(owner=Address(owner), interval_start=interval, **stmts[owner])


def amend_statement(store: Branch, stmts: StatementSums, owner: bytes, interval: int) -> None:
    """Add the member's sums in `stmts` to its stored statement of the interval, each amount
    kept at zero or above (whatever a genesis file put in the statement): a correction after the
    interval was settled."""
    have = keeper.get_statement(store, owner, interval) or statement_of({owner: {}}, owner, interval)
    amended = {name: max(0, getattr(have, name) + value) for name, value in sorted(stmts[owner].items())}
    keeper.put_statement(store, replace(have, **amended))


def reported(store: Branch, device_id: str, end: int) -> bool:
    """The device's last accepted reading ends at or after `end` (it has reported up to it)."""
    state = devices.get_reading(store, device_id)
    return state is not None and state.end >= end


def metered(store: Branch, site_id: str, interval: int) -> tuple[bool, int, int]:
    """(the site has a meter, Wh its meters imported, Wh they exported) in the interval."""
    has = False
    imported = exported = 0
    for device_id in devices.iter_site_devices(store, site_id):
        d = devices.get_device(store, device_id)
        if d is None or d.kind != METER:
            continue
        has = True
        e = devices.get_energy(store, device_id, interval)
        if e is not None:
            imported += e.import_wh
            exported += e.export_wh
    return has, imported, exported


def drop_marks(store: Branch, interval: int) -> None:
    """Clear the interval's site marks without settling (the interval is already settled)."""
    for site_id in list(devices.iter_energy_sites(store, interval)):
        devices.clear_site_energy(store, interval, site_id)


def settle_sites(  # noqa: PLR0917 - internal, called once per interval
    store: Branch,
    t: Tariffs,
    stmts: StatementSums,
    interval: int,
    buy_sites: frozenset[str],
    sell_sites: frozenset[str],
    *,
    supplier_eligible: bool = True,
    penalised: Mapping[str, int] | None = None,
    market_export: Mapping[str, int] | None = None,
    after: str | None = None,
    budget: int | None = None,
) -> tuple[int, str | None]:
    """Settle the marked sites' energy outside the market (see the module doc), in key order,
    those after the site `after` only (None: from the first), at most `budget` (≥ 1) of them
    (None: all). Not feed-in: the export `penalised` above a grid instruction's cap (site → Wh)
    and `market_export`, the export of a sell site's sold devices (site → Wh; a sell site it
    does not name gets no feed-in). Returns how many sites it settled, and the last one when
    marked sites remain after it (else None)."""
    if budget is not None and budget < 1:
        raise ValueError("settle_sites needs a budget of at least one site")
    sites = devices.iter_energy_sites(store, interval, after)
    marked = list(sites if budget is None else islice(sites, budget + 1))
    more = budget is not None and len(marked) > budget
    if more:
        marked = marked[:budget]
    for site_id in marked:
        devices.clear_site_energy(store, interval, site_id)
        site = devices.get_site(store, site_id)
        if site is None:  # pragma: no cover - sites are never deleted
            continue
        has_meter, imported, exported = metered(store, site_id, interval)
        retail_wh = 0 if site_id in buy_sites else imported
        feed_in_wh = _feed_in(site_id, exported, sell_sites, market_export or {}, penalised or {})
        if not has_meter or not (retail_wh or feed_in_wh):
            continue
        owner = bytes(site.owner)
        add_to_statement(stmts, owner, interval)
        if retail_wh:
            paid, unpaid = pay(store, owner, t.supplier, -(-retail_wh * t.retail_per_kwh // 1000))
            add_to_statement(stmts, owner, interval, retail_wh=retail_wh, retail_paid=paid, unpaid=unpaid)
        if feed_in_wh:
            paid, owed = pay_from_supplier(store, t, supplier_eligible, owner, feed_in_wh * t.feed_in_per_kwh // 1000)
            add_to_statement(stmts, owner, interval, feed_in_wh=feed_in_wh, feed_in_received=paid, unreceived=owed)
    return len(marked), (marked[-1] if more else None)


def _feed_in(
    site_id: str,
    exported: int,
    sell_sites: frozenset[str],
    market_export: Mapping[str, int],
    penalised: Mapping[str, int],
) -> int:
    """The Wh of the site's metered export `exported` that is feed-in (module doc)."""
    if site_id in sell_sites and site_id not in market_export:
        return 0  # a sold device has not reported: its sale is on an estimate
    return max(0, exported - market_export.get(site_id, 0) - penalised.get(site_id, 0))
