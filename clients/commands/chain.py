"""Chain-level gridctl commands: node status, the signing key, parameters."""

from __future__ import annotations

import argparse

from gridledger.state.v1 import state_pb2
from gridwire.contract.governance import Paths as GovernancePaths

from clients.cli_support import AddCommand, Context, to_json

__all__ = ["register"]


def cmd_status(ctx: Context, args: argparse.Namespace) -> None:
    s = ctx.rpc.status()
    ctx.show(
        {
            "chain_id": s["node_info"]["network"],
            "moniker": s["node_info"]["moniker"],
            "height": int(s["sync_info"]["latest_block_height"]),
            "time": s["sync_info"]["latest_block_time"],
            "app_hash": s["sync_info"]["latest_app_hash"],
            "catching_up": s["sync_info"]["catching_up"],
        },
        title="node",
    )


def cmd_whoami(ctx: Context, args: argparse.Namespace) -> None:
    c = ctx.client()
    ctx.show({"address": c.address.hex(), "public_key": c.public_key.hex()}, title="signer")


def cmd_params(ctx: Context, args: argparse.Namespace) -> None:
    ctx.show(to_json(ctx.query(GovernancePaths.PARAMS(), state_pb2.Params)), title="parameters")


def register(add: AddCommand) -> None:
    add("status", cmd_status, "node height, block time, app hash, chain id")
    add("whoami", cmd_whoami, "the signing key's address")
    add("params", cmd_params, "chain parameters")
