"""Accounts gridctl commands: balances, supply, transfers, issuance."""

from __future__ import annotations

import argparse

from clients.cli_support import AddCommand, Context, print_json, tx_done

__all__ = ["register"]


def cmd_account(ctx: Context, args: argparse.Namespace) -> None:
    address = ctx.address(args.address)
    c = ctx.client(signing=False)
    if args.prove:
        print_json({"address": address.hex(), "balance": c.proven_balance(address), "proof": "verified"})
        return
    a = c.account(address)
    print_json({"address": a.address.hex(), "balance": a.balance, "nonce": a.nonce})


def cmd_supply(ctx: Context, args: argparse.Namespace) -> None:
    s = ctx.client(signing=False).supply()
    print_json({"minted": s.minted, "burned": s.burned, "circulating": s.minted - s.burned})


def cmd_transfer(ctx: Context, args: argparse.Namespace) -> None:
    tx_done(ctx.client().transfer(ctx.address(args.to), args.amount, memo=args.memo))


def cmd_mint(ctx: Context, args: argparse.Namespace) -> None:
    tx_done(ctx.client().mint(ctx.address(args.to), args.amount))


def cmd_burn(ctx: Context, args: argparse.Namespace) -> None:
    tx_done(ctx.client().burn(args.amount))


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    p = add("account", cmd_account, "balance and nonce of an address")
    p.add_argument("address")
    p.add_argument("--prove", action="store_true", help="verify the balance with a Merkle proof")
    add("supply", cmd_supply, "money minted, burned, circulating")
    p = add("transfer", cmd_transfer, "send money")
    p.add_argument("to")
    p.add_argument("amount", type=int)
    p.add_argument("--memo", default="")
    p = add("mint", cmd_mint, "issuer: credit new money")
    p.add_argument("to")
    p.add_argument("amount", type=int)
    add("burn", cmd_burn, "issuer: destroy own money").add_argument("amount", type=int)
