"""What every gridctl command module shares: the invocation context and output helpers."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message

from clients.client import GridClient
from clients.pki import load_identity
from clients.rpc import CometRPC

__all__ = ["AddCommand", "Context", "print_json", "to_json", "tx_done"]

# add(name, handler, help) → the subcommand's parser, for its arguments
AddCommand = Callable[[str, Callable[["Context", argparse.Namespace], None], str], argparse.ArgumentParser]


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


def print_json(obj: Any) -> None:
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


def tx_done(result: Any) -> None:
    print_json({"code": result.code, "hash": result.hash, "height": result.height})
