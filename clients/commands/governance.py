"""Governance gridctl commands: proposals and votes."""

from __future__ import annotations

import argparse

from cryptography.hazmat.primitives import serialization
from gridledger.governance.v1 import governance_pb2

from clients import governance as build
from clients.cli_support import AddCommand, Context, load_certificate, to_json
from clients.cli_types import ED25519_PUBLIC_KEY, UsageError, count

__all__ = ["register"]

KINDS = [
    "admit-org",
    "remove-org",
    "validator",
    "param",
    "capabilities",
    "upgrade",
    "cancel-upgrade",
    "admit-device-ca",
    "revoke-device-ca",
]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def cmd_proposals(ctx: Context, args: argparse.Namespace) -> None:
    c = ctx.client(signing=False)
    items = [c.proposal(args.id)] if args.id else c.proposals()
    rows = []
    for p in items:
        row = {k: v for k, v in to_json(p).items() if k != "action"}
        action = governance_pb2.SubmitProposal.FromString(p.action).WhichOneof("action")
        rows.append({"id": p.id, "action": action or "", **row})
    columns = ["id", "title", "action", "status", "proposer_org", "yes_orgs", "no_orgs", "deadline", "result"]
    ctx.show(rows, title="proposals", columns=None if ctx.json else columns)


def build_proposal(args: argparse.Namespace) -> governance_pb2.SubmitProposal:
    """The SubmitProposal of `gridctl propose KIND ...`."""
    title = args.title or args.kind
    if args.kind == "admit-org":
        if not args.ca_cert:
            raise UsageError("admit-org needs --ca-cert")
        ca = load_certificate(args.ca_cert, "CA certificate")
        der = ca.public_bytes(serialization.Encoding.DER)
        return build.admit_org(title, args.org_id, args.name or args.org_id, der, _split(args.capabilities))
    if args.kind == "admit-device-ca":
        if not args.ca_cert or not args.ca_id:
            raise UsageError("admit-device-ca needs --ca-id and --ca-cert")
        ca = load_certificate(args.ca_cert, "device CA certificate")
        der = ca.public_bytes(serialization.Encoding.DER)
        return build.admit_device_ca(title, args.ca_id, args.name or args.ca_id, args.org_id, der)
    if args.kind == "revoke-device-ca":
        if not args.ca_id:
            raise UsageError("revoke-device-ca needs --ca-id")
        return build.revoke_device_ca(title, args.ca_id)
    if args.kind == "remove-org":
        return build.remove_org(title, args.org_id)
    if args.kind == "validator":
        return build.update_validator(title, args.pub_key or b"", args.power)
    if args.kind == "capabilities":
        return build.set_capabilities(title, args.org_id, _split(args.capabilities))
    if args.kind == "upgrade":
        if not args.name or not args.height:
            raise UsageError("upgrade needs --name and --height")
        return build.schedule_upgrade(title, args.name, args.height, args.info)
    if args.kind == "cancel-upgrade":
        return build.cancel_upgrade(title, args.name)
    return build.change_param(title, args.name, args.value)


def cmd_propose(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build_proposal(args)), kind=args.kind)


def cmd_vote(ctx: Context, args: argparse.Namespace) -> None:
    msg = build.vote(args.id, args.choice == "yes")
    ctx.done(ctx.submit(msg), proposal=args.id, vote=args.choice)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    add("proposals", cmd_proposals, "governance proposals").add_argument("--id", type=count, default=0)
    p = add("propose", cmd_propose, "admin: submit a governance proposal")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--title", default="")
    p.add_argument("--org-id", default="")
    p.add_argument(
        "--name",
        default="",
        help="org name (admit-org), device CA name (admit-device-ca), parameter (param), upgrade name (upgrade, "
        "cancel-upgrade)",
    )
    p.add_argument("--ca-cert", help="admit-org, admit-device-ca: the org's root CA or the device CA certificate (PEM)")
    p.add_argument("--ca-id", default="", help="admit-device-ca, revoke-device-ca: the device CA's id")
    p.add_argument("--capabilities", default="", help="admit-org, capabilities: roles, comma separated")
    p.add_argument("--pub-key", type=ED25519_PUBLIC_KEY, help="validator: Ed25519 public key, hex")
    p.add_argument("--power", type=count, default=10)
    p.add_argument("--value", type=count, default=0)
    p.add_argument("--height", type=count, default=0, help="upgrade: the block height at which it runs")
    p.add_argument("--info", default="", help="upgrade: release notes for operators (where to get the new version)")
    p = add("vote", cmd_vote, "admin: vote on a proposal for your org")
    p.add_argument("id", type=count)
    p.add_argument("choice", choices=["yes", "no"])
