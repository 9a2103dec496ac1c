"""gridctl: the gridledger command line for members, operators and auditors.

    gridctl [--node URL] [--home .localnet] (--as ORG/NAME | --key KEY.pem) COMMAND ...

Addresses may be given as 40 hex digits or, on a localnet, as ORG/NAME (e.g. community-a/bob).
Queries print JSON; transactions wait for their commit and print the height and tx hash.
Each domain's commands live in `clients/commands/<domain>.py`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from clients.cli_support import Context
from clients.client import QueryFailedError, TxFailedError
from clients.commands import COMMAND_GROUPS
from clients.proof import ProofError
from clients.rpc import RPCError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridctl", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--node", default="http://127.0.0.1:26657", help="CometBFT RPC of a node")
    parser.add_argument("--home", type=Path, default=Path(".localnet"), help="localnet folder (for ORG/NAME keys)")
    parser.add_argument("--as", dest="as_member", metavar="ORG/NAME", help="sign as this localnet member")
    parser.add_argument("--key", help="sign with this Ed25519 private key (PEM)")
    parser.add_argument("--chain-id", help="default: the node's chain id")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[[Context, argparse.Namespace], None], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(fn=fn)
        return p

    for register in COMMAND_GROUPS:
        register(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = Context(args)
    try:
        args.fn(ctx, args)
    except TxFailedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (QueryFailedError, RPCError, ProofError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
