"""The certificates domain's governable parameters."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = ["EXPIRY", "GRACE", "PARAMS"]

GRACE = "certificates.issuance_grace_seconds"
EXPIRY = "certificates.expiry_seconds"
PARAMS = {
    # after an hour ends, how long issuance waits for a device's data to complete
    GRACE: ParamSpec(3_600, 0, 30 * 86_400),
    # age (after the production hour ends) at which an active bundle expires
    EXPIRY: ParamSpec(365 * 86_400, 3_600, 10 * 365 * 86_400),
}
