"""Replay a chain's blocks through a fresh in-process app and report every height's app hash.

    python -m tests.chaos.replay --genesis genesis.json --blocks blocks.jsonl --out result.json

`blocks.jsonl` holds one block a line: {"height", "time" (RFC 3339), "txs" (base64)}.
The result maps each height to the app hash after it ("init" is InitChain's), plus the
money invariant after every block. The chaos run starts this in subprocesses with
different PYTHONHASHSEED, LC_ALL and TZ and compares every hash with the chain's headers.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from abci_app.accounts.invariants import money_conserved
from abci_app.app import GridLedgerApp
from abci_app.crypto import address_of
from abci_app.logging_setup import configure_logging
from abci_app.pb import abci, crypto_keys
from abci_app.store.backend import MemoryBackend
from tests.chaos.chain import parse_rfc3339_ns

__all__ = ["init_chain_request", "replay"]


def _timestamp(text: str) -> Timestamp:
    ns = parse_rfc3339_ns(text)
    return Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def init_chain_request(genesis: dict[str, Any]) -> abci.RequestInitChain:
    """The InitChain CometBFT sends for this genesis file (validators in validator-set order:
    power descending, then address)."""
    validators = []
    for v in genesis["validators"]:
        key = base64.b64decode(v["pub_key"]["value"])
        validators.append((-int(v["power"]), address_of(key), key, int(v["power"])))
    validators.sort()
    req = abci.RequestInitChain(
        chain_id=genesis["chain_id"],
        initial_height=int(genesis.get("initial_height", "1")),
        app_state_bytes=json.dumps(genesis.get("app_state", {})).encode(),
        validators=[
            abci.ValidatorUpdate(pub_key=crypto_keys.PublicKey(ed25519=key), power=power)
            for _p, _a, key, power in validators
        ],
    )
    req.time.CopyFrom(_timestamp(genesis["genesis_time"]))
    return req


def replay(genesis: dict[str, Any], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    app = GridLedgerApp(MemoryBackend())
    hashes: dict[str, str] = {"init": app.init_chain(init_chain_request(genesis)).app_hash.hex().upper()}
    violations: list[str] = []
    for b in blocks:
        req = abci.RequestFinalizeBlock(height=int(b["height"]), txs=[base64.b64decode(t) for t in b["txs"]])
        req.time.CopyFrom(_timestamp(b["time"]))
        resp = app.finalize_block(req)
        app.commit(abci.RequestCommit())
        hashes[str(b["height"])] = resp.app_hash.hex().upper()
        problem = money_conserved(app.state)
        if problem:
            violations.append(f"height {b['height']}: {problem}")
    return {"app_hashes": hashes, "invariant_violations": violations}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.replay", description=__doc__)
    parser.add_argument("--genesis", type=Path, required=True)
    parser.add_argument("--blocks", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    configure_logging("console", "warning")
    genesis = json.loads(args.genesis.read_text())
    blocks = [json.loads(line) for line in args.blocks.read_text().splitlines() if line.strip()]
    result = replay(genesis, blocks)
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
