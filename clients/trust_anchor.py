"""Where gridctl's proven reads (`--prove`) start their trust: the light client's anchor.

A proof is only as good as the header whose app hash it is checked against, and the light
client verifies headers from an anchor the user must hold independently of the node:

    --genesis FILE                          a genesis.json the user holds: trust its validators
    --trusted-height H --trusted-hash HEX   a header hash obtained out of band (e.g. from another
                                            operator's node or a published checkpoint)

Without either, the anchor is the genesis the queried node itself serves: a node that lies
about state but serves the honest genesis is caught, one that also serves a forged genesis is
not. gridctl then says so on stderr and in the answer (`trust_anchor = "node_genesis"`).
A genesis anchor on a chain older than the trusting period (7 days) makes the light client
walk every header up to the last week (see clients/lightclient.py); a recent trusted hash
avoids that walk.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clients.cli_types import UsageError, positive_count
from clients.lightclient import LightClient, genesis_validator_set_hash
from clients.rpc import CometRPC

__all__ = ["NODE_GENESIS_WARNING", "TrustAnchor", "add_trust_options", "trust_anchor"]

NODE_GENESIS_WARNING = (
    "the proof is checked against headers verified from the genesis served by the node itself, "
    "not from a trust anchor you hold; give --genesis FILE or --trusted-height H --trusted-hash HEX"
)


@dataclass(frozen=True)
class TrustAnchor:
    """A light client and a description of what it trusts (for the command's answer)."""

    light: LightClient
    kind: str  # "genesis_file" | "trusted_hash" | "node_genesis"
    detail: str

    def fields(self) -> dict[str, Any]:
        """What a proven answer reports about its anchor (`trust_warning` only when it trusts the node)."""
        out: dict[str, Any] = {"trust_anchor": self.kind, "trusted": self.detail}
        if self.kind == "node_genesis":
            out["trust_warning"] = NODE_GENESIS_WARNING
        return out


def add_trust_options(parser: argparse.ArgumentParser) -> None:
    """gridctl's global trust-anchor options (used by every `--prove` read)."""
    group = parser.add_argument_group("trust anchor of --prove reads")
    group.add_argument("--genesis", type=Path, metavar="FILE", help="a genesis.json you hold: trust its validator set")
    group.add_argument("--trusted-height", type=positive_count, metavar="H", help="height of a header hash you trust")
    group.add_argument("--trusted-hash", metavar="HEX", help="that header's hash (64 hex digits, out of band)")


def trust_anchor(rpc: CometRPC, args: argparse.Namespace) -> TrustAnchor:
    """The light client for the anchor `args` names (--genesis or --trusted-height/--trusted-hash),
    or, without one, from the node's own genesis with a warning on stderr. The chain id is
    --chain-id, else the genesis file's, else the node's (a header of another chain then fails
    verification). Exits with a message for inconsistent options or an unreadable genesis file."""
    chain_id: str | None = getattr(args, "chain_id", None)
    genesis_file: Path | None = getattr(args, "genesis", None)
    height: int | None = getattr(args, "trusted_height", None)
    hash_hex: str | None = getattr(args, "trusted_hash", None)
    if (height is None) != (hash_hex is None):
        raise UsageError("--trusted-height and --trusted-hash go together")
    if genesis_file is not None and height is not None:
        raise UsageError("give either --genesis or --trusted-height/--trusted-hash, not both")
    if height is not None and hash_hex is not None:
        try:
            block_hash = bytes.fromhex(hash_hex)
        except ValueError:
            block_hash = b""
        if len(block_hash) != 32 or height <= 0:
            raise UsageError("--trusted-hash is 64 hex digits and --trusted-height positive")
        chain = chain_id or str(rpc.status()["node_info"]["network"])
        light = LightClient.from_trusted_hash(rpc, chain, height, block_hash)
        return TrustAnchor(light, "trusted_hash", f"header {height} {block_hash.hex()}")
    if genesis_file is not None:
        try:
            genesis = json.loads(genesis_file.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the genesis file {genesis_file}: {exc}") from exc
        if chain_id is not None and str(genesis.get("chain_id")) != chain_id:
            raise UsageError(f"{genesis_file} is the genesis of chain {genesis.get('chain_id')!r}, not {chain_id!r}")
        light = LightClient.from_genesis(rpc, genesis)
        return TrustAnchor(
            light, "genesis_file", f"{genesis_file} validators {genesis_validator_set_hash(genesis).hex()}"
        )
    sys.stderr.write(f"warning: {NODE_GENESIS_WARNING}\n")
    served = rpc.call("genesis")["genesis"]
    return TrustAnchor(LightClient.from_genesis(rpc, served), "node_genesis", "the genesis served by the node")
