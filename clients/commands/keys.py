"""Key and certificate gridctl commands: Ed25519 keys for members and devices, CSRs, and an
org CA signing member certificates (enrol them with `gridctl enroll`). Nothing is sent to a node."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from gridwire.address import address_of

from clients.cli_support import AddCommand, Context, action_group, load_csr, load_private_key
from clients.cli_types import CERT_NAME, UsageError
from clients.keys_cli import CsrError, create_csr, generate_key, load_ca, member_address, public_raw, sign_csr

__all__ = ["register"]


def cmd_keys_generate(ctx: Context, args: argparse.Namespace) -> None:
    try:
        key = generate_key(Path(args.out), overwrite=args.force)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from exc
    raw = public_raw(key)
    ctx.show({"file": args.out, "public_key": raw.hex(), "address": address_of(raw).hex()}, title="new Ed25519 key")


def cmd_keys_show(ctx: Context, args: argparse.Namespace) -> None:
    raw = public_raw(load_private_key(args.key_file))
    ctx.show({"file": args.key_file, "public_key": raw.hex(), "address": address_of(raw).hex()}, title="Ed25519 key")


def cmd_csr_create(ctx: Context, args: argparse.Namespace) -> None:
    key = load_private_key(args.key)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    if any(len(r) > 64 for r in roles):
        raise UsageError("--roles: each role is at most 64 characters")
    csr = create_csr(key, args.org, args.name, roles)
    Path(args.out).write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    raw = public_raw(key)
    ctx.show(
        {"file": args.out, "org": args.org, "name": args.name, "roles": roles, "address": address_of(raw).hex()},
        title="certificate request",
    )


def cmd_csr_sign(ctx: Context, args: argparse.Namespace) -> None:
    ca = load_ca(Path(args.ca_dir))
    csr = load_csr(args.csr)
    try:
        cert = sign_csr(ca, csr)
    except CsrError as exc:
        raise UsageError(str(exc)) from exc
    Path(args.out).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    subject = cert.subject
    ctx.show(
        {
            "file": args.out,
            "org": ca.org_id,
            "name": str(subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value),
            "roles": [str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)],
            "serial": format(cert.serial_number, "x"),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "address": member_address(cert).hex(),
        },
        title="member certificate",
    )


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    keys = action_group(add, "keys", "Ed25519 keys for members and devices (kept on this machine)")
    p = keys("generate", cmd_keys_generate, "write a new Ed25519 private key (PEM, owner-only)")
    p.add_argument("out")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    keys("show", cmd_keys_show, "a key file's public key and address").add_argument("key_file")

    csr = action_group(add, "csr", "certificate requests and an org CA signing member certificates")
    p = csr("create", cmd_csr_create, "a CSR for a member certificate, signed by your key")
    p.add_argument("--key", required=True, help="your private key (PEM)")
    p.add_argument("--org", required=True, type=CERT_NAME)
    p.add_argument("--name", required=True, type=CERT_NAME)
    p.add_argument("--roles", default="", help="comma separated, e.g. prosumer,gateway")
    p.add_argument("out")
    p = csr("sign", cmd_csr_sign, "org CA: sign a member certificate for a CSR")
    p.add_argument("--ca-dir", required=True, help="folder holding the org's ca.key.pem and ca.cert.pem")
    p.add_argument("csr")
    p.add_argument("out")
