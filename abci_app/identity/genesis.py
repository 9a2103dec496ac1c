"""Identity's genesis sections: `orgs` and `members` (import and export).

"orgs":    [{"org_id": "utility", "name": "...", "root_ca_pem": "-----BEGIN ...",
             "capabilities": ["issuer", ...], "active": true, "admitted_at": 1767225600}]
           (active defaults to true, admitted_at to the genesis block time)
"members": [{"certificate_pem": "-----BEGIN ..."}          (enrolled as by EnrollMember)
            or an exported record: {"public_key": hex, "org_id", "roles", "cert_serial": hex,
             "not_before", "not_after", "revoked", "common_name", "enrolled_at"}]
"revoked_certs": [{"org_id": ..., "serial": hex}]
"device_cas": [{"ca_id": "acme-meters", "name": "...", "org_id": "" (a manufacturer's) or an org id,
                "ca_pem": "-----BEGIN ...", "admitted_at": 1767225600, "revoked_at": 0}]
           device CAs as governance admits them (AdmitDeviceCa); admitted_at defaults to the
           genesis block time, revoked_at (0: not revoked) to 0

An export carries every stored field, so importing it rebuilds the identity key range byte
for byte (the member-by-org index follows from the members). A member record's roles must
be role names; a role beyond its org's capabilities is accepted (governance may have
withdrawn the capability after the grant) and, as on the exporting chain, confers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from abci_app.context import TxContext
from abci_app.crypto import address_of
from abci_app.domain import GenesisError
from abci_app.errors import TxError
from abci_app.identity import keeper
from abci_app.identity.handlers import enroll_member
from abci_app.identity.messages import EnrollMember
from abci_app.identity.msp import is_org_id, parse_ca_cert, parse_member_cert
from abci_app.identity.records import DeviceCa, Member, Org
from abci_app.identity.roles import DEFAULT_CAPABILITIES, Role, parse_capabilities
from abci_app.params import load_params
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, OrgId

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("orgs", "members", "revoked_certs", "device_cas")


def _list(sections: Mapping[str, Any], name: str) -> list[Any]:
    value = sections.get(name, [])
    if not isinstance(value, list):
        raise GenesisError(f"{name}: expected a list")
    return value


def _pem_to_der(pem: Any, where: str) -> bytes:
    if not isinstance(pem, str):
        raise GenesisError(f"{where}: expected a PEM string")
    try:
        return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except ValueError as exc:
        raise GenesisError(f"{where}: not a PEM certificate ({exc})") from exc


def _der_to_pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def _org(store: Branch, block: BlockInfo, o: Any, where: str) -> Org:
    if not isinstance(o, dict):
        raise GenesisError(f"{where}: expected an object")
    org_id = str(o.get("org_id", ""))
    if not is_org_id(org_id):
        raise GenesisError(f"{where}.org_id: {org_id!r} must match [a-z0-9-]{{2,32}}")
    name = str(o.get("name", ""))
    if len(name.encode()) > 128:
        raise GenesisError(f"{where}.name: longer than 128 bytes")
    ca_der = _pem_to_der(o.get("root_ca_pem"), f"{where}.root_ca_pem")
    try:
        parse_ca_cert(ca_der)
    except TxError as exc:
        raise GenesisError(f"{where}: {exc.log}") from exc
    raw_caps = o.get("capabilities", list(DEFAULT_CAPABILITIES))
    if not isinstance(raw_caps, list) or not all(isinstance(c, str) for c in raw_caps):
        raise GenesisError(f"{where}.capabilities: expected a list of role names")
    caps = parse_capabilities(raw_caps)
    if isinstance(caps, str):
        raise GenesisError(f"{where}.capabilities: {caps}")
    if keeper.get_org(store, org_id) is not None:
        raise GenesisError(f"{where}: duplicate org id {org_id!r}")
    active = o.get("active", True)
    if not isinstance(active, bool):
        raise GenesisError(f"{where}.active: expected true or false")
    admitted_at = _int(o, "admitted_at", where) if "admitted_at" in o else block.time
    return Org(OrgId(org_id), name, ca_der, active, admitted_at, caps)


_INT64 = 1 << 63


def _int(m: dict[str, Any], name: str, where: str) -> int:
    value = m.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not -_INT64 <= value < _INT64:
        raise GenesisError(f"{where}.{name}: expected an integer")
    return value


def _member_record(store: Branch, m: dict[str, Any], where: str) -> Member:
    try:
        public_key = bytes.fromhex(str(m.get("public_key", "")))
        serial = bytes.fromhex(str(m.get("cert_serial", "")))
    except ValueError as exc:
        raise GenesisError(f"{where}: public_key and cert_serial must be hex") from exc
    if len(public_key) != 32:
        raise GenesisError(f"{where}.public_key: expected 32 bytes")
    if not serial:
        raise GenesisError(f"{where}.cert_serial: expected a non-empty serial")
    if keeper.get_member(store, address_of(public_key)) is not None:
        raise GenesisError(f"{where}.public_key: duplicate member {address_of(public_key).hex()}")
    org = keeper.get_org(store, str(m.get("org_id", "")))
    if org is None:
        raise GenesisError(f"{where}.org_id: not a genesis org")
    roles = m.get("roles", [])
    if not isinstance(roles, list) or any(not isinstance(r, str) or Role.parse(r) is None for r in roles):
        raise GenesisError(f"{where}.roles: expected a list of role names; roles: {[r.value for r in Role]}")
    revoked = m.get("revoked", False)
    if not isinstance(revoked, bool):
        raise GenesisError(f"{where}.revoked: expected true or false")
    return Member(
        address=address_of(public_key),
        public_key=public_key,
        org_id=org.org_id,
        roles=tuple(sorted(set(roles))),
        cert_serial=serial,
        not_before=_int(m, "not_before", where),
        not_after=_int(m, "not_after", where),
        revoked=revoked,
        common_name=str(m.get("common_name", ""))[:128],
        enrolled_at=_int(m, "enrolled_at", where),
    )


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Orgs, then members (each certificate checked exactly as EnrollMember checks it)."""
    orgs = _list(sections, "orgs")
    if not orgs:
        raise GenesisError("orgs: a consortium needs at least one founding org")
    for i, o in enumerate(orgs):
        keeper.put_org(store, _org(store, block, o, f"orgs[{i}]"))
    params = load_params(store)
    for i, m in enumerate(_list(sections, "members")):
        where = f"members[{i}]"
        if not isinstance(m, dict):
            raise GenesisError(f"{where}: expected an object")
        if "certificate_pem" not in m:
            keeper.put_member(store, _member_record(store, m, where))
            continue
        der = _pem_to_der(m.get("certificate_pem"), f"{where}.certificate_pem")
        try:
            mc = parse_member_cert(der)
            ctx = TxContext(store, block, params, mc.public_key, address_of(mc.public_key), None)
            enroll_member(ctx, EnrollMember(der))
        except TxError as exc:
            raise GenesisError(f"{where}: {exc.code.name}: {exc.log}") from exc
    for i, r in enumerate(_list(sections, "revoked_certs")):
        where = f"revoked_certs[{i}]"
        if not isinstance(r, dict):
            raise GenesisError(f"{where}: expected an object")
        org_id = str(r.get("org_id", ""))
        if keeper.get_org(store, org_id) is None:
            raise GenesisError(f"{where}.org_id: unknown org {org_id[:40]!r}")
        try:
            serial = bytes.fromhex(str(r.get("serial", "")))
        except ValueError as exc:
            raise GenesisError(f"{where}.serial: not hex") from exc
        if not serial:
            raise GenesisError(f"{where}.serial: expected a non-empty serial")
        keeper.revoke_cert(store, org_id, serial)
    for i, d in enumerate(_list(sections, "device_cas")):
        keeper.put_device_ca(store, _device_ca(store, block, d, f"device_cas[{i}]"))


