"""Replay a recorded chain (genesis + blocks of raw txs) through a fresh app and print its app hashes.

`python -m tests.support.replay RECORDING.json` runs InitChain, then FinalizeBlock + Commit for
every recorded block on a MemoryBackend, and prints one JSON line: for every height (0 is
genesis) the app hash and the tx result codes. The determinism tests run it in subprocesses
with different PYTHONHASHSEED, TZ and LC_ALL and compare the lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from abci_app.app import GridLedgerApp
from abci_app.logging_setup import configure_logging
from abci_app.pb import abci, crypto_keys
from abci_app.store.backend import MemoryBackend

__all__ = ["Recording", "main", "replay"]


@dataclass(frozen=True)
class Recording:
    chain_id: str
    genesis_time: int
    app_state: dict[str, Any]
    validators: tuple[tuple[bytes, int], ...]
    blocks: tuple[tuple[int, tuple[bytes, ...]], ...]  # (block time in seconds, raw txs)

    def save(self, path: Path) -> None:
        doc = {
            "chain_id": self.chain_id,
            "genesis_time": self.genesis_time,
            "app_state": self.app_state,
            "validators": [[key.hex(), power] for key, power in self.validators],
            "blocks": [{"time": t, "txs": [tx.hex() for tx in txs]} for t, txs in self.blocks],
        }
        path.write_text(json.dumps(doc, sort_keys=True))

    @staticmethod
    def load(path: Path) -> Recording:
        doc = json.loads(path.read_text())
        return Recording(
            chain_id=doc["chain_id"],
            genesis_time=int(doc["genesis_time"]),
            app_state=doc["app_state"],
            validators=tuple((bytes.fromhex(k), int(p)) for k, p in doc["validators"]),
            blocks=tuple((int(b["time"]), tuple(bytes.fromhex(t) for t in b["txs"])) for b in doc["blocks"]),
        )


def replay(rec: Recording) -> list[dict[str, Any]]:
    """App hash and tx codes per height (0: InitChain) from a fresh in-memory app."""
    app = GridLedgerApp(MemoryBackend())
    init = abci.RequestInitChain(
        chain_id=rec.chain_id,
        app_state_bytes=json.dumps(rec.app_state).encode(),
        initial_height=1,
        validators=[abci.ValidatorUpdate(pub_key=crypto_keys.PublicKey(ed25519=k), power=p) for k, p in rec.validators],
    )
    init.time.CopyFrom(Timestamp(seconds=rec.genesis_time))
    out: list[dict[str, Any]] = [{"height": 0, "app_hash": app.init_chain(init).app_hash.hex(), "codes": []}]
    for height, (seconds, txs) in enumerate(rec.blocks, start=1):
        req = abci.RequestFinalizeBlock(txs=list(txs), height=height)
        req.time.CopyFrom(Timestamp(seconds=seconds))
        resp = app.finalize_block(req)
        app.commit(abci.RequestCommit())
        assert app.state.app_hash == resp.app_hash
        out.append({"height": height, "app_hash": resp.app_hash.hex(), "codes": [r.code for r in resp.tx_results]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.replay", description=__doc__)
    parser.add_argument("recording", type=Path)
    args = parser.parse_args(argv)
    configure_logging("console", "warning")  # logs on stderr; stdout carries only the result
    print(json.dumps(replay(Recording.load(args.recording)), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
