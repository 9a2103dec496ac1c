"""Identity gridctl commands: orgs, members, enrolment, revocation, roles."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from clients.cli_support import AddCommand, Context, print_json, to_json, tx_done

__all__ = ["register"]


def cmd_member(ctx: Context, args: argparse.Namespace) -> None:
    print_json(to_json(ctx.client(signing=False).member(ctx.address(args.address))))


def cmd_orgs(ctx: Context, args: argparse.Namespace) -> None:
    orgs = ctx.client(signing=False).orgs()
    print_json([{k: v for k, v in to_json(o).items() if k != "root_ca_der"} for o in orgs])


def cmd_members(ctx: Context, args: argparse.Namespace) -> None:
    print_json([to_json(m) for m in ctx.client(signing=False).members(args.org)])


def cmd_enroll(ctx: Context, args: argparse.Namespace) -> None:
    cert = x509.load_pem_x509_certificate(Path(args.cert).read_bytes())
    tx_done(ctx.client().enroll(cert.public_bytes(serialization.Encoding.DER)))


def cmd_revoke(ctx: Context, args: argparse.Namespace) -> None:
    tx_done(ctx.client().revoke_member(ctx.address(args.member), args.reason))


def cmd_role(ctx: Context, args: argparse.Namespace) -> None:
    c = ctx.client()
    member = ctx.address(args.member)
    tx_done(c.grant_role(member, args.role) if args.action == "grant" else c.revoke_role(member, args.role))


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    add("member", cmd_member, "a member record").add_argument("address")
    add("orgs", cmd_orgs, "the consortium's orgs")
    add("members", cmd_members, "an org's members").add_argument("org")
    add("enroll", cmd_enroll, "enrol a member certificate (PEM)").add_argument("cert")
    p = add("revoke", cmd_revoke, "admin: revoke a member of your org")
    p.add_argument("member")
    p.add_argument("--reason", default="")
    p = add("role", cmd_role, "admin: grant or revoke a role")
    p.add_argument("action", choices=["grant", "revoke"])
    p.add_argument("member")
    p.add_argument("role")
