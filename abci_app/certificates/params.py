"""The certificates domain's governable parameters."""

from __future__ import annotations

from abci_app.params import ParamSpec, domain_param
from abci_app.store.branch import KVReader

__all__ = [
    "EXPIRY",
    "GRACE",
    "MAX_ISSUANCE",
    "PARAMS",
    "PERIOD",
    "PRUNE_PER_BLOCK",
    "RETENTION",
    "RETIRED_BUNDLE_RETENTION",
    "period",
]

GRACE = "certificates.issuance_grace_seconds"
EXPIRY = "certificates.expiry_seconds"
# the production "hour" of granular certificates: 3,600 s (EnergyTag); shorter only for
# demonstrations on an accelerated clock (`make demo`)
PERIOD = "certificates.period_seconds"
MAX_ISSUANCE = "certificates.max_issuance_per_block"
RETENTION = "certificates.retention_seconds"
PRUNE_PER_BLOCK = "certificates.prune_per_block"
RETIRED_BUNDLE_RETENTION = "certificates.retired_bundle_retention_seconds"
PARAMS = {
    # after an hour ends, how long issuance waits for a device's data to complete
    GRACE: ParamSpec(3_600, 0, 30 * 86_400),
    # age (after the production hour ends) at which an active bundle expires
    EXPIRY: ParamSpec(365 * 86_400, 3_600, 10 * 365 * 86_400),
    # governance keeps it >= 900 s (a day-long reading touches at most 97 production periods);
    # only a genesis for a demonstration on an accelerated clock goes down to 10 s. At most an
    # hour: an EnergyTag granular certificate's production period is one hour or less.
    PERIOD: ParamSpec(3_600, 900, 3_600, genesis_low=10),
    # device-hours the end-block hook issues (or accounts, for a battery) per block; the rest
    # stay queued, oldest first, for the next blocks (issuance_queue.py)
    MAX_ISSUANCE: ParamSpec(500, 10, 2_000),
    # how long a final record stays in live state before pruning archives it (prune.py): a
    # retirement (and its retired bundle) this long after it was made, an expired, withdrawn or
    # revoked bundle this long after its production hour's expiry age; a genesis for a
    # demonstration or a test goes down to an hour
    RETENTION: ParamSpec(90 * 86_400, 86_400, 10 * 365 * 86_400, genesis_low=3_600),
    # how long a retired bundle (record, index entries, history) stays in live state after its
    # retirement, when that is shorter than the retention above (prune.py): the retirement record,
    # which names the bundle, its device-hour, Wh, owner and beneficiary, is the provable claim
    # for the whole retention; the bundle is what a wallet shows the day it retired. A day by
    # default; 0 archives it in the retirement's own block
    RETIRED_BUNDLE_RETENTION: ParamSpec(86_400, 0, 10 * 365 * 86_400),
    # retirements and bundle rows pruning examines per block at most (prune.py; about 8 keys
    # removed per bundle). A million PV devices issue about 12 million hourly bundles a day,
    # which leave as retirements (each examined three times) or aged-out bundles: up to about
    # 420 rows a second. 1,000 a block keeps up at a block a second with room to catch up; a
    # cap below the daily volume would let state grow without end
    PRUNE_PER_BLOCK: ParamSpec(1_000, 50, 10_000),
}


def period(store: KVReader) -> int:
    """The certificate production period (an hour unless governance changed it)."""
    return domain_param(store, PERIOD)
