"""Governance gridctl commands: proposals and votes."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from gridledger.governance.v1 import governance_pb2

from clients.cli_support import AddCommand, Context, print_json, to_json, tx_done

__all__ = ["register"]


def cmd_proposals(ctx: Context, args: argparse.Namespace) -> None:
    c = ctx.client(signing=False)
    items = [c.proposal(args.id)] if args.id else c.proposals()
    print_json([{k: v for k, v in to_json(p).items() if k != "action"} for p in items])


def cmd_propose(ctx: Context, args: argparse.Namespace) -> None:
    p = governance_pb2.SubmitProposal(title=args.title or args.kind)
    if args.kind == "admit-org":
        ca = x509.load_pem_x509_certificate(Path(args.ca_cert).read_bytes())
        p.admit_org.CopyFrom(
            governance_pb2.AdmitOrg(
                org_id=args.org_id,
                name=args.name or args.org_id,
                root_ca_der=ca.public_bytes(serialization.Encoding.DER),
            )
        )
    elif args.kind == "remove-org":
        p.remove_org.CopyFrom(governance_pb2.RemoveOrg(org_id=args.org_id))
    elif args.kind == "validator":
        p.update_validator.CopyFrom(
            governance_pb2.UpdateValidator(pub_key_ed25519=bytes.fromhex(args.pub_key), power=args.power)
        )
    else:
        p.change_param.CopyFrom(governance_pb2.ChangeParam(name=args.name, value=args.value))
    tx_done(ctx.client().propose(p))


def cmd_vote(ctx: Context, args: argparse.Namespace) -> None:
    tx_done(ctx.client().vote(args.id, args.choice == "yes"))


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    add("proposals", cmd_proposals, "governance proposals").add_argument("--id", type=int, default=0)
    p = add("propose", cmd_propose, "admin: submit a governance proposal")
    p.add_argument("kind", choices=["admit-org", "remove-org", "validator", "param"])
    p.add_argument("--title", default="")
    p.add_argument("--org-id", default="")
    p.add_argument("--name", default="", help="org name (admit-org) or parameter name (param)")
    p.add_argument("--ca-cert", help="admit-org: the org's root CA certificate (PEM)")
    p.add_argument("--pub-key", help="validator: Ed25519 public key, hex")
    p.add_argument("--power", type=int, default=10)
    p.add_argument("--value", type=int, default=0)
    p = add("vote", cmd_vote, "admin: vote on a proposal for your org")
    p.add_argument("id", type=int)
    p.add_argument("choice", choices=["yes", "no"])
