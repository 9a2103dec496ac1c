"""What every gridctl command module shares: the invocation context and output helpers.

A command builds its answer as JSON-ready data (`to_json` of the protobuf records, or a dict)
and hands it to `Context.show`: with the global `--json` flag it is printed as JSON for
scripts, otherwise as rich tables (one table per list, a key/value table per record) with
amounts as integers and their units, and addresses shortened unless `--wide` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridwire.contract.chain import Code
from gridwire.contract.paths import page_suffix
from rich.console import Console
from rich.table import Table

from clients.cli_types import UsageError, count
from clients.client import GridClient, QueryFailedError
from clients.pki import Identity, load_identity
from clients.rpc import BroadcastResult, CometRPC

__all__ = [
    "AddCommand",
    "Context",
    "NotFoundError",
    "action_group",
    "add_paging",
    "format_value",
    "load_certificate",
    "load_csr",
    "load_private_key",
    "localnet_identity",
    "page_query",
    "print_json",
    "read_input_file",
    "to_json",
    "unit_of",
]

# add(name, handler, help) → the subcommand's parser, for its arguments
AddCommand = Callable[[str, Callable[["Context", argparse.Namespace], None], str], argparse.ArgumentParser]
Handler = Callable[["Context", argparse.Namespace], None]
M = TypeVar("M", bound=Message)
QUERY_NOT_FOUND = Code.QUERY_NOT_FOUND  # the chain's query code for a missing record

MONEY_FIELDS = frozenset(
    {
        "amount",
        "balance",
        "budget",
        "burned",
        "circulating",
        "cost",
        "daily_budget",
        "day_spent",
        "escrow",
        "fees",
        "imbalance_paid",
        "imbalance_received",
        "minted",
        "paid",
        "received",
        "refunded",
        "refunds",
        "reward",
        "unpaid",
    }
)


class NotFoundError(RuntimeError):
    """The queried record does not exist."""


def _scalar(field: Any, value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if field.enum_type is not None:
        return field.enum_type.values_by_number[value].name
    return value


def to_json(message: Message) -> dict[str, Any]:
    """A protobuf message as a JSON-ready dict: every scalar field (defaults included, so a
    record's shape is stable for scripts), set sub-messages, bytes as hex, enums by name."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.is_repeated:
            if field.message_type is not None:
                out[field.name] = [to_json(v) for v in value]
            else:
                out[field.name] = [_scalar(field, v) for v in value]
        elif field.message_type is not None:
            if message.HasField(field.name):
                out[field.name] = to_json(value)
        elif field.containing_oneof is None or message.WhichOneof(field.containing_oneof.name) == field.name:
            out[field.name] = _scalar(field, value)
    return out


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True))


def unit_of(key: str) -> str:
    """The unit an integer field named `key` is shown with ('' when it has none)."""
    if key.endswith("_mwh"):
        return "mWh"
    if key.endswith("_wh") or key == "wh":
        return "Wh"
    if key.endswith(("_per_kwh", "price")) or key.startswith("price"):
        return "minor units/kWh"
    if key in MONEY_FIELDS:
        return "minor units"
    if key.endswith("_bp"):
        return "bp"
    if key.endswith("_w"):
        return "W"
    return ""


def _short(text: str) -> str:
    return f"{text[:8]}…{text[-4:]}"


def _is_hex_id(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def format_value(key: str, value: Any, *, wide: bool = False) -> str:
    """One cell: integers with the unit their field name implies, 20-byte addresses and
    32-byte keys shortened to their first 8 and last 4 hex digits unless `wide`."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        unit = unit_of(key)
        return f"{value} {unit}" if unit else str(value)
    if isinstance(value, str):
        return value if wide or not _is_hex_id(value) else _short(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(format_value(key, v, wide=wide) for v in value)
    return json.dumps(value, sort_keys=True)


def page_query(args: argparse.Namespace) -> str:
    """`?limit=N&after=CURSOR` of a paginated list query ('' when neither is given)."""
    return page_suffix(getattr(args, "limit", 0) or 0, getattr(args, "after", "") or "")


def add_paging(p: argparse.ArgumentParser) -> None:
    """--limit and --after options of a paginated list command."""
    p.add_argument("--limit", type=count, default=0, help="page size (default: the node's)")
    p.add_argument("--after", default="", help="the cursor printed as `next` by the previous page")


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file `path` (UsageError when the file is missing,
    unreadable, not PEM or not an Ed25519 key)."""
    raw = read_input_file(path, "key file")
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path} is not an Ed25519 private key")
    return key


