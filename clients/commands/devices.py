"""Devices gridctl commands: sites, devices (with device certificates and commissioning),
device-signed readings, interval energy, batteries."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from gridledger.devices.v1 import devices_pb2
from gridwire.contract import devices as devices_contract
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.reading import Reading

from clients import devices as build
from clients.cli_support import AddCommand, Context, action_group, add_paging, load_private_key, page_query, to_json
from clients.cli_types import (
    DEVICE_ID,
    ED25519_PUBLIC_KEY,
    LATITUDE_UDEG,
    LONGITUDE_UDEG,
    UsageError,
    basis_points,
    count,
    power_w,
    price,
    unix_seconds,
    watt_hours,
)
from clients.pki import TEST_DEVICE_CA, DeviceCA

__all__ = ["device_key_arg", "register", "tx_event_rows"]

DEVICE_COLUMNS = ["device_id", "kind", "owner", "site_id", "feeder", "nameplate_w", "energy_source", "suspended"]


def tx_event_rows(events: list[dict[str, Any]], types: set[str]) -> list[dict[str, Any]]:
    """The tx's events of `types` as rows: {"event": type, attribute: value, ...}."""
    rows = []
    for event in events:
        if event.get("type") in types:
            attrs = {str(a.get("key")): a.get("value") for a in event.get("attributes") or []}
            attrs.pop("msg_index", None)
            rows.append({"event": event["type"], **attrs})
    return rows


# -- sites ------------------------------------------------------------------------------------


def cmd_site_register(ctx: Context, args: argparse.Namespace) -> None:
    owner = ctx.address(args.owner) if args.owner else b""
    location = None
    if args.latitude_udeg is not None or args.longitude_udeg is not None:
        location = (args.latitude_udeg or 0, args.longitude_udeg or 0)
    msg = build.register_site(args.site_id, args.feeder, args.region, owner, location)
    ctx.done(ctx.submit(msg), site=args.site_id, feeder=args.feeder)


def cmd_site_show(ctx: Context, args: argparse.Namespace) -> None:
    site = ctx.query(DevicesPaths.SITE(args.site_id), devices_pb2.Site, what=f"site {args.site_id!r}")
    ctx.show(to_json(site), title=f"site {args.site_id}")


