"""gridctl: the gridledger command line for members, operators and auditors.

    gridctl [--node URL] [--home .localnet] (--as ORG/NAME | --key KEY.pem) COMMAND ...

Addresses may be given as 40 hex digits or, on a localnet, as ORG/NAME (e.g. community-a/bob).
Queries print JSON; transactions wait for their commit and print the height and tx hash.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message

from abci_app.pb import tx_pb2
from clients.client import GridClient, QueryFailedError, TxFailedError
from clients.pki import load_identity
from clients.proof import ProofError
from clients.rpc import CometRPC, RPCError

__all__ = ["main"]


def to_json(message: Message) -> dict[str, Any]:
    """A protobuf message as a JSON-ready dict, bytes as hex (addresses read naturally)."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.message_type is not None:
            if field.is_repeated:
                out[field.name] = [to_json(v) for v in value]
            else:
                out[field.name] = to_json(value)
        elif isinstance(value, bytes):
            out[field.name] = value.hex()
        elif field.is_repeated:
            out[field.name] = [v.hex() if isinstance(v, bytes) else v for v in value]
        elif field.enum_type is not None:
            out[field.name] = field.enum_type.values_by_number[value].name
        else:
            out[field.name] = value
    return out


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True))


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.home: Path = args.home
        self.rpc = CometRPC(args.node)
        self._args = args
        self._chain_id: str | None = args.chain_id

    @property
    def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = str(self.rpc.status()["node_info"]["network"])
        return self._chain_id

    def key(self) -> Ed25519PrivateKey:
        if self._args.key:
            key = serialization.load_pem_private_key(Path(self._args.key).read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise SystemExit(f"{self._args.key} is not an Ed25519 private key")
            return key
        if self._args.as_member:
            org, _, name = self._args.as_member.partition("/")
            return load_identity(self.home / "consortium" / org / "members", name).key
        raise SystemExit("this command signs a transaction: give --as ORG/NAME or --key FILE")

    def address(self, text: str) -> bytes:
        if "/" in text:
            org, _, name = text.partition("/")
            return load_identity(self.home / "consortium" / org / "members", name).address
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise SystemExit(f"{text!r} is neither a hex address nor ORG/NAME") from exc
        if len(raw) != 20:
            raise SystemExit(f"an address is 20 bytes (40 hex digits), got {len(raw)}")
        return raw

    def client(self, signing: bool = True) -> GridClient:
        return GridClient(self.rpc, self.chain_id, self.key() if signing else None)


def _tx_done(result: Any) -> None:
    _print({"code": result.code, "hash": result.hash, "height": result.height})


def cmd_status(ctx: Context, args: argparse.Namespace) -> None:
    s = ctx.rpc.status()
    _print(
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
    _print({"address": c.address.hex(), "public_key": c.public_key.hex()})


def cmd_account(ctx: Context, args: argparse.Namespace) -> None:
    address = ctx.address(args.address)
    c = ctx.client(signing=False)
    if args.prove:
        _print({"address": address.hex(), "balance": c.proven_balance(address), "proof": "verified"})
        return
    a = c.account(address)
    _print({"address": a.address.hex(), "balance": a.balance, "nonce": a.nonce})


def cmd_member(ctx: Context, args: argparse.Namespace) -> None:
    _print(to_json(ctx.client(signing=False).member(ctx.address(args.address))))


def cmd_orgs(ctx: Context, args: argparse.Namespace) -> None:
    orgs = ctx.client(signing=False).orgs()
    _print([{k: v for k, v in to_json(o).items() if k != "root_ca_der"} for o in orgs])


def cmd_members(ctx: Context, args: argparse.Namespace) -> None:
    _print([to_json(m) for m in ctx.client(signing=False).members(args.org)])


def cmd_proposals(ctx: Context, args: argparse.Namespace) -> None:
    c = ctx.client(signing=False)
    items = [c.proposal(args.id)] if args.id else c.proposals()
    _print([{k: v for k, v in to_json(p).items() if k != "action"} for p in items])


def cmd_supply(ctx: Context, args: argparse.Namespace) -> None:
    s = ctx.client(signing=False).supply()
    _print({"minted": s.minted, "burned": s.burned, "circulating": s.minted - s.burned})


def cmd_params(ctx: Context, args: argparse.Namespace) -> None:
    _print(to_json(ctx.client(signing=False).params()))


def cmd_transfer(ctx: Context, args: argparse.Namespace) -> None:
    _tx_done(ctx.client().transfer(ctx.address(args.to), args.amount, memo=args.memo))


def cmd_mint(ctx: Context, args: argparse.Namespace) -> None:
    _tx_done(ctx.client().mint(ctx.address(args.to), args.amount))


def cmd_burn(ctx: Context, args: argparse.Namespace) -> None:
    _tx_done(ctx.client().burn(args.amount))


def cmd_enroll(ctx: Context, args: argparse.Namespace) -> None:
    cert = x509.load_pem_x509_certificate(Path(args.cert).read_bytes())
    _tx_done(ctx.client().enroll(cert.public_bytes(serialization.Encoding.DER)))


def cmd_revoke(ctx: Context, args: argparse.Namespace) -> None:
    _tx_done(ctx.client().revoke_member(ctx.address(args.member), args.reason))


def cmd_role(ctx: Context, args: argparse.Namespace) -> None:
    c = ctx.client()
    member = ctx.address(args.member)
    _tx_done(c.grant_role(member, args.role) if args.action == "grant" else c.revoke_role(member, args.role))


def cmd_propose(ctx: Context, args: argparse.Namespace) -> None:
    p = tx_pb2.SubmitProposal(title=args.title or args.kind)
    if args.kind == "admit-org":
        ca = x509.load_pem_x509_certificate(Path(args.ca_cert).read_bytes())
        p.admit_org.CopyFrom(
            tx_pb2.AdmitOrg(
                org_id=args.org_id,
                name=args.name or args.org_id,
                root_ca_der=ca.public_bytes(serialization.Encoding.DER),
            )
        )
    elif args.kind == "remove-org":
        p.remove_org.CopyFrom(tx_pb2.RemoveOrg(org_id=args.org_id))
    elif args.kind == "validator":
        p.update_validator.CopyFrom(
            tx_pb2.UpdateValidator(pub_key_ed25519=bytes.fromhex(args.pub_key), power=args.power)
        )
    else:
        p.change_param.CopyFrom(tx_pb2.ChangeParam(name=args.name, value=args.value))
    _tx_done(ctx.client().propose(p))


def cmd_vote(ctx: Context, args: argparse.Namespace) -> None:
    _tx_done(ctx.client().vote(args.id, args.choice == "yes"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridctl", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--node", default="http://127.0.0.1:26657", help="CometBFT RPC of a node")
    parser.add_argument("--home", type=Path, default=Path(".localnet"), help="localnet folder (for ORG/NAME keys)")
    parser.add_argument("--as", dest="as_member", metavar="ORG/NAME", help="sign as this localnet member")
    parser.add_argument("--key", help="sign with this Ed25519 private key (PEM)")
    parser.add_argument("--chain-id", help="default: the node's chain id")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Any, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(fn=fn)
        return p

    add("status", cmd_status, "node height, app hash, chain id")
    add("whoami", cmd_whoami, "the signing key's address")
    p = add("account", cmd_account, "balance and nonce of an address")
    p.add_argument("address")
    p.add_argument("--prove", action="store_true", help="verify the balance with a Merkle proof")
    add("member", cmd_member, "a member record").add_argument("address")
    add("orgs", cmd_orgs, "the consortium's orgs")
    add("members", cmd_members, "an org's members").add_argument("org")
    add("proposals", cmd_proposals, "governance proposals").add_argument("--id", type=int, default=0)
    add("supply", cmd_supply, "money minted, burned, circulating")
    add("params", cmd_params, "chain parameters")
    p = add("transfer", cmd_transfer, "send money")
    p.add_argument("to")
    p.add_argument("amount", type=int)
    p.add_argument("--memo", default="")
    p = add("mint", cmd_mint, "issuer: credit new money")
    p.add_argument("to")
    p.add_argument("amount", type=int)
    add("burn", cmd_burn, "issuer: destroy own money").add_argument("amount", type=int)
    add("enroll", cmd_enroll, "enrol a member certificate (PEM)").add_argument("cert")
    p = add("revoke", cmd_revoke, "admin: revoke a member of your org")
    p.add_argument("member")
    p.add_argument("--reason", default="")
    p = add("role", cmd_role, "admin: grant or revoke a role")
    p.add_argument("action", choices=["grant", "revoke"])
    p.add_argument("member")
    p.add_argument("role")
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
