"""Every contract module, in the registry's order, and what is derived from all of them."""

from __future__ import annotations

from enum import IntEnum
from types import ModuleType

from gridwire.contract import accounts, certificates, chain, devices, forecasts, governance, grid, identity, market

__all__ = ["ALL_CODES", "CODE_ENUMS", "DOMAINS", "ERROR_RANGES", "INDEXED_ATTRIBUTES"]

# domain name → its contract module (the names and order of abci_app/registry.py's DOMAINS)
DOMAINS: dict[str, ModuleType] = {
    "identity": identity,
    "governance": governance,
    "accounts": accounts,
    "devices": devices,
    "grid": grid,
    "certificates": certificates,
    "forecasts": forecasts,
    "market": market,
}


# the chain's code enum, then each domain's, in registry order
CODE_ENUMS: tuple[type[IntEnum], ...] = (
    chain.Code,
    identity.IdentityCode,
    governance.GovernanceCode,
    accounts.AccountsCode,
    devices.DevicesCode,
    grid.GridCode,
    certificates.CertificatesCode,
    forecasts.ForecastsCode,
    market.MarketCode,
)

# owner → inclusive code ranges: the chain's two, then one per domain
ERROR_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "chain": chain.CHAIN_ERROR_RANGES,
    **{name: (module.ERROR_RANGE,) for name, module in DOMAINS.items()},
}

# every declared code (the chain's OK included), in code order
ALL_CODES: tuple[IntEnum, ...] = tuple(sorted((c for e in CODE_ENUMS for c in e), key=int))

# event type → the only attributes CometBFT indexes (types not named index every attribute)
INDEXED_ATTRIBUTES: dict[str, frozenset[str]] = {
    event_type: keys for module in DOMAINS.values() for event_type, keys in getattr(module, "INDEXED", {}).items()
}
