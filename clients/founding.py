"""A consortium's founding genesis, assembled from what each founding org hands over.

Each founding org makes its root CA offline (`gridctl ca init`), has its members' certificates
signed by it (`gridctl csr create` / `csr sign`) and makes its node's keys (`gridctl node keys`,
which prints the `genesis_validator` entry). The coordinator collects the public parts (CA
certificates, member certificates, validator entries) and lists them in a founding file (TOML):

    chain_id = "gridledger-nl-north"
    genesis_time = 2027-01-04T09:00:00Z        # optional: default now (whole seconds, UTC)

    [[org]]
    id = "utility"                              # the org id: its CA certificate's O
    name = "City Utility"
    ca_cert = "utility/ca.cert.pem"             # paths are relative to the founding file
    capabilities = ["auditor", "issuer", "prosumer"]

    [[member]]
    cert = "utility/treasury.cert.pem"
    balance = 1000000                           # optional: minor units at genesis

    [[device_ca]]                               # optional: device CAs admitted at genesis
    id = "acme-meters"
    name = "ACME meters CA"
    ca_cert = "acme/ca.cert.pem"
    org = ""                                    # the org operating it ("": a manufacturer's)

    [[validator]]
    entry = "utility/validator.json"            # `gridctl node keys --json`'s output, or its entry

    [params]                                    # optional: governed parameters at genesis
    "governance.snapshot_interval_blocks" = 100

`assemble` turns it into CometBFT's genesis.json (consensus parameters omitted: every node
fills in CometBFT's defaults) with the ledger's `app_state`. It checks what a coordinator gets
wrong by hand: unknown keys, unreadable or mismatched certificates (a member signed by a CA
other than its org's), duplicates, bad validator entries and powers. Whether the ledger accepts
the result is for the ledger's own genesis import to say (`python -m abci_app.genesis`; gridctl
runs it). The validators' power split is only warned about: a validator holding at least a third
of the total (CometBFT's integer arithmetic) does not block-sync after falling behind.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from clients.keys_cli import CsrError, member_address

__all__ = ["FoundingError", "FoundingGenesis", "assemble", "genesis_bytes"]

_TOP = {"chain_id", "genesis_time", "org", "member", "device_ca", "validator", "params", "balance"}
_ORG = {"id", "name", "ca_cert", "capabilities"}
_MEMBER = {"cert", "balance"}
_DEVICE_CA = {"id", "name", "ca_cert", "org"}
_VALIDATOR = {"entry", "power", "name"}
_BALANCE = {"address", "amount"}
_PUBKEY_TYPE = "tendermint/PubKeyEd25519"
_MAX_POWER = (2**63 - 1) // 8  # CometBFT's MaxTotalVotingPower (the total is checked too)


class FoundingError(ValueError):
    """The founding file cannot make a genesis: the message names the entry and what is wrong."""


@dataclass(frozen=True)
class FoundingGenesis:
    """The assembled genesis document and what a coordinator should know about it."""

    doc: dict[str, Any]
    warnings: tuple[str, ...] = field(default=())

    @property
    def total_power(self) -> int:
        return sum(int(v["power"]) for v in self.doc["validators"])


def genesis_bytes(doc: dict[str, Any]) -> bytes:
    """The file's bytes (every org's node must start from exactly these: compare their SHA-256)."""
    return (json.dumps(doc, indent=2) + "\n").encode()


def _table(raw: object, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise FoundingError(f"{where}: expected a table")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise FoundingError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(raw))
    if missing:
        raise FoundingError(f"{where}: missing {', '.join(missing)}")
    return raw


def _text(raw: dict[str, Any], key: str, where: str, *, empty: bool = False) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str) or (not value and not empty):
        raise FoundingError(f"{where}.{key}: expected a non-empty string")
    return value


def _amount(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FoundingError(f"{where}: expected a whole number ≥ 0 (minor units)")
    return value


def _cert(base: Path, name: str, where: str) -> x509.Certificate:
    path = base / name
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise FoundingError(f"{where}: cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise FoundingError(f"{where}: {path} is not a PEM certificate") from exc


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _subject(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def _genesis_time(raw: object, now: dt.datetime) -> str:
    if raw is None:
        when = now
    elif isinstance(raw, dt.datetime):
        if raw.tzinfo is None:
            raise FoundingError("genesis_time: give a time zone (e.g. 2027-01-04T09:00:00Z)")
        when = raw
    elif isinstance(raw, str):
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError as exc:
            raise FoundingError(f"genesis_time: {raw!r} is not RFC 3339") from exc
        if when.tzinfo is None:
            raise FoundingError("genesis_time: give a time zone (e.g. 2027-01-04T09:00:00Z)")
    else:
        raise FoundingError("genesis_time: expected an RFC 3339 time")
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _orgs(spec: dict[str, Any], base: Path) -> tuple[list[dict[str, Any]], dict[str, x509.Certificate]]:
    orgs: list[dict[str, Any]] = []
    cas: dict[str, x509.Certificate] = {}
    for n, raw in enumerate(spec.get("org", [])):
        where = f"org[{n}]"
        entry = _table(raw, where, _ORG, {"id", "ca_cert"})
        org_id = _text(entry, "id", where)
        if org_id in cas:
            raise FoundingError(f"{where}: org {org_id!r} is listed twice")
        ca = _cert(base, _text(entry, "ca_cert", where), where)
        if _subject(ca, NameOID.ORGANIZATION_NAME) != [org_id]:
            raise FoundingError(
                f"{where}: the CA certificate is for O={_subject(ca, NameOID.ORGANIZATION_NAME)}, not {org_id!r}"
            )
        capabilities = entry.get("capabilities", [])
        if not isinstance(capabilities, list) or not all(isinstance(c, str) and c for c in capabilities):
            raise FoundingError(f"{where}.capabilities: expected a list of role names")
        if len(set(capabilities)) != len(capabilities):
            raise FoundingError(f"{where}.capabilities: a role is listed twice")
        cas[org_id] = ca
        orgs.append(
            {
                "org_id": org_id,
                "name": _text(entry, "name", where) if "name" in entry else org_id,
                "root_ca_pem": _pem(ca),
                "capabilities": sorted(capabilities),
            }
        )
    if not orgs:
        raise FoundingError("no [[org]]: a consortium needs its founding orgs")
    return sorted(orgs, key=lambda o: str(o["org_id"])), cas


def _members(
    spec: dict[str, Any], base: Path, cas: dict[str, x509.Certificate]
) -> tuple[list[dict[str, str]], dict[str, int]]:
    members: list[tuple[str, dict[str, str]]] = []
    balances: dict[str, int] = {}
    for n, raw in enumerate(spec.get("member", [])):
        where = f"member[{n}]"
        entry = _table(raw, where, _MEMBER, {"cert"})
        cert = _cert(base, _text(entry, "cert", where), where)
        orgs = _subject(cert, NameOID.ORGANIZATION_NAME)
        if len(orgs) != 1 or orgs[0] not in cas:
            raise FoundingError(f"{where}: the certificate's org {orgs} is not a founding org")
        try:
            cert.verify_directly_issued_by(cas[orgs[0]])
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise FoundingError(f"{where}: the certificate is not signed by the root CA of {orgs[0]!r}") from exc
        try:
            address = member_address(cert).hex()
        except CsrError as exc:
            raise FoundingError(f"{where}: {exc}") from exc
        if any(a == address for a, _m in members):
            raise FoundingError(f"{where}: the member {address} is listed twice")
        members.append((address, {"certificate_pem": _pem(cert)}))
        if _amount(entry.get("balance", 0), f"{where}.balance"):  # (0: no balance entry)
            balances[address] = entry["balance"]
    for n, raw in enumerate(spec.get("balance", [])):
        where = f"balance[{n}]"
        entry = _table(raw, where, _BALANCE, _BALANCE)
        address = _text(entry, "address", where).lower()
        if len(address) != 40 or any(c not in "0123456789abcdef" for c in address):
            raise FoundingError(f"{where}.address: expected 40 hex digits")
        if address in balances:
            raise FoundingError(f"{where}: {address} already has a balance")
        if _amount(entry["amount"], f"{where}.amount"):
            balances[address] = entry["amount"]
    return [m for _a, m in sorted(members, key=lambda am: am[0])], balances


def _device_cas(spec: dict[str, Any], base: Path, cas: dict[str, x509.Certificate]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for n, raw in enumerate(spec.get("device_ca", [])):
        where = f"device_ca[{n}]"
        entry = _table(raw, where, _DEVICE_CA, {"id", "ca_cert"})
        ca_id = _text(entry, "id", where)
        if any(d["ca_id"] == ca_id for d in out):
            raise FoundingError(f"{where}: device CA {ca_id!r} is listed twice")
        org = _text(entry, "org", where, empty=True)
        if org and org not in cas:
            raise FoundingError(f"{where}.org: {org!r} is not a founding org")
        ca = _cert(base, _text(entry, "ca_cert", where), where)
        name = _text(entry, "name", where) if "name" in entry else f"{ca_id} device CA"
        out.append({"ca_id": ca_id, "name": name, "org_id": org, "ca_pem": _pem(ca)})
    return sorted(out, key=lambda d: d["ca_id"])


def _validator_entry(base: Path, entry: dict[str, Any], where: str) -> dict[str, Any]:
    path = base / _text(entry, "entry", where)
    try:
        loaded = json.loads(path.read_text())
    except OSError as exc:
        raise FoundingError(f"{where}: cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise FoundingError(f"{where}: {path} is not JSON") from exc
    got = loaded.get("genesis_validator", loaded) if isinstance(loaded, dict) else None
    if not isinstance(got, dict):
        raise FoundingError(f"{where}: {path} holds no genesis_validator entry")
    pub = got.get("pub_key")
    if not isinstance(pub, dict) or pub.get("type") != _PUBKEY_TYPE:
        raise FoundingError(f"{where}: the entry's pub_key must be a {_PUBKEY_TYPE}")
    try:
        key = base64.b64decode(str(pub.get("value", "")), validate=True)
    except ValueError as exc:
        raise FoundingError(f"{where}: the entry's pub_key value is not base64") from exc
    if len(key) != 32:
        raise FoundingError(f"{where}: the entry's pub_key is not 32 bytes")
    address = hashlib.sha256(key).digest()[:20].hex().upper()
    if str(got.get("address", address)).upper() != address:
        raise FoundingError(f"{where}: the entry's address does not belong to its pub_key")
    raw_power: object = entry.get("power", got.get("power", 10))
    if isinstance(raw_power, str) and raw_power.isdigit():
        raw_power = int(raw_power)
    if isinstance(raw_power, bool) or not isinstance(raw_power, int) or not 1 <= raw_power <= _MAX_POWER:
        raise FoundingError(f"{where}: power {raw_power!r} is not a whole number from 1 to {_MAX_POWER}")
    power = raw_power
    name = entry.get("name", got.get("name", ""))
    if not isinstance(name, str):
        raise FoundingError(f"{where}.name: expected a string")
    return {
        "address": address,
        "pub_key": {"type": _PUBKEY_TYPE, "value": base64.b64encode(key).decode()},
        "power": str(power),
        "name": name,
    }


def _validators(spec: dict[str, Any], base: Path) -> tuple[list[dict[str, Any]], list[str]]:
    out: list[dict[str, Any]] = []
    for n, raw in enumerate(spec.get("validator", [])):
        where = f"validator[{n}]"
        v = _validator_entry(base, _table(raw, where, _VALIDATOR, {"entry"}), where)
        if any(o["address"] == v["address"] for o in out):
            raise FoundingError(f"{where}: validator {v['address']} is listed twice")
        out.append(v)
    out.sort(key=lambda v: str(v["address"]))  # listing order does not change the file
    if not out:
        raise FoundingError("no [[validator]]: the founding orgs' nodes make the first blocks")
    total = sum(int(v["power"]) for v in out)
    if total > _MAX_POWER:
        raise FoundingError(f"the validators' total power {total} is above CometBFT's {_MAX_POWER}")
    warnings = [
        f"validator {v['name'] or v['address']} holds {v['power']} of {total}, at least a third in CometBFT's "
        f"integer arithmetic ({total} ÷ 3 = {total // 3}): after falling behind it catches up through consensus "
        "gossip, not block sync (README, 'A new node catches up')"
        for v in out
        if int(v["power"]) >= total // 3
    ]
    if len(out) < 4:
        warnings.append(
            f"{len(out)} validators tolerate no faulty one: CometBFT needs 3f + 1 validators to survive f (4 for one)"
        )
    return out, warnings


def _params(spec: dict[str, Any]) -> dict[str, int]:
    raw = spec.get("params", {})
    if not isinstance(raw, dict):
        raise FoundingError("params: expected a table of name = whole number")
    out: dict[str, int] = {}
    for name, value in sorted(raw.items()):
        if isinstance(value, bool) or not isinstance(value, int):
            raise FoundingError(f"params.{name}: expected a whole number")
        out[name] = value
    return out


def assemble(founding_file: Path, *, now: dt.datetime | None = None) -> FoundingGenesis:
    """The genesis document the founding file describes (module doc), or FoundingError.

    Guarantees: every member certificate is signed by its own org's listed CA; no org, member,
    device CA or validator is listed twice; every validator entry's address is its key's; the
    lists are in a fixed order (orgs by id, members by address, device CAs by id, validators by
    address), so the same founding material gives the same bytes whoever assembles it (with the
    same genesis_time)."""
    try:
        spec = tomllib.loads(founding_file.read_text())
    except OSError as exc:
        raise FoundingError(f"cannot read {founding_file}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise FoundingError(f"{founding_file} is not TOML: {exc}") from exc
    _table(spec, "the founding file", _TOP, {"chain_id"})
    chain_id = _text(spec, "chain_id", "the founding file")
    if len(chain_id) > 50:
        raise FoundingError("chain_id: at most 50 characters (CometBFT's limit)")
    base = founding_file.resolve().parent
    orgs, cas = _orgs(spec, base)
    members, balances = _members(spec, base, cas)
    validators, warnings = _validators(spec, base)
    app_state: dict[str, Any] = {
        "orgs": orgs,
        "members": members,
        "balances": [{"address": a, "amount": balances[a]} for a in sorted(balances)],
    }
    device_cas = _device_cas(spec, base, cas)
    if device_cas:
        app_state["device_cas"] = device_cas
    params = _params(spec)
    if params:
        app_state["params"] = params
    doc = {
        "genesis_time": _genesis_time(spec.get("genesis_time"), now or dt.datetime.now(dt.UTC)),
        "chain_id": chain_id,
        "initial_height": "1",
        "validators": validators,
        "app_hash": "",
        "app_state": app_state,
    }
    return FoundingGenesis(doc, tuple(warnings))
