"""Founding commands: `gridctl ca init` makes an org's root CA offline; `gridctl genesis assemble`
makes the consortium's genesis.json from a founding file (clients/founding.py) and has the
ledger's own genesis import check it; `gridctl genesis check` gives a received file the same
check and its SHA-256. Nothing is signed for or sent to a chain."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from gridwire.contract.identity import is_org_id

from clients import devices as build
from clients.cli_support import AddCommand, Context, action_group
from clients.cli_types import CERT_NAME, DEVICE_ID, ED25519_PUBLIC_KEY, UsageError, int_in, power_w
from clients.commands.devices import device_key_arg
from clients.founding import FoundingError, assemble, genesis_bytes
from clients.pki import DeviceCA, new_device_ca, new_org_ca

__all__ = ["register"]

# The ledger's own import of a genesis file (abci_app/genesis.py), run as a program: gridctl
# imports nothing from the app, and this is the check every node makes at InitChain.
_LEDGER_CHECK = ("-m", "abci_app.genesis")


def _ca_id(text: str) -> str:
    """A device CA id as the ledger admits it: [a-z0-9-]{2,32}."""
    if not is_org_id(text):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a device CA id ([a-z0-9-], 2-32 characters)")
    return text


def _org_id(text: str) -> str:
    """An org id as the ledger admits it (a certificate's O): [a-z0-9-]{2,32}."""
    if not is_org_id(text):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an org id ([a-z0-9-], 2-32 characters)")
    return text


def _digest(ctx: Context, data: bytes) -> str:
    """SHA-256 of `data`: plain hex with --json, else in groups of 8 (read aloud to compare)."""
    hexed = hashlib.sha256(data).hexdigest()
    return hexed if ctx.json else " ".join(hexed[i : i + 8] for i in range(0, 64, 8))


def _start_of_today() -> dt.datetime:
    """Where a new CA's validity starts: today 00:00 UTC, so a genesis later today and the
    certificates it signs lie inside it."""
    return dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def cmd_ca_init(ctx: Context, args: argparse.Namespace) -> None:
    out = Path(args.out)
    key_file, cert_file = out / "ca.key.pem", out / "ca.cert.pem"
    if (key_file.exists() or cert_file.exists()) and not args.force:
        raise UsageError(f"{out} already holds a CA; refusing to overwrite it (--force replaces it)")
    name = args.name or (f"{args.org} root CA" if len(args.org) <= 56 else args.org)  # a CN is ≤ 64
    ca = new_org_ca(args.org, name=name, not_before=_start_of_today())
    try:
        ca.save(out)  # the key owner-only before it is written (pki.py)
    except OSError as exc:
        raise UsageError(f"cannot write the CA to {out}: {exc.strerror or exc}") from exc
    ctx.show(
        {
            "org": args.org,
            "subject": ca.cert.subject.rfc4514_string(),
            "key": str(key_file),
            "certificate": str(cert_file),
            "sha256": _digest(ctx, ca.cert_der),
            "not_before": ca.cert.not_valid_before_utc.isoformat(),
            "not_after": ca.cert.not_valid_after_utc.isoformat(),
        },
        title="org root CA (keep the key offline; give the certificate and its sha256 to the consortium)",
    )


def cmd_ca_init_device(ctx: Context, args: argparse.Namespace) -> None:
    out = Path(args.out)
    if ((out / "device-ca.key.pem").exists() or (out / "device-ca.cert.pem").exists()) and not args.force:
        raise UsageError(f"{out} already holds a device CA; refusing to overwrite it (--force replaces it)")
    name = args.name or (f"{args.ca_id} device CA" if len(args.ca_id) <= 54 else args.ca_id)  # a CN is ≤ 64
    ca = new_device_ca(args.ca_id, org_id=args.org or "", name=name, not_before=_start_of_today())
    try:
        ca.save(out)
    except OSError as exc:
        raise UsageError(f"cannot write the device CA to {out}: {exc.strerror or exc}") from exc
    ctx.show(
        {
            "ca_id": args.ca_id,
            "org": args.org or "(a manufacturer's)",
            "subject": ca.cert.subject.rfc4514_string(),
            "certificate": str(out / "device-ca.cert.pem"),
            "sha256": _digest(ctx, ca.cert_der),
            "not_after": ca.cert.not_valid_after_utc.isoformat(),
        },
        title="device CA (the consortium admits it: a founding [[device_ca]], or `propose admit-device-ca`)",
    )


def cmd_ca_issue_device(ctx: Context, args: argparse.Namespace) -> None:
    folder = Path(args.ca_dir)
    try:
        ca = DeviceCA.load(folder, folder.name)
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"--ca-dir {folder}: no device CA there (device-ca.key.pem, device-ca.cert.pem)") from exc
    public = device_key_arg(args)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)  # (clock skew)
    der = ca.issue_device_cert(
        args.device_id,
        args.kind,
        public,
        args.nameplate_w,
        not_before=start,
        not_after=start + dt.timedelta(days=365 * args.years),
    )
    cert = x509.load_der_x509_certificate(der)
    try:
        Path(args.out).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    ctx.show(
        {
            "file": args.out,
            "device_id": args.device_id,
            "kind": args.kind,
            "nameplate_w": args.nameplate_w,
            "public_key": public.hex(),
            "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "not_after": cert.not_valid_after_utc.isoformat(),
        },
        title="device certificate (`gridctl device register … --device-cert FILE`)",
    )


