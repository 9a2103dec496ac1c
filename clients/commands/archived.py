"""The proof of a record pruning archived, shared by `gridctl cert archived` and `gridctl market
archived`: from the block that archived it (given, or found from when it was due), its archive and
commitment, against a verified app hash."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.message import Message

from clients.archive import ArchiveSource, fetch_archived, find_archiving_block
from clients.cli_support import Context, to_json
from clients.cli_types import UsageError, positive_count, unix_seconds
from clients.trust_anchor import trust_anchor

__all__ = ["add_archived_arguments", "one_key", "show_archived", "state_key"]


def state_key(text: str) -> bytes:
    """An archived state key: 1 to 1,024 bytes in hex."""
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not hex; a state key: 1 to 1,024 bytes in hex") from None
    if not 1 <= len(key) <= 1024:
        raise argparse.ArgumentTypeError(f"a state key is 1 to 1,024 bytes, got {len(key)}")
    return key


def add_archived_arguments(p: argparse.ArgumentParser, *, event: str, due: str) -> None:
    """HEIGHT (the block whose `event` archived it), --since (`due`: when records become due) and --key."""
    p.add_argument(
        "height", type=positive_count, nargs="?", default=0,
        help=f"the block that archived it (its {event} event); or give --since",
    )  # fmt: skip
    p.add_argument("--since", type=unix_seconds, help=f"find the block from this time on (when it was due: {due})")
    p.add_argument("--key", type=state_key, default=b"", help="or any archived state key, in hex")


def one_key(given: list[tuple[bytes, object]], usage: str) -> bytes:
    """The one key whose option was given (`(key, the option's value)` pairs); UsageError otherwise."""
    keys = [key for key, wanted in given if wanted]
    if len(keys) != 1:
        raise UsageError(f"give one of {usage}")
    return keys[0]


def show_archived(
    ctx: Context,
    args: argparse.Namespace,
    key: bytes,
    source: ArchiveSource,
    decoders: Mapping[bytes, Callable[[bytes], Message]],
) -> None:
    """Prove the record under `key` from the source's archive and show it (decoded by the decoder of
    its key's first byte, else its value in hex) with the trust anchor it was verified against."""
    if not args.height and args.since is None:
        raise UsageError("give the HEIGHT that archived it, or --since the time it became due")
    anchor = trust_anchor(ctx.rpc, args)  # --genesis / --trusted-height+hash, else the node's (warned)
    height = args.height or find_archiving_block(ctx.rpc, key, args.since, source=source)
    proof = fetch_archived(ctx.rpc, height, key, anchor.light, source)
    data: dict[str, Any] = {
        "height": proof.height, "key": proof.key.hex(), "position": proof.position, "count": proof.count,
        "proof": "verified",
    }  # fmt: skip
    decode = decoders.get(key[:1])
    if decode is not None:
        data.update(to_json(decode(proof.value)))
    else:
        data["value"] = proof.value.hex()
    ctx.show({**data, **anchor.fields()}, title="archived record")
