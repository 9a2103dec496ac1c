"""The chain's initial state from the genesis file's `app_state` (JSON), validated with clear errors.

The chain owns `params` and `nonces` (each signer's last used nonce); every other top-level
section belongs to one domain, which imports it (and exports it for `export_genesis`), in
registration order:

{
  "params":   {"voting_period_seconds": 600, ...},                          (optional)
  "orgs":     [{"org_id": "utility", "name": "...", "root_ca_pem": "...",
                "capabilities": ["issuer"]}],                               (identity)
  "members":  [{"certificate_pem": "-----BEGIN ..."}],                      (identity)
  "balances": [{"address": "<40 hex>", "amount": 1000}],                   (accounts)
  ...                                                                      (other domains)
}
"""

from __future__ import annotations

import base64
import calendar
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from abci_app import keys
from abci_app.domain import GenesisError
from abci_app.errors import TxError
from abci_app.genesis_fields import address_at
from abci_app.governance.keeper import set_validator
from abci_app.params import (
    DOMAIN_PARAMS,
    PARAM_BOUNDS,
    Params,
    domain_param,
    has_domain_param,
    load_params,
    save_params,
    set_domain_param,
)
from abci_app.registry import CHAIN_GENESIS_SECTIONS, DOMAINS
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, ValidatorUpdate

__all__ = ["GenesisError", "apply_genesis", "export_genesis"]


def _params(store: Branch, raw: Any) -> None:
    params = Params()
    if raw is None:
        save_params(store, params)
        return
    if not isinstance(raw, dict):
        raise GenesisError("params: expected an object")
    known = {f.name for f in fields(Params)}
    for name, value in sorted(raw.items()):
        if name not in known and name not in DOMAIN_PARAMS:
            raise GenesisError(f"params.{name}: unknown parameter; known: {sorted([*PARAM_BOUNDS, *DOMAIN_PARAMS])}")
        if not isinstance(value, int) or isinstance(value, bool):
            raise GenesisError(f"params.{name}: expected an integer")
        try:
            if name in known:
                params = params.with_value(name, value)
            else:
                set_domain_param(store, name, value, genesis=True)
        except TxError as exc:
            raise GenesisError(f"params.{name}: {exc.log}") from exc
    save_params(store, params)


def _nonces(store: Branch, raw: Any) -> None:
    """Each signer's last used nonce (an export carries them, so nothing signed for the old
    chain can be replayed on a chain that continues it)."""
    if not isinstance(raw, list):
        raise GenesisError("nonces: expected a list")
    for i, item in enumerate(raw):
        where = f"nonces[{i}]"
        if not isinstance(item, dict) or set(item) != {"address", "nonce"}:
            raise GenesisError(f"{where}: expected {{address, nonce}}")
        address = address_at(item, "address", where)
        nonce = item["nonce"]
        if not isinstance(nonce, int) or isinstance(nonce, bool) or not 1 <= nonce < 1 << 64:
            raise GenesisError(f"{where}.nonce: expected an integer in [1, 2^64)")
        if store.get(keys.nonce(address)) is not None:
            raise GenesisError(f"{where}: {address.hex()} has a nonce already")
        store.set(keys.nonce(address), nonce.to_bytes(8, "big"))


def apply_genesis(store: Branch, block: BlockInfo, app_state_bytes: bytes, validators: list[ValidatorUpdate]) -> None:
    """Parameters, the validator set, then each domain's sections; GenesisError names the
    first field that is wrong."""
    try:
        state = json.loads(app_state_bytes or b"{}")
    except ValueError as exc:
        raise GenesisError(f"app_state is not JSON: {exc}") from exc
    if not isinstance(state, dict):
        raise GenesisError("app_state must be a JSON object")
    owned = {*CHAIN_GENESIS_SECTIONS, *(s for d in DOMAINS for s in d.genesis_sections)}
    unknown = set(state) - owned
    if unknown:
        raise GenesisError(f"app_state has unknown fields {sorted(unknown)}; known: {sorted(owned)}")
    _params(store, state.get("params"))
    _nonces(store, state.get("nonces", []))
    for v in validators:
        set_validator(store, v.pub_key, v.power)
    for d in DOMAINS:
        if d.genesis_import is not None:
            d.genesis_import(store, block, {s: state[s] for s in d.genesis_sections if s in state})


def export_genesis(store: KVReader) -> dict[str, Any]:
    """The whole state as an app_state that `apply_genesis` accepts (a chain restart from
    an export, or an audit snapshot)."""
    params: dict[str, Any] = asdict(load_params(store))
    # a domain parameter is exported once governance (or genesis) has set it; unset ones keep
    # following their declared defaults after the import too
    params.update({name: domain_param(store, name) for name in sorted(DOMAIN_PARAMS) if has_domain_param(store, name)})
    nonces = [
        {"address": k[len(keys.NONCE) :].hex(), "nonce": int.from_bytes(v, "big")}
        for k, v in store.iter_range(keys.NONCE, prefix_end(keys.NONCE))
    ]
    out: dict[str, Any] = {"params": params, "nonces": nonces}
    for d in DOMAINS:
        if d.genesis_export is not None:
            out.update(d.genesis_export(store))
    return out


class _Empty:
    def get(self, key: bytes) -> bytes | None:
        return None

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


def _genesis_seconds(text: str) -> int:
    """'2026-01-01T00:00:00.123456789Z' → whole Unix seconds (no floats)."""
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})", text)
    if match is None:
        raise GenesisError(f"genesis_time {text!r} is not RFC 3339")
    return calendar.timegm((*(int(g) for g in match.groups()), 0, 0, 0))


def validate_genesis_file(path: Path) -> str:
    """Apply a CometBFT genesis file's app_state to an empty state; a summary, or GenesisError."""
    doc = json.loads(path.read_text())
    validators = [
        ValidatorUpdate(base64.b64decode(v["pub_key"]["value"]), int(v["power"])) for v in doc.get("validators", [])
    ]
    time_ns = _genesis_seconds(str(doc.get("genesis_time", ""))) * 1_000_000_000
    block = BlockInfo(str(doc.get("chain_id", "")), int(doc.get("initial_height", 1) or 1), time_ns)
    store = Branch(_Empty())
    apply_genesis(store, block, json.dumps(doc.get("app_state") or {}).encode(), validators)
    orgs = len(doc["app_state"].get("orgs", []))
    members = len(doc["app_state"].get("members", []))
    return f"{path}: genesis OK ({orgs} orgs, {members} members, {len(validators)} validators)"


def main(argv: list[str] | None = None) -> int:
    """`python -m abci_app.genesis GENESIS.json`: validate a genesis file before starting a chain."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m abci_app.genesis GENESIS.json", file=sys.stderr)  # noqa: T201
        return 2
    try:
        print(validate_genesis_file(Path(args[0])))  # noqa: T201
    except (GenesisError, KeyError, ValueError) as exc:
        print(f"invalid genesis: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