def read_input_file(path: str | Path, what: str) -> bytes:
    """The bytes of a file named on the command line (UsageError saying which `what` could not
    be read)."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc


def load_certificate(path: str | Path, what: str = "certificate") -> x509.Certificate:
    """The X.509 certificate in the PEM file `path` (UsageError when missing or not one)."""
    try:
        return x509.load_pem_x509_certificate(read_input_file(path, what))
    except ValueError as exc:
        raise UsageError(f"{path} is not a PEM {what} (-----BEGIN CERTIFICATE-----)") from exc


def load_csr(path: str | Path) -> x509.CertificateSigningRequest:
    """The certificate signing request in the PEM file `path` (UsageError when missing or not one)."""
    try:
        return x509.load_pem_x509_csr(read_input_file(path, "certificate request"))
    except ValueError as exc:
        raise UsageError(f"{path} is not a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)") from exc


def localnet_identity(home: Path, ref: str) -> Identity:
    """The localnet member ORG/NAME's identity under `home` (UsageError naming the members
    that exist when it does not)."""
    org, _, name = ref.partition("/")
    folder = home / "consortium" / org / "members"
    if not org or not name or "/" in name:
        raise UsageError(f"{ref!r} is not ORG/NAME")
    if not folder.is_dir():
        orgs = (
            sorted(p.name for p in (home / "consortium").iterdir() if p.is_dir())
            if (home / "consortium").is_dir()
            else []
        )
        known = f"; orgs: {', '.join(orgs)}" if orgs else f" (no localnet consortium in {home})"
        raise UsageError(f"no org {org!r} in {home / 'consortium'}{known}")
    if not (folder / f"{name}.key.pem").is_file():
        members = sorted(p.name.removesuffix(".key.pem") for p in folder.glob("*.key.pem"))
        raise UsageError(f"no member {ref!r}; {org}'s members: {', '.join(members) or 'none'}")
    try:
        return load_identity(folder, name)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load {ref}'s key and certificate from {folder}: {exc}") from exc


def action_group(add: AddCommand, name: str, help_: str) -> Callable[[str, Handler, str], argparse.ArgumentParser]:
    """A command with actions (`gridctl NAME ACTION ...`): returns `add_action(action, handler, help)`."""
    parser = add(name, _no_action, help_)
    subs = parser.add_subparsers(dest=f"{name}_action", required=True, metavar="ACTION")

    def add_action(action: str, fn: Handler, action_help: str) -> argparse.ArgumentParser:
        p = subs.add_parser(action, help=action_help, description=action_help)
        p.set_defaults(fn=fn)
        return p

    return add_action


def _no_action(ctx: Context, args: argparse.Namespace) -> None:  # pragma: no cover - argparse requires one
    raise UsageError("give an action")


class Context:
    """One gridctl invocation: the node, the signer, and how answers are printed."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.home: Path = args.home
        self.rpc = CometRPC(args.node)
        self.json: bool = bool(getattr(args, "json", False))
        self.wide: bool = bool(getattr(args, "wide", False))
        self.bridge: str | None = getattr(args, "bridge", None)
        self._args = args
        self._chain_id: str | None = args.chain_id
        self._client: GridClient | None = None

    @property
    def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = str(self.rpc.status()["node_info"]["network"])
        return self._chain_id

    def key(self) -> Ed25519PrivateKey:
        if self._args.key:
            return load_private_key(self._args.key)
        if self._args.as_member:
            return localnet_identity(self.home, self._args.as_member).key
        raise UsageError("this command signs a transaction: give --as ORG/NAME or --key FILE")

    def address(self, text: str) -> bytes:
        if "/" in text:
            return localnet_identity(self.home, text).address
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise UsageError(f"{text!r} is neither a hex address nor ORG/NAME") from exc
        if len(raw) != 20:
            raise UsageError(f"an address is 20 bytes (40 hex digits), got {len(raw)}")
        return raw

    def signer_address(self) -> bytes:
        """The address of the signing key (--as / --key)."""
        return self.client().address

    def client(self, signing: bool = True) -> GridClient:
        if signing:
            if self._client is None:
                self._client = GridClient(self.rpc, self.chain_id, self.key())
            return self._client
        return GridClient(self.rpc, self.chain_id, None)

    def reader(self) -> GridClient:
        """The client reads go through: with the caller's key when one is given (--as, --key), so a
        household's private data (statements, readings, ...) is read with a signed read request as
        that member; without one, public data only (the node refuses the rest: QUERY_PRIVATE)."""
        if getattr(self._args, "key", None) or getattr(self._args, "as_member", None):
            return self.client()
        return self.client(signing=False)

    # -- queries and transactions -------------------------------------------------------------

    def query(self, path: str, cls: type[M], *, what: str = "") -> M:
        """The record at `path` decoded as `cls`; NotFoundError when the node has none."""
        try:
            raw = self.reader().query_raw(path)
        except QueryFailedError as exc:
            if exc.code == QUERY_NOT_FOUND:
                raise NotFoundError(f"{what or path} not found") from exc
            raise _private_hint(exc) from exc
        if not raw:
            raise NotFoundError(f"{what or path} not found")
        return cls.FromString(raw)

    def find(self, path: str, cls: type[M]) -> M | None:
        """The record at `path`, or None when the node has none."""
        try:
            return self.query(path, cls)
        except NotFoundError:
            return None

    def query_list(self, path: str, cls: type[M]) -> M:
        """A (possibly empty) list view at `path`."""
        try:
            return cls.FromString(self.reader().query_raw(path))
        except QueryFailedError as exc:
            raise _private_hint(exc) from exc

    def submit(self, *messages: Message, memo: str = "") -> BroadcastResult:
        """Sign the messages with the signer's key, broadcast and wait for the commit
        (TxFailedError when the tx failed)."""
        return self.client().submit(list(messages), memo=memo)

    def tx_events(self, result: BroadcastResult) -> list[dict[str, Any]]:
        """The committed tx's events (from the node's tx index)."""
        found = self.rpc.wait_tx(result.hash, timeout=10)
        return list(found.get("tx_result", {}).get("events") or [])

    # -- output -------------------------------------------------------------------------------

    def console(self) -> Console:
        # Tables are never cut when printed to a pipe or file.
        return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 220, soft_wrap=False)

    def show(self, data: Any, *, title: str = "", columns: Sequence[str] | None = None) -> None:
        """Print a record (dict) as a key/value table or a list of records as one table,
        or either as JSON with --json."""
        if self.json:
            print_json(data)
            return
        if isinstance(data, list):
            self.console().print(self.list_table(data, title=title, columns=columns))
        else:
            self.console().print(self.record_table(data, title=title))

    def record_table(self, record: dict[str, Any], *, title: str = "") -> Table:
        table = Table(title=title or None, show_header=False, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for key, value in record.items():
            table.add_row(key, format_value(key, value, wide=self.wide))
        return table

    def list_table(self, rows: list[dict[str, Any]], *, title: str = "", columns: Sequence[str] | None = None) -> Table:
        keys: list[str] = list(columns or [])
        if not keys:
            for row in rows:
                keys += [k for k in row if k not in keys]
        table = Table(title=f"{title} ({len(rows)})" if title else None, title_justify="left")
        for key in keys or ["(none)"]:
            table.add_column(key, overflow="fold")
        for row in rows:
            table.add_row(*(format_value(k, row[k], wide=self.wide) if k in row else "" for k in keys))
        return table

    def show_page(self, rows: list[dict[str, Any]], next_cursor: str, *, title: str, columns: Sequence[str]) -> None:
        """One page of a paginated list: a table and the cursor of the next page, or with
        --json `{"items": [...], "next": cursor}`."""
        if self.json:
            print_json({"items": rows, "next": next_cursor})
            return
        self.show(rows, title=title, columns=columns)
        if next_cursor:
            print(f"more: --after {next_cursor}")

    def done(self, result: BroadcastResult, **extra: Any) -> None:
        """Print a committed tx: its code, hash and height, and what the command adds."""
        data = {"code": result.code, "hash": result.hash, "height": result.height, **extra}
        events = data.pop("events", None) if not self.json else None
        self.show(data, title="committed")
        if events:
            self.show(events, title="events")


def _private_hint(exc: QueryFailedError) -> Exception:
    """A household's data refused for want of a key says how to read it; other failures as they are."""
    if exc.code == Code.QUERY_PRIVATE:
        return UsageError(f"{exc.path} is a household's private data: read it with --as ORG/NAME or --key FILE")
    return exc
