"""Who reads what over `abci_query` (issue 21): the private roots and the signed read path.

Every validator holds every reading in replicated state: it must, to verify readings and settle.
What a node no longer does is publish a household's data to whoever reaches its RPC. The roots
in `PRIVATE_ROOTS` (readings, interval energy, batteries, forecasts, fills, rules, alerts,
statements, grid instructions, matching, scores, and the raw `/store`) answer QUERY_PRIVATE on
their plain path. They are served under `/signed/<path>` when the query's data is a read request
(`gridwire.read_request`) that

- is signed by the key it names, which belongs to an enrolled, unrevoked member (READ_BAD_SIGNATURE),
- names this path and height (READ_WRONG_PATH) and has not expired at the last block's time
  (READ_EXPIRED; expiring more than MAX_LIFETIME_S later is QUERY_BAD_REQUEST),
- is allowed by the access rules (READ_DENIED): the data's owner; the supplier of last resort
  (the tariffs' `supplier`) for everything but rules and alerts; the grid operator (role
  `operator`) for the per-interval instruction list; auditors (role `auditor`, with the org's
  capability) for everything.

A request may instead be signed by a reader key (a bridge's) and carry a member's read grant
(`gridwire.read_request.ReadGrant`): then the grant must be signed by an enrolled, unrevoked
member's key and name the request's key as its reader (READ_BAD_GRANT), and not have expired at
the last block's time (READ_EXPIRED; expiring more than MAX_GRANT_LIFETIME_S later is
QUERY_BAD_REQUEST); the access rules are then those of the member who granted it, so the reader
reads exactly what that member could, and nothing once the member is revoked.

Deterministic: no wall clock, only committed state. The answer (value, key, proof) is the plain
path's, so a reader who may read a record also gets its proof.
"""

from __future__ import annotations

from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.contract.chain import Paths as ChainPaths
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.forecasts import Paths as ForecastsPaths
from gridwire.contract.market import Paths as MarketPaths
from gridwire.read_request import MAX_GRANT_LIFETIME_S, MAX_LIFETIME_S, ReadGrant, ReadRequest

from abci_app import chain
from abci_app.crypto import address_of, verify
from abci_app.devices.keeper import get_device
from abci_app.errors import Code, TxError
from abci_app.grid.keeper import get_tariffs
from abci_app.identity.keeper import get_member, get_org
from abci_app.identity.records import Member
from abci_app.identity.roles import Role
from abci_app.market.keeper import get_alert, get_instruction, get_rule
from abci_app.store.branch import KVReader

__all__ = ["PRIVATE_ROOTS", "authorise_signed_read", "is_private"]

DEVICE_ROOTS = frozenset(
    r.root
    for r in (
        DevicesPaths.READING, DevicesPaths.ENERGY, DevicesPaths.BATTERY, ForecastsPaths.FORECASTS,
        ForecastsPaths.FORECAST_POSTED, ForecastsPaths.FORECAST_ERROR, ForecastsPaths.FORECAST_ERRORS,
    )
)  # fmt: skip
ADDRESS_ROOTS = frozenset(
    r.root
    for r in (
        MarketPaths.FILLS, MarketPaths.RULES, MarketPaths.ALERTS, MarketPaths.STATEMENT, MarketPaths.STATEMENTS,
        CertificatesPaths.MATCHING, CertificatesPaths.SCORE,
    )
)  # fmt: skip
OWNER_ONLY_ROOTS = frozenset(
    r.root for r in (MarketPaths.RULE, MarketPaths.RULES, MarketPaths.ALERT, MarketPaths.ALERTS)
)
RECORD_ROOTS = frozenset({MarketPaths.RULE.root, MarketPaths.ALERT.root, MarketPaths.INSTRUCTIONS.root})
AUDITOR_ONLY_ROOTS = frozenset({ChainPaths.STORE.root})
PRIVATE_ROOTS = DEVICE_ROOTS | ADDRESS_ROOTS | RECORD_ROOTS | AUDITOR_ONLY_ROOTS


def is_private(root: str) -> bool:
    """Whether the query root `root` holds one household's data (refused on its plain path)."""
    return root in PRIVATE_ROOTS


def _holds(store: KVReader, member: Member, role: Role) -> bool:
    org = get_org(store, member.org_id)
    return member.has_role(role.value) and org is not None and org.allows(role.value)


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else None


