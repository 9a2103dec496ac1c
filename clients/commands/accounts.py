"""Accounts gridctl commands: balances, supply, transfers, issuance."""

from __future__ import annotations

import argparse

from clients import accounts as build
from clients.cli_support import AddCommand, Context
from clients.cli_types import amount
from clients.trust_anchor import trust_anchor

__all__ = ["register"]


def cmd_account(ctx: Context, args: argparse.Namespace) -> None:
    address = ctx.address(args.address)
    c = ctx.client(signing=False)
    if args.prove:
        anchor = trust_anchor(ctx.rpc, args)  # --genesis / --trusted-height+hash, else the node's (warned)
        balance = c.proven_balance(address, light=anchor.light)
        answer = {"address": address.hex(), "balance": balance, "proof": "verified", **anchor.fields()}
        ctx.show(answer, title="account")
        return
    a = c.account(address)
    ctx.show({"address": a.address.hex(), "balance": a.balance, "nonce": a.nonce}, title="account")


def cmd_supply(ctx: Context, args: argparse.Namespace) -> None:
    s = ctx.client(signing=False).supply()
    ctx.show({"minted": s.minted, "burned": s.burned, "circulating": s.minted - s.burned}, title="money supply")


def cmd_transfer(ctx: Context, args: argparse.Namespace) -> None:
    to = ctx.address(args.to)
    result = ctx.submit(build.transfer(to, args.amount), memo=args.memo)
    ctx.done(result, to=to.hex(), amount=args.amount)


def cmd_mint(ctx: Context, args: argparse.Namespace) -> None:
    to = ctx.address(args.to)
    ctx.done(ctx.submit(build.mint(to, args.amount)), to=to.hex(), amount=args.amount)


def cmd_burn(ctx: Context, args: argparse.Namespace) -> None:
    ctx.done(ctx.submit(build.burn(args.amount)), amount=args.amount)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    p = add("account", cmd_account, "balance and nonce of an address")
    p.add_argument("address")
    p.add_argument(
        "--prove",
        action="store_true",
        help="verify the balance with a Merkle proof against a light-client-verified header "
        "(trust anchor: the global --genesis or --trusted-height/--trusted-hash)",
    )
    add("supply", cmd_supply, "money minted, burned, circulating")
    p = add("transfer", cmd_transfer, "send money (minor units)")
    p.add_argument("to")
    p.add_argument("amount", type=amount)
    p.add_argument("--memo", default="")
    p = add("mint", cmd_mint, "issuer: credit new money (minor units)")
    p.add_argument("to")
    p.add_argument("amount", type=amount)
    add("burn", cmd_burn, "issuer: destroy own money (minor units)").add_argument("amount", type=amount)
