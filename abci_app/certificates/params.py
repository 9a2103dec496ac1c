"""The certificates domain's governable parameters."""

from __future__ import annotations

from abci_app.params import ParamSpec, domain_param
from abci_app.store.branch import KVReader

__all__ = ["EXPIRY", "GRACE", "PARAMS", "PERIOD", "period"]

GRACE = "certificates.issuance_grace_seconds"
EXPIRY = "certificates.expiry_seconds"
# the production "hour" of granular certificates: 3,600 s (EnergyTag); shorter only for
# demonstrations on an accelerated clock (`make demo`)
PERIOD = "certificates.period_seconds"
PARAMS = {
    # after an hour ends, how long issuance waits for a device's data to complete
    GRACE: ParamSpec(3_600, 0, 30 * 86_400),
    # age (after the production hour ends) at which an active bundle expires
    EXPIRY: ParamSpec(365 * 86_400, 3_600, 10 * 365 * 86_400),
    PERIOD: ParamSpec(3_600, 10, 86_400),
}


def period(store: KVReader) -> int:
    """The certificate production period (an hour unless governance changed it)."""
    return domain_param(store, PERIOD)
