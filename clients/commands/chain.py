"""Chain-level gridctl commands: node status, the signing key, parameters."""

from __future__ import annotations

import argparse

from clients.cli_support import AddCommand, Context, print_json, to_json

__all__ = ["register"]


def cmd_status(ctx: Context, args: argparse.Namespace) -> None:
    s = ctx.rpc.status()
    print_json(
        {
            "chain_id": s["node_info"]["network"],
            "moniker": s["node_info"]["moniker"],
            "height": int(s["sync_info"]["latest_block_height"]),
            "app_hash": s["sync_info"]["latest_app_hash"],
            "catching_up": s["sync_info"]["catching_up"],
        }
    )


def cmd_whoami(ctx: Context, args: argparse.Namespace) -> None:
    c = ctx.client()
    print_json({"address": c.address.hex(), "public_key": c.public_key.hex()})


def cmd_params(ctx: Context, args: argparse.Namespace) -> None:
    print_json(to_json(ctx.client(signing=False).params()))


def register(add: AddCommand) -> None:
    add("status", cmd_status, "node height, app hash, chain id")
    add("whoami", cmd_whoami, "the signing key's address")
    add("params", cmd_params, "chain parameters")
