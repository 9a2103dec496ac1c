"""Whose money a battery's charging buy spends: the site owner's, on her own signature.

A battery's buy order (its own rules' charge order, or its community bid) names the
battery's site, so it is placed in the site owner's name, escrowed from her account and
settled against her site's meters. When the battery is hers, her own SetBatteryRules (or a
transfer she signed) authorises it. When it is someone else's (a leased battery: registered
on her site, owned by another member), its rules were signed by the battery's owner, who
cannot spend her money: the buy is placed only under her ChargingConsent for the battery
(SetSiteChargingConsent, signed by her), at no more than the consent's max_price_per_kwh and
with no more escrow per UTC day (of the interval) than its max_spend_per_day. Without a
consent the battery gets no buy and a `rule_skipped` event (no_site_consent); with the day's
allowance spent, `rule_skipped` (consent_spent). The consent counts each order's escrow
when it is placed and is not credited with what clearing refunds, so the cap holds whatever
the clearing does. A consent is void once the battery moves to another site or the site to
another owner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from abci_app.devices.records import Device, Site
from abci_app.market import keeper
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address

__all__ = ["Charging", "charging_terms", "record_spend"]

DAY = 86_400


@dataclass(frozen=True, slots=True)
class Charging:
    """On whose account, at what price and within what escrow a battery's buy may be placed."""

    payer: Address
    price: int
    max_escrow: int | None  # None: no cap (the site owner's own battery)
    reason: str = ""  # non-empty: no buy, and why


def charging_terms(store: KVReader, device: Device, site: Site, interval: int, price: int) -> Charging:
    """The terms of the battery's buy for `interval` at the rule's `price` (see the module doc)."""
    if device.owner == site.owner:
        return Charging(site.owner, price, None)
    consent = keeper.get_consent(store, device.device_id)
    if consent is None or consent.site_owner != site.owner or consent.site_id != device.site_id:
        return Charging(site.owner, price, 0, "no_site_consent")
    spent = consent.day_spent if consent.day == interval // DAY else 0
    left = max(0, consent.max_spend_per_day - spent)
    if not left:
        return Charging(site.owner, price, 0, "consent_spent")
    return Charging(site.owner, min(price, consent.max_price_per_kwh), left)


def record_spend(store: Branch, device: Device, interval: int, escrow: int) -> None:
    """Count `escrow` against the leased battery's consent for the interval's day."""
    consent = keeper.get_consent(store, device.device_id)
    if consent is None:
        return
    day = interval // DAY
    spent = consent.day_spent if consent.day == day else 0
    keeper.put_consent(store, replace(consent, day=day, day_spent=spent + escrow))
