"""`python -m abci_app.export --home APP_HOME --genesis OLD_GENESIS --out NEW_GENESIS`: the
committed state of a stopped node as the genesis of a chain that carries on from it.

How a consortium restarts its chain from an export (a software upgrade that changes stored
encodings, or a move to new machines): every validator stops its node at the same height,
exports, and the operators compare the files' hashes; equal files mean equal states. Each
then resets its CometBFT data (`cometbft unsafe-reset-all` keeps the validator key), moves the
app's state database away, puts the new genesis in place and starts again. The new chain keeps
the chain id and continues the heights (`initial_height` is the exported height + 1), so
nonces, reading sequence numbers and every id go on where they stopped: nothing signed for the
old chain can be replayed on the new one.

The app_state is `abci_app.genesis.export_genesis`: each domain's section, written so that its
import rebuilds the domain's stored keys exactly (tests/unit/test_genesis_export.py). The
validators are the app's validator set at that height, as governance left it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from abci_app import chain
from abci_app.genesis import export_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.store.backend import CorruptStateError
from abci_app.store.sqlite import SQLiteBackend
from abci_app.store.state import CommittedState

__all__ = ["exported_genesis", "main"]

STATE_DB = "state.sqlite"


def _rfc3339(time_ns: int) -> str:
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def _validator(pub_key: bytes, power: int, names: dict[str, str]) -> dict[str, Any]:
    address = hashlib.sha256(pub_key).digest()[:20].hex().upper()
    return {
        "address": address,
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": base64.b64encode(pub_key).decode()},
        "power": str(power),
        "name": names.get(address, ""),
    }


def exported_genesis(state: CommittedState, old_genesis: dict[str, Any]) -> dict[str, Any]:
    """The CometBFT genesis of a chain that continues `state`: the old genesis's consensus
    parameters, the same chain id, the next height, the last block's time, the app's validator
    set and the exported app_state. Raises ValueError when the state is not of that chain."""
    if state.height == 0:
        raise ValueError("the state database holds no committed block")
    chain_id = chain.chain_id(state)
    if chain_id != old_genesis.get("chain_id"):
        raise ValueError(f"the state is of chain {chain_id!r}, the genesis of {old_genesis.get('chain_id')!r}")
    names = {str(v.get("address", "")).upper(): str(v.get("name", "")) for v in old_genesis.get("validators", [])}
    genesis = dict(old_genesis)
    genesis.update(
        genesis_time=_rfc3339(chain.block_time_ns(state)),
        chain_id=chain_id,
        initial_height=str(state.height + 1),
        app_hash="",
        validators=[_validator(pk, power, names) for pk, power in iter_validators(state) if power > 0],
        app_state=export_genesis(state),
    )
    return genesis


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abci_app.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="the app's folder (holds state.sqlite); stop it first")
    parser.add_argument("--genesis", type=Path, required=True, help="the chain's current genesis.json")
    parser.add_argument("--out", type=Path, help="where to write the new genesis (default: stdout)")
    args = parser.parse_args(argv)
    db = args.home / STATE_DB
    if not db.exists():
        sys.stderr.write(f"no state database at {db}\n")
        return 2
    try:
        state = CommittedState(SQLiteBackend(db))
        state.verify()
        genesis = exported_genesis(state, json.loads(args.genesis.read_text()))
    except (CorruptStateError, ValueError, OSError) as exc:
        sys.stderr.write(f"cannot export: {exc}\n")
        return 2
    except (KeyError, TypeError, AttributeError) as exc:  # a genesis.json of the wrong shape
        sys.stderr.write(f"cannot export: {args.genesis} is not a CometBFT genesis ({type(exc).__name__}: {exc})\n")
        return 2
    text = json.dumps(genesis, indent=2, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text)
        except OSError as exc:
            sys.stderr.write(f"cannot write {args.out}: {exc.strerror or exc}\n")
            return 2
        digest = hashlib.sha256(text.encode()).hexdigest()
        sys.stdout.write(f"exported height {state.height} of {genesis['chain_id']} to {args.out} (sha256 {digest})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
