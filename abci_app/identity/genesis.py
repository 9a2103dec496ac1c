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

The sections are `gridledger.identity.v1.GenesisState` in protobuf's JSON mapping (64-bit
integers as strings or numbers, an export writes strings; fields at their zero value may be
left out). An export carries every stored field, so importing it rebuilds the identity key range byte
for byte (the member-by-org index follows from the members). A member record's roles must
be role names; a role beyond its org's capabilities is accepted (governance may have
withdrawn the capability after the grant) and, as on the exporting chain, confers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from google.protobuf.struct_pb2 import ListValue
from gridledger.identity.v1 import genesis_pb2 as gpb

from abci_app.context import TxContext
from abci_app.crypto import address_of
from abci_app.domain import GenesisError
from abci_app.errors import TxError
from abci_app.genesis_fields import parse_top_sections, sections_json
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


def _pem_to_der(pem: str, where: str) -> bytes:
    try:
        return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except ValueError as exc:
        raise GenesisError(f"{where}: not a PEM certificate ({exc})") from exc


def _der_to_pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def _hex(text: str, where: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise GenesisError(f"{where}: not hex") from exc


def _capabilities(o: gpb.GenesisOrg, where: str) -> tuple[str, ...]:
    if not o.HasField("capabilities"):
        return tuple(DEFAULT_CAPABILITIES)
    names = [v.string_value for v in o.capabilities.values]
    if any(v.WhichOneof("kind") != "string_value" for v in o.capabilities.values):
        raise GenesisError(f"{where}.capabilities: expected a list of role names")
    caps = parse_capabilities(names)
    if isinstance(caps, str):
        raise GenesisError(f"{where}.capabilities: {caps}")
    return caps


def _org(store: Branch, block: BlockInfo, o: gpb.GenesisOrg, where: str) -> Org:
    if not is_org_id(o.org_id):
        raise GenesisError(f"{where}.org_id: {o.org_id!r} must match [a-z0-9-]{{2,32}}")
    if len(o.name.encode()) > 128:
        raise GenesisError(f"{where}.name: longer than 128 bytes")
    ca_der = _pem_to_der(o.root_ca_pem, f"{where}.root_ca_pem")
    try:
        parse_ca_cert(ca_der)
    except TxError as exc:
        raise GenesisError(f"{where}: {exc.log}") from exc
    caps = _capabilities(o, where)
    if keeper.get_org(store, o.org_id) is not None:
        raise GenesisError(f"{where}: duplicate org id {o.org_id!r}")
    active = o.active if o.HasField("active") else True
    admitted_at = o.admitted_at if o.HasField("admitted_at") else block.time
    return Org(OrgId(o.org_id), o.name, ca_der, active, admitted_at, caps)


def _member_record(store: Branch, m: gpb.GenesisMember, where: str) -> Member:
    public_key = _hex(m.public_key, f"{where}.public_key")
    serial = _hex(m.cert_serial, f"{where}.cert_serial")
    if len(public_key) != 32:
        raise GenesisError(f"{where}.public_key: expected 32 bytes")
    if not serial:
        raise GenesisError(f"{where}.cert_serial: expected a non-empty serial")
    if keeper.get_member(store, address_of(public_key)) is not None:
        raise GenesisError(f"{where}.public_key: duplicate member {address_of(public_key).hex()}")
    org = keeper.get_org(store, m.org_id)
    if org is None:
        raise GenesisError(f"{where}.org_id: not a genesis org")
    if any(Role.parse(r) is None for r in m.roles):
        raise GenesisError(f"{where}.roles: expected a list of role names; roles: {[r.value for r in Role]}")
    return Member(
        address=address_of(public_key),
        public_key=public_key,
        org_id=org.org_id,
        roles=tuple(sorted(set(m.roles))),
        cert_serial=serial,
        not_before=m.not_before,
        not_after=m.not_after,
        revoked=m.revoked,
        common_name=m.common_name[:128],
        enrolled_at=m.enrolled_at,
    )


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Orgs, then members (each certificate checked exactly as EnrollMember checks it)."""
    state = parse_top_sections(sections, gpb.GenesisState())
    if not state.orgs:
        raise GenesisError("orgs: a consortium needs at least one founding org")
    for i, o in enumerate(state.orgs):
        keeper.put_org(store, _org(store, block, o, f"orgs[{i}]"))
    params = load_params(store)
    for i, m in enumerate(state.members):
        where = f"members[{i}]"
        if not m.HasField("certificate_pem"):
            keeper.put_member(store, _member_record(store, m, where))
            continue
        der = _pem_to_der(m.certificate_pem, f"{where}.certificate_pem")
        try:
            mc = parse_member_cert(der)
            ctx = TxContext(store, block, params, mc.public_key, address_of(mc.public_key), None)
            enroll_member(ctx, EnrollMember(der))
        except TxError as exc:
            raise GenesisError(f"{where}: {exc.code.name}: {exc.log}") from exc
    for i, r in enumerate(state.revoked_certs):
        where = f"revoked_certs[{i}]"
        if keeper.get_org(store, r.org_id) is None:
            raise GenesisError(f"{where}.org_id: unknown org {r.org_id[:40]!r}")
        serial = _hex(r.serial, f"{where}.serial")
        if not serial:
            raise GenesisError(f"{where}.serial: expected a non-empty serial")
        keeper.revoke_cert(store, r.org_id, serial)
    for i, d in enumerate(state.device_cas):
        keeper.put_device_ca(store, _device_ca(store, block, d, f"device_cas[{i}]"))


def _device_ca(store: Branch, block: BlockInfo, d: gpb.GenesisDeviceCa, where: str) -> DeviceCa:
    """A device CA entry, checked as AdmitDeviceCa checks it."""
    if not is_org_id(d.ca_id):
        raise GenesisError(f"{where}.ca_id: {d.ca_id[:40]!r} must match [a-z0-9-]{{2,32}}")
    if keeper.get_device_ca(store, d.ca_id) is not None:
        raise GenesisError(f"{where}.ca_id: duplicate device CA {d.ca_id!r}")
    if len(d.name.encode()) > 128:
        raise GenesisError(f"{where}.name: expected a string of at most 128 bytes")
    if d.org_id and keeper.get_org(store, d.org_id) is None:
        raise GenesisError(f"{where}.org_id: expected '' (a manufacturer's CA) or a genesis org")
    der = _pem_to_der(d.ca_pem, f"{where}.ca_pem")
    try:
        parse_ca_cert(der)
    except TxError as exc:
        raise GenesisError(f"{where}: {exc.log}") from exc
    admitted_at = d.admitted_at if d.HasField("admitted_at") else block.time
    if d.revoked_at < 0 or admitted_at < 0:
        raise GenesisError(f"{where}: admitted_at and revoked_at must not be negative")
    return DeviceCa(d.ca_id, d.name, d.org_id, der, admitted_at, d.revoked_at)


def _org_json(o: Org) -> gpb.GenesisOrg:
    caps = ListValue()
    caps.extend(list(o.capabilities))
    return gpb.GenesisOrg(
        org_id=o.org_id,
        name=o.name,
        root_ca_pem=_der_to_pem(o.root_ca_der),
        capabilities=caps,
        active=o.active,
        admitted_at=o.admitted_at,
    )


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every org, member, revoked serial and device CA, in the form `import_genesis` reads."""
    state = gpb.GenesisState(
        orgs=[_org_json(o) for o in keeper.iter_orgs(store)],
        members=[
            gpb.GenesisMember(
                public_key=m.public_key.hex(),
                org_id=m.org_id,
                roles=list(m.roles),
                cert_serial=m.cert_serial.hex(),
                not_before=m.not_before,
                not_after=m.not_after,
                revoked=m.revoked,
                common_name=m.common_name,
                enrolled_at=m.enrolled_at,
            )
            for m in keeper.iter_members(store)
        ],
        revoked_certs=[
            gpb.RevokedCert(org_id=o, serial=serial.hex()) for o, serial in keeper.iter_revoked_certs(store)
        ],
        device_cas=[
            gpb.GenesisDeviceCa(
                ca_id=d.ca_id,
                name=d.name,
                org_id=d.org_id,
                ca_pem=_der_to_pem(d.ca_der),
                admitted_at=d.admitted_at,
                revoked_at=d.revoked_at,
            )
            for d in keeper.iter_device_cas(store)
        ],
    )
    return sections_json(state)