def cmd_site_move(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.move_site(args.site_id, args.feeder)
    ctx.done(ctx.submit(msg), site=args.site_id, feeder=args.feeder)


# -- devices ----------------------------------------------------------------------------------


def device_key_arg(args: argparse.Namespace) -> bytes:
    """The device's raw Ed25519 public key from --key-file (its private key: only the public half
    is used) or --public-key HEX."""
    if args.key_file:
        return build.device_public_key(load_private_key(args.key_file))
    if args.public_key:
        return bytes(args.public_key)
    raise UsageError("give the device's key: --key-file DEVICE.pem (only its public half is sent) or --public-key HEX")


def _read_cert(path: str) -> bytes:
    """A certificate file, PEM or DER, as DER."""
    raw = Path(path).read_bytes()
    try:
        cert = (
            x509.load_pem_x509_certificate(raw)
            if raw.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(raw)
        )
    except ValueError as exc:
        raise SystemExit(f"{path} is not an X.509 certificate (PEM or DER): {exc}") from exc
    return cert.public_bytes(Encoding.DER)


def _device_cert(  # noqa: PLR0917 - the bound fields
    ctx: Context, args: argparse.Namespace, device_id: str, kind: str, public_key: bytes, nameplate_w: int
) -> bytes:
    """--device-cert FILE; else, unless --uncertified, one issued by the localnet's device CA
    (--device-ca, default the test CA) binding the device's key, id, kind and nameplate."""
    if args.device_cert:
        return _read_cert(args.device_cert)
    if args.uncertified:
        return b""
    folder = ctx.home / "consortium" / "device-cas" / args.device_ca
    if not (folder / "device-ca.key.pem").exists():
        raise SystemExit(
            f"no device CA {args.device_ca!r} in {ctx.home}: give --device-cert FILE, or --uncertified "
            "(an uncertified device earns no certificates and sells nothing)"
        )
    return DeviceCA.load(folder, args.device_ca).issue_device_cert(device_id, kind, public_key, nameplate_w)


def cmd_device_register(ctx: Context, args: argparse.Namespace) -> None:
    public_key = device_key_arg(args)
    msg = build.register_device(
        args.device_id,
        args.site,
        args.kind,
        public_key,
        args.nameplate_w,
        energy_source=args.energy_source,
        technology=args.technology,
        commissioning_date=args.commissioning_date,
        country=args.country,
        grid_region=args.region,
        feeder=args.feeder,
        gateway=ctx.address(args.gateway) if args.gateway else b"",
        owner=ctx.address(args.owner) if args.owner else b"",
        capacity_wh=args.capacity_wh,
        max_charge_w=args.max_charge_w,
        max_discharge_w=args.max_discharge_w,
        efficiency_bp=args.efficiency_bp,
        device_cert=_device_cert(ctx, args, args.device_id, args.kind, public_key, args.nameplate_w),
    )
    certified = bool(msg.device_cert_der)
    ctx.done(ctx.submit(msg), device=args.device_id, kind=args.kind, site=args.site, certified=certified)


def cmd_device_show(ctx: Context, args: argparse.Namespace) -> None:
    device = ctx.query(DevicesPaths.DEVICE(args.device_id), devices_pb2.Device, what=f"device {args.device_id!r}")
    ctx.show(to_json(device), title=f"device {args.device_id}")


def cmd_device_list(ctx: Context, args: argparse.Namespace) -> None:
    if bool(args.owner) == bool(args.feeder):
        raise UsageError("give exactly one of --owner ADDRESS or --feeder FEEDER")
    path = (
        DevicesPaths.DEVICES("owner", ctx.address(args.owner).hex())
        if args.owner
        else DevicesPaths.DEVICES("feeder", args.feeder)
    )
    view = ctx.query_list(path + page_query(args), devices_pb2.DeviceList)
    ctx.show_page([to_json(d) for d in view.devices], view.next, title="devices", columns=DEVICE_COLUMNS)


def cmd_device_suspend(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.suspend_device(args.device_id, args.reason)
    ctx.done(ctx.submit(msg), device=args.device_id, suspended=True)


def cmd_device_reinstate(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.reinstate_device(args.device_id)), device=args.device_id, suspended=False)


def cmd_device_transfer(ctx: Context, args: argparse.Namespace) -> None:
    to = ctx.address(args.new_owner)
    ctx.done(ctx.submit(build.transfer_device(args.device_id, to)), owner=to.hex())


def cmd_device_rotate(ctx: Context, args: argparse.Namespace) -> None:
    public = build.device_public_key(load_private_key(args.new_key))
    device = ctx.query(DevicesPaths.DEVICE(args.device_id), devices_pb2.Device, what=f"device {args.device_id!r}")
    cert = b""
    if device.cert_ca_id or args.device_cert:
        kind = next(k for k, v in build.KINDS.items() if v == device.kind)
        cert = _device_cert(ctx, args, args.device_id, kind, public, device.nameplate_w)
    msg = build.rotate_key(args.device_id, public, cert)
    ctx.done(ctx.submit(msg), device=args.device_id, public_key=public.hex())


def cmd_device_commission(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.commission_device(args.device_id, args.valid_from, args.expiry)
    ctx.done(ctx.submit(msg), device=args.device_id, valid_from=args.valid_from, expiry=args.expiry)


def cmd_device_withdraw(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.withdraw_commissioning(args.device_id, args.reason)
    ctx.done(ctx.submit(msg), device=args.device_id, commissioned=False)


def cmd_device_commissioning(ctx: Context, args: argparse.Namespace) -> None:
    what = f"a commissioning attestation of {args.device_id!r}"
    c = ctx.query(DevicesPaths.COMMISSIONING(args.device_id), devices_pb2.Commissioning, what=what)
    ctx.show(to_json(c), title=f"commissioning of {args.device_id}")


def _cert_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device-cert", default="", help="the device's X.509 certificate (PEM or DER) from a device CA")
    p.add_argument(
        "--device-ca",
        default=TEST_DEVICE_CA,
        help="without --device-cert: issue one from this device CA of the localnet (--home)",
    )
    p.add_argument(
        "--uncertified", action="store_true", help="no certificate: never a generator (no certificates, no sale)"
    )


# -- readings, energy, batteries ----------------------------------------------------------------


def cmd_reading_submit(ctx: Context, args: argparse.Namespace) -> None:
    seq = args.seq
    if seq == 0:
        last = ctx.find(DevicesPaths.READING(args.device_id), devices_pb2.ReadingState)
        seq = (last.seq if last else 0) + 1
    reading = Reading(
        device_id=args.device_id,
        seq=seq,
        start=args.start,
        end=args.end,
        import_wh=args.import_wh,
        export_wh=args.export_wh,
        charged_wh=args.charged_wh,
        discharged_wh=args.discharged_wh,
        soc_wh=args.soc_wh,
    )
    signed = build.sign_reading(load_private_key(args.device_key), ctx.chain_id, reading)
    result = ctx.submit(build.submit_readings([signed]))
    rows = tx_event_rows(
        ctx.tx_events(result),
        {devices_contract.READING_ACCEPTED, devices_contract.READING_DUPLICATE, devices_contract.READING_REJECTED},
    )
    outcome = rows[0] if rows else {}
    ctx.done(
        result,
        device=args.device_id,
        seq=seq,
        outcome=str(outcome.get("event", "?")).removeprefix("reading_"),
        **({"reject_code": int(outcome["code"]), "reason": outcome.get("reason", "")} if "code" in outcome else {}),
    )


def cmd_reading_show(ctx: Context, args: argparse.Namespace) -> None:
    state = ctx.query(
        DevicesPaths.READING(args.device_id), devices_pb2.ReadingState, what=f"a reading of {args.device_id!r}"
    )
    ctx.show({"device_id": args.device_id, **to_json(state)}, title=f"last reading of {args.device_id}")


def cmd_energy(ctx: Context, args: argparse.Namespace) -> None:
    what = f"energy of {args.device_id!r} in the interval starting {args.interval_start}"
    energy = ctx.query(DevicesPaths.ENERGY(args.device_id, args.interval_start), devices_pb2.IntervalEnergy, what=what)
    ctx.show(
        {
            "device_id": args.device_id,
            "interval_start": energy.interval_start,
            "import_wh": energy.import_wh,
            "export_wh": energy.export_wh,
        },
        title="interval energy",
    )


def cmd_battery_show(ctx: Context, args: argparse.Namespace) -> None:
    view = ctx.query(DevicesPaths.BATTERY(args.device_id), devices_pb2.BatteryView, what=f"battery {args.device_id!r}")
    data = {
        "device_id": view.device_id,
        "capacity_wh": view.capacity_wh,
        "soc_mwh": view.soc_mwh,
        "has_rules": view.has_rules,
    }
    if view.has_rules:
        data.update(
            {
                "charge_below_price": view.rules.charge_below_price,
                "discharge_above_price": view.rules.discharge_above_price,
                "reserve_bp": view.rules.reserve_bp,
                "green_only": view.rules.green_only,
            }
        )
    ctx.show(data, title=f"battery {args.device_id}")


def cmd_battery_rules(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.battery_rules(args.device_id, args.charge_below, args.discharge_above, args.reserve_bp, args.green_only)
    ctx.done(ctx.submit(msg), device=args.device_id)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    site = action_group(add, "site", "sites: a member's premises with one grid connection")
    p = site("register", cmd_site_register, "register a site on a feeder")
    p.add_argument("site_id")
    p.add_argument("--feeder", required=True)
    p.add_argument("--region", default="", help="grid region")
    p.add_argument("--owner", default="", help="the site's owner (default: the signer)")
    p.add_argument("--latitude-udeg", type=LATITUDE_UDEG, help="location in micro-degrees (with --longitude-udeg)")
    p.add_argument(
        "--longitude-udeg", type=LONGITUDE_UDEG, help="PV energy above the clear sky there is held for the certifier"
    )
    site("show", cmd_site_show, "a site").add_argument("site_id")
    p = site("move", cmd_site_move, "operator: move a site to another feeder")
    p.add_argument("site_id")
    p.add_argument("feeder")

    device = action_group(add, "device", "the device registry")
    p = device("register", cmd_device_register, "site owner: register a device on the site with its own Ed25519 key")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--site", required=True)
    p.add_argument("--kind", required=True, choices=sorted(build.KINDS))
    p.add_argument("--key-file", help="the device's private key (PEM); only its public key is sent")
    p.add_argument("--public-key", type=ED25519_PUBLIC_KEY, help="the device's Ed25519 public key, hex")
    p.add_argument("--nameplate-w", type=power_w, required=True)
    p.add_argument("--energy-source", default="")
    p.add_argument("--technology", default="")
    p.add_argument("--commissioning-date", type=unix_seconds, default=0, help="unix seconds")
    p.add_argument("--country", default="")
    p.add_argument("--region", default="", help="grid region: the site's (the default; another is refused)")
    p.add_argument("--feeder", default="", help="the site's (the default; another is refused)")
    p.add_argument("--gateway", default="", help="address allowed to relay the device's readings")
    p.add_argument("--owner", default="", help="gateways: register for this member of your org (who must own the site)")
    p.add_argument("--capacity-wh", type=watt_hours, default=0, help="batteries")
    p.add_argument("--max-charge-w", type=power_w, default=0, help="batteries")
    p.add_argument("--max-discharge-w", type=power_w, default=0, help="batteries")
    p.add_argument("--efficiency-bp", type=basis_points, default=0, help="batteries: round trip, basis points")
    _cert_options(p)
    device("show", cmd_device_show, "a device").add_argument("device_id", type=DEVICE_ID)
    p = device("list", cmd_device_list, "devices by owner or feeder")
    p.add_argument("--owner", default="")
    p.add_argument("--feeder", default="")
    add_paging(p)
    p = device("suspend", cmd_device_suspend, "owner or operator: suspend a device")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--reason", default="")
    device("reinstate", cmd_device_reinstate, "owner or operator: reinstate a device").add_argument(
        "device_id", type=DEVICE_ID
    )
    p = device("transfer", cmd_device_transfer, "owner: give a device to another member")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("new_owner")
    p = device("rotate-key", cmd_device_rotate, "owner: replace the device's key (the old one is refused from now)")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--new-key", required=True, help="the new private key file (PEM); only its public key is sent")
    _cert_options(p)
    p = device("commission", cmd_device_commission, "certifier: attest a certified pv, wind or battery commissioned")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--valid-from", type=unix_seconds, required=True, help="unix seconds")
    p.add_argument(
        "--expiry", type=unix_seconds, required=True, help="unix seconds (the attestation covers [from, expiry))"
    )
    p = device("withdraw-commissioning", cmd_device_withdraw, "certifier: withdraw a device's attestation")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--reason", default="")
    device("commissioning", cmd_device_commissioning, "a device's commissioning attestation").add_argument(
        "device_id", type=DEVICE_ID
    )

    reading = action_group(add, "reading", "device-signed meter readings")
    p = reading("submit", cmd_reading_submit, "sign a reading with the device's key file and submit it")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--device-key", required=True, help="the device's private key (PEM)")
    p.add_argument("--seq", type=count, default=0, help="default: the last accepted + 1")
    p.add_argument("--start", type=unix_seconds, required=True, help="interval start, unix seconds")
    p.add_argument("--end", type=unix_seconds, required=True, help="interval end, unix seconds")
    p.add_argument("--import-wh", type=watt_hours, default=0, help="cumulative import register")
    p.add_argument("--export-wh", type=watt_hours, default=0, help="cumulative export register")
    p.add_argument("--charged-wh", type=watt_hours, default=0, help="batteries: cumulative")
    p.add_argument("--discharged-wh", type=watt_hours, default=0, help="batteries: cumulative")
    p.add_argument("--soc-wh", type=watt_hours, default=0, help="batteries: state of charge as reported")
    reading("show", cmd_reading_show, "a device's last accepted reading").add_argument("device_id", type=DEVICE_ID)

    p = add("energy", cmd_energy, "a device's import and export in one settlement interval")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("interval_start", type=unix_seconds)

    battery = action_group(add, "battery", "batteries: state of charge and owner rules")
    battery("show", cmd_battery_show, "capacity, state of charge and rules").add_argument("device_id", type=DEVICE_ID)
    p = battery("rules", cmd_battery_rules, "owner: set the battery's rules")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--charge-below", type=price, required=True, help="charge at a price <= P (minor units/kWh)")
    p.add_argument("--discharge-above", type=price, required=True, help="discharge at a price >= Q (minor units/kWh)")
    p.add_argument(
        "--reserve-bp", type=basis_points, default=0, help="never below this share of capacity (basis points)"
    )
    p.add_argument("--green-only", action="store_true", help="charge only from renewable energy")
