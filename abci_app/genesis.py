"""The chain's initial state from the genesis file's `app_state` (JSON), validated with clear errors.

{
  "params":   {"voting_period_seconds": 600, ...},              (optional)
  "orgs":     [{"org_id": "utility", "name": "...", "root_ca_pem": "-----BEGIN ..."}],
  "members":  [{"certificate_pem": "-----BEGIN ..."}],          (issued by an org's CA)
  "balances": [{"address": "<40 hex>", "amount": 1000}]        (minted at genesis)
}
"""

from __future__ import annotations

import base64
import calendar
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from abci_app.accounts import keeper as accounts
from abci_app.context import TxContext
from abci_app.crypto import address_of
from abci_app.errors import TxError
from abci_app.governance.keeper import set_validator
from abci_app.governance.messages import AdmitOrg, action_from_proto
from abci_app.identity import keeper as identity
from abci_app.identity.handlers import enroll_member
from abci_app.identity.messages import EnrollMember
from abci_app.identity.msp import parse_ca_cert, parse_member_cert
from abci_app.identity.records import Org
from abci_app.params import PARAM_BOUNDS, Params, save_params
from abci_app.pb import tx_pb2
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, OrgId, ValidatorUpdate

__all__ = ["GenesisError", "apply_genesis"]


class GenesisError(ValueError):
    """The genesis app_state is invalid; the message says where and why."""


def _pem_to_der(pem: Any, where: str) -> bytes:
    if not isinstance(pem, str):
        raise GenesisError(f"{where}: expected a PEM string")
    try:
        return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except ValueError as exc:
        raise GenesisError(f"{where}: not a PEM certificate ({exc})") from exc


def _params(raw: Any) -> Params:
    params = Params()
    if raw is None:
        return params
    if not isinstance(raw, dict):
        raise GenesisError("params: expected an object")
    known = {f.name for f in fields(Params)}
    for name, value in sorted(raw.items()):
        if name not in known:
            raise GenesisError(f"params.{name}: unknown parameter; known: {sorted(PARAM_BOUNDS)}")
        if not isinstance(value, int) or isinstance(value, bool):
            raise GenesisError(f"params.{name}: expected an integer")
        try:
            params = params.with_value(name, value)
        except TxError as exc:
            raise GenesisError(f"params.{name}: {exc.log}") from exc
    return params


def _list(state: dict[str, Any], name: str) -> list[Any]:
    value = state.get(name, [])
    if not isinstance(value, list):
        raise GenesisError(f"{name}: expected a list")
    return value


def apply_genesis(store: Branch, block: BlockInfo, app_state_bytes: bytes, validators: list[ValidatorUpdate]) -> None:
    try:
        state = json.loads(app_state_bytes or b"{}")
    except ValueError as exc:
        raise GenesisError(f"app_state is not JSON: {exc}") from exc
    if not isinstance(state, dict):
        raise GenesisError("app_state must be a JSON object")
    unknown = set(state) - {"params", "orgs", "members", "balances"}
    if unknown:
        raise GenesisError(f"app_state has unknown fields {sorted(unknown)}")
    params = _params(state.get("params"))
    save_params(store, params)
    for v in validators:
        set_validator(store, v.pub_key, v.power)

    orgs = _list(state, "orgs")
    if not orgs:
        raise GenesisError("orgs: a consortium needs at least one founding org")
    for i, o in enumerate(orgs):
        where = f"orgs[{i}]"
        if not isinstance(o, dict):
            raise GenesisError(f"{where}: expected an object")
        ca_der = _pem_to_der(o.get("root_ca_pem"), f"{where}.root_ca_pem")
        try:
            pb = tx_pb2.SubmitProposal(
                admit_org=tx_pb2.AdmitOrg(org_id=str(o.get("org_id", "")), name=str(o.get("name", "")))
            )
            admit = action_from_proto(pb)
            parse_ca_cert(ca_der)
        except TxError as exc:
            raise GenesisError(f"{where}: {exc.log}") from exc
        assert isinstance(admit, AdmitOrg)
        if identity.get_org(store, admit.org_id) is not None:
            raise GenesisError(f"{where}: duplicate org id {admit.org_id!r}")
        identity.put_org(store, Org(OrgId(admit.org_id), admit.name, ca_der, True, block.time))

    for i, m in enumerate(_list(state, "members")):
        where = f"members[{i}]"
        if not isinstance(m, dict):
            raise GenesisError(f"{where}: expected an object")
        der = _pem_to_der(m.get("certificate_pem"), f"{where}.certificate_pem")
        try:
            mc = parse_member_cert(der)
            ctx = TxContext(store, block, params, mc.public_key, address_of(mc.public_key), None)
            enroll_member(ctx, EnrollMember(der))
        except TxError as exc:
            raise GenesisError(f"{where}: {exc.code.name}: {exc.log}") from exc

    for i, b in enumerate(_list(state, "balances")):
        where = f"balances[{i}]"
        if not isinstance(b, dict):
            raise GenesisError(f"{where}: expected an object")
        try:
            address = Address(bytes.fromhex(str(b.get("address", ""))))
        except ValueError as exc:
            raise GenesisError(f"{where}.address: not hex") from exc
        amount = b.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise GenesisError(f"{where}.amount: expected a positive integer")
        if identity.get_member(store, address) is None:
            raise GenesisError(f"{where}: {address.hex()} is not a genesis member")
        try:
            accounts.add(store, address, amount)
            accounts.add_supply(store, "minted", amount)
        except TxError as exc:
            raise GenesisError(f"{where}: {exc.log}") from exc


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
