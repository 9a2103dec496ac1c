"""The devices domain's contract with its clients: error codes, event types, query paths.

Devices error codes (100-149) and battery codes (150-199). Consensus: never renumber or reuse.

The reading codes (100-112, 150) are per-reading reason codes: they appear in
`reading_rejected` events while the tx itself succeeds.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "ATTRIBUTES",
    "BATTERY_RULES_SET",
    "COMMISSIONING_WITHDRAWN",
    "DEVICE_COMMISSIONED",
    "DEVICE_KEY_ROTATED",
    "DEVICE_REGISTERED",
    "DEVICE_REINSTATED",
    "DEVICE_SUSPENDED",
    "DEVICE_TRANSFERRED",
    "ENERGY_PRUNED",
    "ERROR_RANGE",
    "EVENTS",
    "INDEXED",
    "READING_ACCEPTED",
    "READING_DUPLICATE",
    "READING_REJECTED",
    "SITE_MOVED",
    "SITE_REGISTERED",
    "DevicesCode",
    "Paths",
]

ERROR_RANGE = (100, 199)


class DevicesCode(IntEnum):
    # per-reading reasons, in the order they are checked
    UNKNOWN_DEVICE = 100
    BAD_READING_SIGNATURE = 101  # the registered key did not sign (forged, or another device's key)
    RETIRED_KEY = 102  # signed by one of the device's 4 most recently rotated-out keys (older: 101)
    DEVICE_SUSPENDED = 103
    RELAY_NOT_ALLOWED = 104  # the tx signer is neither the device's gateway nor its owner
    SEQ_REPLAYED = 105  # seq at or below the last accepted one (and not an identical resend)
    INTERVAL_OVERLAP = 106  # start before the last accepted reading's end
    BAD_INTERVAL = 107  # start >= end, or longer than MAX_READING_SECONDS
    REGISTER_DECREASED = 108
    ABOVE_NAMEPLATE = 109
    INTERVAL_IN_FUTURE = 110
    # checked right after BAD_INTERVAL: too short first, then before registration
    READING_BEFORE_REGISTRATION = 111  # the reading starts before the device's registration time
    READING_TOO_SHORT = 112  # the reading's own interval is shorter than devices.min_reading_seconds
    # registry
    DEVICE_EXISTS = 120
    UNKNOWN_SITE = 121
    SITE_EXISTS = 122
    NOT_DEVICE_OWNER = 123
    UNKNOWN_OWNER = 124
    KEY_NOT_NEW = 125  # rotation to the current or a retired key
    DEVICE_STATE = 126  # suspend a suspended device, reinstate an active one
    NOT_SITE_OWNER = 127  # a device is registered on a site only for (and by or for) the site's owner
    SITE_MISMATCH = 128  # a device's feeder or grid region given and not its site's
    # device certificates (devcert.py) and commissioning (commissioning.py)
    DEVICE_CERT_INVALID = 129  # not a DER X.509 certificate of the device profile
    DEVICE_CA_UNKNOWN = 130  # not issued by any admitted device CA (self-signed, a foreign CA)
    DEVICE_CA_REVOKED = 131  # issued by a device CA governance revoked
    DEVICE_CERT_EXPIRED = 132  # the certificate (or its CA) is not valid at block time
    DEVICE_CERT_KEY_MISMATCH = 133  # the certificate certifies another key
    DEVICE_CERT_SERIAL_MISMATCH = 134  # its subject serialNumber is not the device id
    DEVICE_CERT_KIND_MISMATCH = 135
    DEVICE_CERT_NAMEPLATE_MISMATCH = 136
    DEVICE_CERT_REQUIRED = 137  # a certified device's key rotates only with a certificate for the new key
    NOT_CERTIFIED = 138  # commissioning (or selling from) a device no admitted, unrevoked CA certifies
    NOT_A_GENERATOR = 139  # only PV, wind and batteries are commissioned; only they may declare a renewable source
    NOT_COMMISSIONED = 140  # no commissioning attestation covers the time (a sale's interval)
    BAD_ATTESTATION = 141  # valid_from >= expiry, or an expiry not after block time
    SELF_ATTESTATION = 142  # a certifier commissions a device it owns
    NOT_ATTESTING_ORG = 143  # withdrawing another org's attestation
    # batteries
    SOC_OUT_OF_BOUNDS = 150
    NOT_A_BATTERY = 151


# ---- event types
SITE_REGISTERED = "site_registered"
SITE_MOVED = "site_moved"
DEVICE_REGISTERED = "device_registered"
DEVICE_SUSPENDED = "device_suspended"
DEVICE_REINSTATED = "device_reinstated"
DEVICE_TRANSFERRED = "device_transferred"
DEVICE_KEY_ROTATED = "device_key_rotated"
READING_ACCEPTED = "reading_accepted"
READING_REJECTED = "reading_rejected"
READING_DUPLICATE = "reading_duplicate"
BATTERY_RULES_SET = "battery_rules_set"
ENERGY_PRUNED = "energy_pruned"
DEVICE_COMMISSIONED = "device_commissioned"
COMMISSIONING_WITHDRAWN = "commissioning_withdrawn"
EVENTS = frozenset(
    {
        SITE_REGISTERED,
        SITE_MOVED,
        DEVICE_REGISTERED,
        DEVICE_SUSPENDED,
        DEVICE_REINSTATED,
        DEVICE_TRANSFERRED,
        DEVICE_KEY_ROTATED,
        READING_ACCEPTED,
        READING_REJECTED,
        READING_DUPLICATE,
        BATTERY_RULES_SET,
        ENERGY_PRUNED,
        DEVICE_COMMISSIONED,
        COMMISSIONING_WITHDRAWN,
    }
)


# attributes clients read, by event type (a test checks the handlers emit them)
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    READING_ACCEPTED: ("device", "seq"),
    READING_DUPLICATE: ("device", "seq"),
    READING_REJECTED: ("device", "seq", "code", "reason"),  # code: a DevicesCode
}

# CometBFT's event index keeps only these attributes of these event types (all other attributes
# of every event are indexed): a reading is found by its device (`reading_accepted.device='…'`),
# and each indexed attribute costs every node one index write per reading. The others stay in the
# block results, where tx_search and block_results return them whole.
INDEXED: dict[str, frozenset[str]] = {
    READING_ACCEPTED: frozenset({"device"}),
    READING_DUPLICATE: frozenset({"device"}),
    READING_REJECTED: frozenset({"device", "code"}),
}


class Paths:
    """One builder per query root of the devices domain (abci_app/devices/queries.py routes them)."""

    COMMISSIONING = QueryRoot("commissioning")
    DEVICE = QueryRoot("device")
    DEVICES = QueryRoot("devices")
    SITE = QueryRoot("site")
    READING = QueryRoot("reading")
    ENERGY = QueryRoot("energy")
    FEEDER_ENERGY = QueryRoot("feeder_energy")  # public: a feeder's summed import/export in an interval
    BATTERY = QueryRoot("battery")