def _ledger_check(path: Path) -> str:
    """The ledger's verdict on the genesis file at `path`: its summary, or UsageError with its reason."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*sys.path, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, *_LEDGER_CHECK, str(path)], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    if done.returncode:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise UsageError(f"the ledger refuses this genesis: {reason[-1] if reason else f'exit {done.returncode}'}")
    return done.stdout.strip()


def cmd_genesis_assemble(ctx: Context, args: argparse.Namespace) -> None:
    out = Path(args.out)
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; refusing to overwrite a genesis (--force replaces it)")
    try:
        founded = assemble(Path(args.founding_file))
    except FoundingError as exc:
        raise UsageError(f"{args.founding_file}: {exc}") from exc
    data = genesis_bytes(founded.doc)
    # checked before anything is written where the orgs will look for it
    with tempfile.TemporaryDirectory(prefix="gridledger-genesis-") as tmp:
        trial = Path(tmp) / "genesis.json"
        trial.write_bytes(data)
        verdict = _ledger_check(trial)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    for warning in founded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    app_state = founded.doc["app_state"]
    ctx.show(
        {
            "file": str(out),
            "sha256": _digest(ctx, data),
            "chain_id": founded.doc["chain_id"],
            "genesis_time": founded.doc["genesis_time"],
            "orgs": [o["org_id"] for o in app_state["orgs"]],
            "members": len(app_state["members"]),
            "validators": [v["name"] or v["address"] for v in founded.doc["validators"]],
            "total_power": founded.total_power,
            "ledger_check": verdict.rsplit(": ", 1)[-1],
            **({"warnings": list(founded.warnings)} if ctx.json else {}),  # (else on stderr)
        },
        title="founding genesis (every org checks the sha256 before `gridctl node init`)",
    )


def cmd_genesis_check(ctx: Context, args: argparse.Namespace) -> None:
    path = Path(args.genesis_file)
    try:
        data = path.read_bytes()
        doc = json.loads(data)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON") from exc
    if not isinstance(doc, dict):
        raise UsageError(f"{path} is not a genesis document")
    verdict = _ledger_check(path)
    app_state = doc.get("app_state") or {}
    validators = doc.get("validators") or []
    ctx.show(
        {
            "file": str(path),
            "sha256": _digest(ctx, data),
            "chain_id": doc.get("chain_id", ""),
            "genesis_time": doc.get("genesis_time", ""),
            "orgs": [o.get("org_id", "") for o in app_state.get("orgs", [])],
            "validators": [v.get("name") or v.get("address", "") for v in validators],
            "total_power": sum(int(v.get("power", 0)) for v in validators),
            "ledger_check": verdict.rsplit(": ", 1)[-1],
        },
        title="genesis (compare the sha256 with the other orgs' before `gridctl node init`)",
    )


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    ca = action_group(add, "ca", "an org's root CA, made and kept offline")
    p = ca("init", cmd_ca_init, "make a new org root CA (Ed25519, self-signed): ca.key.pem (owner-only), ca.cert.pem")
    p.add_argument("out", help="the folder to write it to (`gridctl csr sign --ca-dir` reads it)")
    p.add_argument("--org", required=True, type=_org_id, help="the org id (the certificate's O; [a-z0-9-]{2,32})")
    p.add_argument("--name", type=CERT_NAME, help="the CA's common name (default: '<org> root CA')")
    p.add_argument("--force", action="store_true", help="replace a CA already in the folder")

    p = ca(
        "init-device", cmd_ca_init_device, "make a new device CA (a maker's or an org's): device-ca.key.pem, .cert.pem"
    )
    p.add_argument("out", help="the folder to write it to (`ca issue-device --ca-dir` reads it)")
    p.add_argument(
        "--ca-id", required=True, type=_ca_id, help="the id the consortium admits it under ([a-z0-9-]{2,32})"
    )
    p.add_argument("--org", type=_org_id, help="the org operating it (default: none, a manufacturer's)")
    p.add_argument("--name", type=CERT_NAME, help="the CA's common name (default: '<ca id> device CA')")
    p.add_argument("--force", action="store_true", help="replace a device CA already in the folder")
    p = ca("issue-device", cmd_ca_issue_device, "device CA: a device certificate binding its id, kind, key, nameplate")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("out", help="the certificate file to write (PEM)")
    p.add_argument("--ca-dir", required=True, help="the device CA's folder (from `ca init-device`)")
    p.add_argument("--kind", required=True, choices=sorted(build.KINDS))
    p.add_argument("--key-file", help="the device's private key (PEM); only its public key is used")
    p.add_argument("--public-key", type=ED25519_PUBLIC_KEY, help="the device's Ed25519 public key, hex")
    p.add_argument("--nameplate-w", type=power_w, required=True)
    p.add_argument("--years", type=int_in(1, 30, "years"), default=10, help="validity (default 10)")

    genesis = action_group(add, "genesis", "the consortium's founding genesis")
    p = genesis("assemble", cmd_genesis_assemble, "make genesis.json from a founding file (TOML) and check it")
    p.add_argument("founding_file", help="the founding file: orgs, members, device CAs, validators, params")
    p.add_argument("--out", default="genesis.json", help="where to write it (default genesis.json)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p = genesis("check", cmd_genesis_check, "a received genesis.json: the ledger's verdict and the file's SHA-256")
    p.add_argument("genesis_file")
