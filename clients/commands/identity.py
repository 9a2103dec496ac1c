"""Identity gridctl commands: orgs, members, enrolment, revocation, roles."""

from __future__ import annotations

import argparse

from cryptography.hazmat.primitives import serialization
from gridledger.identity.v1 import identity_pb2
from gridwire.address import address_of
from gridwire.contract.identity import Paths as IdentityPaths

from clients import identity as build
from clients.cli_support import AddCommand, Context, load_certificate, to_json

__all__ = ["register"]


def cmd_member(ctx: Context, args: argparse.Namespace) -> None:
    address = ctx.address(args.address)
    member = ctx.query(IdentityPaths.MEMBER(address.hex()), identity_pb2.Member, what=f"member {address.hex()}")
    ctx.show({k: v for k, v in to_json(member).items() if k != "certificate_der"}, title="member")


def cmd_orgs(ctx: Context, args: argparse.Namespace) -> None:
    orgs = ctx.client(signing=False).orgs()
    ctx.show([{k: v for k, v in to_json(o).items() if k != "root_ca_der"} for o in orgs], title="orgs")


def cmd_members(ctx: Context, args: argparse.Namespace) -> None:
    members = ctx.client(signing=False).members(args.org)
    ctx.show(
        [{k: v for k, v in to_json(m).items() if k != "certificate_der"} for m in members],
        title=f"members of {args.org}",
    )


def cmd_enroll(ctx: Context, args: argparse.Namespace) -> None:
    cert = load_certificate(args.cert, "member certificate")
    der = cert.public_bytes(serialization.Encoding.DER)
    raw = cert.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    result = ctx.submit(build.enroll(der))
    ctx.done(result, member=address_of(raw).hex())


def cmd_revoke(ctx: Context, args: argparse.Namespace) -> None:
    member = ctx.address(args.member)
    ctx.done(ctx.submit(build.revoke_member(member, args.reason)), member=member.hex())


def cmd_role(ctx: Context, args: argparse.Namespace) -> None:
    member = ctx.address(args.member)
    msg = build.grant_role(member, args.role) if args.action == "grant" else build.revoke_role(member, args.role)
    ctx.done(ctx.submit(msg), member=member.hex(), role=args.role, action=args.action)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    add("member", cmd_member, "a member record").add_argument("address")
    add("orgs", cmd_orgs, "the consortium's orgs")
    add("members", cmd_members, "an org's members").add_argument("org")
    add("enroll", cmd_enroll, "enrol a member certificate (PEM), signed by its own key or an org admin").add_argument(
        "cert"
    )
    p = add("revoke", cmd_revoke, "admin: revoke a member of your org")
    p.add_argument("member")
    p.add_argument("--reason", default="")
    p = add("role", cmd_role, "admin: grant or revoke a role")
    p.add_argument("action", choices=["grant", "revoke"])
    p.add_argument("member")
    p.add_argument("role")
