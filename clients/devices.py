"""Client side of the devices domain: message builders and device-signed readings.

Imports nothing from abci_app: the signed bytes come from `gridwire.reading` and the
messages are the generated `gridledger.devices.v1` protos.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gridledger.devices.v1 import devices_pb2
from gridwire.reading import Reading, reading_sign_bytes

__all__ = [
    "KINDS",
    "battery_rules",
    "commission_device",
    "device_public_key",
    "move_site",
    "register_device",
    "register_site",
    "reinstate_device",
    "rotate_key",
    "sign_reading",
    "submit_readings",
    "suspend_device",
    "transfer_device",
    "withdraw_commissioning",
]

KINDS = {
    "meter": devices_pb2.DEVICE_KIND_METER,
    "pv": devices_pb2.DEVICE_KIND_PV,
    "wind": devices_pb2.DEVICE_KIND_WIND,
    "battery": devices_pb2.DEVICE_KIND_BATTERY,
    "ev_charger": devices_pb2.DEVICE_KIND_EV_CHARGER,
    "heat_pump": devices_pb2.DEVICE_KIND_HEAT_PUMP,
    "appliance": devices_pb2.DEVICE_KIND_APPLIANCE,
}


def device_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def register_site(
    site_id: str, feeder: str, grid_region: str = "", owner: bytes = b"", location: tuple[int, int] | None = None
) -> devices_pb2.RegisterSite:
    """A RegisterSite; `location` is (latitude, longitude) in micro-degrees (PV energy of a
    located site above the clear-sky bound is held for the certifier)."""
    msg = devices_pb2.RegisterSite(site_id=site_id, feeder=feeder, grid_region=grid_region, owner=owner)
    if location is not None:
        msg.latitude_udeg, msg.longitude_udeg = location
    return msg


def register_device(
    device_id: str,
    site_id: str,
    kind: str,
    public_key: bytes,
    nameplate_w: int,
    *,
    energy_source: str = "",
    technology: str = "",
    commissioning_date: int = 0,
    country: str = "",
    grid_region: str = "",
    feeder: str = "",
    gateway: bytes = b"",
    owner: bytes = b"",
    capacity_wh: int = 0,
    max_charge_w: int = 0,
    max_discharge_w: int = 0,
    efficiency_bp: int = 0,
    device_cert: bytes = b"",
) -> devices_pb2.RegisterDevice:
    """A RegisterDevice; for kind "battery" the battery fields are carried.

    `device_cert` is the device's X.509 certificate (DER) from a device CA governance
    admitted (clients.pki.DeviceCA.issue_device_cert makes one). Its profile
    (gridwire.devicecert): the certified Ed25519 key is `public_key`, the subject
    serialNumber is `device_id`, and the device-profile extension carries `kind` and
    `nameplate_w`; the ledger refuses any mismatch. Without a certificate the device is
    registered uncertified: it is never commissioned, so it earns no certificates and no
    sell order may name it (a plain consumption meter needs none)."""
    msg = devices_pb2.RegisterDevice(
        device_id=device_id,
        site_id=site_id,
        kind=KINDS[kind],
        public_key=public_key,
        nameplate_w=nameplate_w,
        energy_source=energy_source,
        technology=technology,
        commissioning_date=commissioning_date,
        country=country,
        grid_region=grid_region,
        feeder=feeder,
        gateway=gateway,
        owner=owner,
        device_cert_der=device_cert,
    )
    if kind == "battery":
        msg.battery.CopyFrom(
            devices_pb2.BatterySpec(
                capacity_wh=capacity_wh,
                max_charge_w=max_charge_w,
                max_discharge_w=max_discharge_w,
                efficiency_bp=efficiency_bp,
            )
        )
    return msg


def rotate_key(device_id: str, new_public_key: bytes, new_device_cert: bytes = b"") -> devices_pb2.RotateDeviceKey:
    """A key rotation; a certified device needs `new_device_cert`, a device certificate for the new key."""
    return devices_pb2.RotateDeviceKey(
        device_id=device_id, new_public_key=new_public_key, new_device_cert_der=new_device_cert
    )


def commission_device(device_id: str, valid_from: int, expiry: int) -> devices_pb2.CommissionDevice:
    """A certifier's commissioning attestation of a certified device for [valid_from, expiry)."""
    return devices_pb2.CommissionDevice(device_id=device_id, valid_from=valid_from, expiry=expiry)


def withdraw_commissioning(device_id: str, reason: str = "") -> devices_pb2.WithdrawCommissioning:
    return devices_pb2.WithdrawCommissioning(device_id=device_id, reason=reason)


def sign_reading(key: Ed25519PrivateKey, chain_id: str, reading: Reading) -> devices_pb2.SignedReading:
    """The reading as the device signs it for `chain_id`."""
    r = reading
    return devices_pb2.SignedReading(
        device_id=r.device_id,
        seq=r.seq,
        start=r.start,
        end=r.end,
        import_wh=r.import_wh,
        export_wh=r.export_wh,
        charged_wh=r.charged_wh,
        discharged_wh=r.discharged_wh,
        soc_wh=r.soc_wh,
        signature=key.sign(reading_sign_bytes(chain_id, r)),
    )


def submit_readings(readings: list[devices_pb2.SignedReading]) -> devices_pb2.SubmitReadings:
    return devices_pb2.SubmitReadings(readings=readings)


def battery_rules(  # noqa: PLR0917 - the message's fields
    device_id: str,
    charge_below_price: int,
    discharge_above_price: int,
    reserve_bp: int = 0,
    green_only: bool = False,
    community: bool = False,
) -> devices_pb2.SetBatteryRules:
    return devices_pb2.SetBatteryRules(
        device_id=device_id,
        charge_below_price=charge_below_price,
        discharge_above_price=discharge_above_price,
        reserve_bp=reserve_bp,
        green_only=green_only,
        community=community,
    )


def move_site(site_id: str, feeder: str) -> devices_pb2.MoveSite:
    """Move a site (and its devices) to another feeder (the grid operator's message)."""
    return devices_pb2.MoveSite(site_id=site_id, feeder=feeder)


def suspend_device(device_id: str, reason: str) -> devices_pb2.SuspendDevice:
    """Suspend a device: its readings are refused until it is reinstated."""
    return devices_pb2.SuspendDevice(device_id=device_id, reason=reason)


def reinstate_device(device_id: str) -> devices_pb2.ReinstateDevice:
    """Reinstate a suspended device."""
    return devices_pb2.ReinstateDevice(device_id=device_id)


def transfer_device(device_id: str, new_owner: bytes) -> devices_pb2.TransferDevice:
    """Hand a device to another member."""
    return devices_pb2.TransferDevice(device_id=device_id, new_owner=new_owner)