def _device_ca(store: Branch, block: BlockInfo, d: Any, where: str) -> DeviceCa:
    """A device CA entry, checked as AdmitDeviceCa checks it."""
    if not isinstance(d, dict):
        raise GenesisError(f"{where}: expected an object")
    unknown = set(d) - {"ca_id", "name", "org_id", "ca_pem", "admitted_at", "revoked_at"}
    if unknown:
        raise GenesisError(f"{where}: unknown fields {sorted(unknown)}")
    ca_id = d.get("ca_id")
    if not isinstance(ca_id, str) or not is_org_id(ca_id):
        raise GenesisError(f"{where}.ca_id: {str(ca_id)[:40]!r} must match [a-z0-9-]{{2,32}}")
    if keeper.get_device_ca(store, ca_id) is not None:
        raise GenesisError(f"{where}.ca_id: duplicate device CA {ca_id!r}")
    name, org_id = d.get("name", ""), d.get("org_id", "")
    if not isinstance(name, str) or len(name.encode()) > 128:
        raise GenesisError(f"{where}.name: expected a string of at most 128 bytes")
    if not isinstance(org_id, str) or (org_id and keeper.get_org(store, org_id) is None):
        raise GenesisError(f"{where}.org_id: expected '' (a manufacturer's CA) or a genesis org")
    der = _pem_to_der(d.get("ca_pem"), f"{where}.ca_pem")
    try:
        parse_ca_cert(der)
    except TxError as exc:
        raise GenesisError(f"{where}: {exc.log}") from exc
    admitted_at = _int(d, "admitted_at", where) if "admitted_at" in d else block.time
    revoked_at = _int(d, "revoked_at", where) if "revoked_at" in d else 0
    if revoked_at < 0 or admitted_at < 0:
        raise GenesisError(f"{where}: admitted_at and revoked_at must not be negative")
    return DeviceCa(ca_id, name, org_id, der, admitted_at, revoked_at)


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every org, member, revoked serial and device CA, in the form `import_genesis` reads."""
    orgs = [
        {
            "org_id": o.org_id,
            "name": o.name,
            "root_ca_pem": _der_to_pem(o.root_ca_der),
            "capabilities": list(o.capabilities),
            "active": o.active,
            "admitted_at": o.admitted_at,
        }
        for o in keeper.iter_orgs(store)
    ]
    members = [
        {
            "public_key": m.public_key.hex(),
            "org_id": m.org_id,
            "roles": list(m.roles),
            "cert_serial": m.cert_serial.hex(),
            "not_before": m.not_before,
            "not_after": m.not_after,
            "revoked": m.revoked,
            "common_name": m.common_name,
            "enrolled_at": m.enrolled_at,
        }
        for m in keeper.iter_members(store)
    ]
    revoked = [{"org_id": o, "serial": serial.hex()} for o, serial in keeper.iter_revoked_certs(store)]
    device_cas = [
        {
            "ca_id": d.ca_id,
            "name": d.name,
            "org_id": d.org_id,
            "ca_pem": _der_to_pem(d.ca_der),
            "admitted_at": d.admitted_at,
            "revoked_at": d.revoked_at,
        }
        for d in keeper.iter_device_cas(store)
    ]
    return {"orgs": orgs, "members": members, "revoked_certs": revoked, "device_cas": device_cas}