def _owner(store: KVReader, parts: list[str]) -> bytes | None:
    """The owner of the data at the private path `parts` (None: none, or only auditors/operators)."""
    root, args = parts[0], parts[1:]
    if not args:
        return None
    if root in DEVICE_ROOTS:
        device = get_device(store, args[0])
        return None if device is None else bytes(device.owner)
    if root in ADDRESS_ROOTS:
        try:
            return bytes.fromhex(args[0])
        except ValueError:
            return None
    if root == MarketPaths.RULE.root and (n := _number(args[0])) is not None:
        rule = get_rule(store, n)
        return None if rule is None else bytes(rule.owner)
    if root == MarketPaths.ALERT.root and (n := _number(args[0])) is not None:
        alert = get_alert(store, n)
        return None if alert is None else bytes(alert.owner)
    if root == MarketPaths.INSTRUCTIONS.root and len(args) == 2 and (n := _number(args[0])) is not None:
        instruction = get_instruction(store, n, args[1])
        return None if instruction is None else bytes(instruction.owner)
    return None


def _denial(store: KVReader, member: Member, parts: list[str]) -> str | None:
    root = parts[0]
    if _holds(store, member, Role.AUDITOR):
        return None
    if root in AUDITOR_ONLY_ROOTS:
        return f"/{root} is read by auditors only"
    if root == MarketPaths.INSTRUCTIONS.root and len(parts) == 2 and _holds(store, member, Role.OPERATOR):
        return None  # the operator's per-interval instruction list
    owner = _owner(store, parts)
    if owner is not None and owner == member.address:
        return None
    if owner is not None and root not in OWNER_ONLY_ROOTS:
        tariffs = get_tariffs(store)
        if tariffs is not None and bytes(tariffs.supplier) == member.address:
            return None
    who = owner.hex() if owner is not None else "no known owner"
    return f"{member.address.hex()} may not read /{root} of {who}"


def authorise_signed_read(store: KVReader, parts: list[str], query_path: str, height: int, data: bytes) -> None:
    """Raise the specific TxError unless `data` is a valid signed read request for `query_path`
    (the inner path, `parts` split from it) at `height` by a member the access rules allow."""
    request = ReadRequest.decode(data)
    if request is None:
        raise TxError(Code.QUERY_BAD_REQUEST, "a /signed query needs a signed read request as its data")
    if request.path != query_path or request.height != height:
        raise TxError(
            Code.READ_WRONG_PATH, f"the read request is for {request.path[:200]!r} at height {request.height}"
        )
    chain_id = chain.chain_id(store)
    message = ReadRequest.message(chain_id, request.path, request.height, request.expiry, request.grant)
    if len(request.public_key) != 32 or not verify(request.public_key, request.signature, message):
        raise TxError(Code.READ_BAD_SIGNATURE, "the read request's signature does not verify with its key")
    now = chain.block_time_ns(store) // 1_000_000_000
    member = _granting_member(store, chain_id, request, now) if request.grant else _signing_member(store, request)
    if request.expiry < now:
        raise TxError(Code.READ_EXPIRED, f"the read request expired at {request.expiry}, the last block is at {now}")
    if request.expiry > now + MAX_LIFETIME_S:
        raise TxError(
            Code.QUERY_BAD_REQUEST, f"a read request may expire at most {MAX_LIFETIME_S} s after the last block"
        )
    refused = _denial(store, member, parts)
    if refused:
        raise TxError(Code.READ_DENIED, refused)


def _signing_member(store: KVReader, request: ReadRequest) -> Member:
    """The enrolled, unrevoked member whose key signed `request` (READ_BAD_SIGNATURE otherwise)."""
    member = get_member(store, address_of(request.public_key))
    if member is None or member.revoked or member.public_key != request.public_key:
        raise TxError(Code.READ_BAD_SIGNATURE, "the read request's key is not an enrolled, unrevoked member's")
    return member


def _granting_member(store: KVReader, chain_id: str, request: ReadRequest, now: int) -> Member:
    """The member whose grant `request` carries; raises the specific TxError unless the grant is that
    member's, names the request's key as reader, and is in force at `now` (the last block's time)."""
    grant = ReadGrant.decode(request.grant)
    if grant is None:
        raise TxError(Code.READ_BAD_GRANT, "the read grant is malformed")
    if grant.reader_key != request.public_key:
        raise TxError(Code.READ_BAD_GRANT, "the read grant names another reader key than the request's signer")
    signed = ReadGrant.message(chain_id, grant.member_key, grant.reader_key, grant.expiry)
    if not verify(grant.member_key, grant.signature, signed):
        raise TxError(Code.READ_BAD_GRANT, "the read grant's signature does not verify with the member's key")
    member = get_member(store, address_of(grant.member_key))
    if member is None or member.revoked or member.public_key != grant.member_key:
        raise TxError(Code.READ_BAD_GRANT, "the read grant's key is not an enrolled, unrevoked member's")
    if grant.expiry < now:
        raise TxError(Code.READ_EXPIRED, f"the read grant expired at {grant.expiry}, the last block is at {now}")
    if grant.expiry > now + MAX_GRANT_LIFETIME_S:
        raise TxError(
            Code.QUERY_BAD_REQUEST, f"a read grant may expire at most {MAX_GRANT_LIFETIME_S} s after the last block"
        )
    return member
