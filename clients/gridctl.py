"""gridctl: the gridledger command line for members, operators and auditors.

    gridctl [--node URL] [--home .localnet] [--json] [--wide] (--as ORG/NAME | --key KEY.pem)
            [--genesis FILE | --trusted-height H --trusted-hash HEX]       (trust anchor of --prove reads)
            [--bridge HOST:PORT [--bridge-ca CA.pem] [--member-cert CERT.pem]] COMMAND ...

gridctl talks to a node's CometBFT RPC (queries with abci_query, transactions with
broadcast_tx_commit); `alerts --watch` follows a bridge's Signals stream when --bridge is given,
over TLS with --bridge-ca, authenticated as the signing member (--as, or --key with --member-cert)
when the bridge requires member authentication.
Addresses may be given as 40 hex digits or, on a localnet, as ORG/NAME (e.g. community-a/bob).
Answers print as tables (amounts with their units); --json prints the same data as JSON.
A failed transaction prints `error: code N (NAME): reason` and exits 2.
Reads with --prove check a Merkle proof against a header the light client verified from a trust
anchor you hold: --genesis FILE (its validators) or --trusted-height/--trusted-hash (a header
hash obtained out of band). Without one they trust the genesis the node serves, and say so
(a warning on stderr, trust_anchor "node_genesis" in the answer).
Each domain's commands live in `clients/commands/<domain>.py`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from clients.cli_support import Context, NotFoundError
from clients.cli_types import UsageError
from clients.client import QueryFailedError, TxFailedError
from clients.commands import COMMAND_GROUPS
from clients.proof import ProofError
from clients.rpc import BroadcastResult, RPCError
from clients.trust_anchor import add_trust_options

__all__ = ["build_parser", "main", "tx_error_line"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridctl", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--node", default="http://127.0.0.1:26657", help="CometBFT RPC of a node")
    parser.add_argument("--bridge", help="HOST:PORT of a gRPC bridge (alerts --watch follows its Signals stream)")
    parser.add_argument(
        "--bridge-ca", type=Path, metavar="FILE", help="TLS to --bridge: its certificate's CA (or itself), PEM"
    )
    parser.add_argument(
        "--member-cert",
        type=Path,
        metavar="FILE",
        help="--key's member certificate, for a bridge with member authentication (--as uses its own)",
    )
    parser.add_argument("--home", type=Path, default=Path(".localnet"), help="localnet folder (for ORG/NAME keys)")
    parser.add_argument("--as", dest="as_member", metavar="ORG/NAME", help="sign as this localnet member")
    parser.add_argument("--key", help="sign with this Ed25519 private key (PEM)")
    parser.add_argument("--chain-id", help="default: the node's chain id")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--wide", action="store_true", help="print addresses and keys in full")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    add_trust_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[Context, argparse.Namespace], None], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(fn=fn)
        return p

    for register in COMMAND_GROUPS:
        register(add)
    return parser


def tx_error_line(result: BroadcastResult) -> str:
    """`error: code N (NAME): reason` for a failed tx (the app's logs start with the code name)."""
    name, sep, reason = result.log.partition(": ")
    if not (sep and name.replace("_", "").isalnum() and name.isupper()):
        name, reason = "?", result.log
    return f"error: code {result.code} ({name}): {reason}"


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit status 0 on success, 1 for a failed query or unreachable node,
    2 for a failed transaction or a wrong command line (argparse's own errors, a value out of
    range, an unknown ORG/NAME, a missing or non-PEM file: one line on stderr, nothing sent),
    3 for an unexpected error. No traceback is printed unless --debug is given."""
    args = build_parser().parse_args(argv)
    try:
        ctx = Context(args)
        args.fn(ctx, args)
    except TxFailedError as exc:
        print(tx_error_line(exc.result), file=sys.stderr)
        where = f"at height {exc.result.height}" if exc.result.height else "refused before inclusion (CheckTx)"
        print(f"  tx {exc.result.hash} {where}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (QueryFailedError, RPCError, ProofError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file named on the command line (certificates, CA folders, outputs)
        if args.debug:
            raise
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (--debug prints the traceback)", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
