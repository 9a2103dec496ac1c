"""Who reads what through the authenticated gRPC API (issue 21).

Every typed read in `clients.servers.api_reads.READS` declares one `Access` rule, checked
before the node is asked for the data:

    PUBLIC             any authenticated member (registry, tariffs, order book, clearing, certificates)
    OWNER              the data's owner, and auditors
    OWNER_OR_SUPPLIER  the owner, the supplier of last resort (its customers are every household on
                       the ledger's grid: the `supplier` of the grid tariffs), and auditors
    OPERATOR_AGGREGATE the grid operator (role `operator`) and auditors: per-feeder, per-interval
                       views, never one household's series
    AUDITOR            members holding the `auditor` role only

Whose data a read concerns (`Subject`) comes from the request (an `owner`/`member` address),
from the device it names (the device's owner, read from `/device/<id>`), or, for records
fetched by number, from the record's own `owner` field (checked before the record is returned).

The rules apply to members authenticated by `clients.servers.auth.MemberAuthInterceptor`
(`--member-auth`), which puts the caller in `CALLER` for the call; the node then reads the data
under the caller's read grant (`clients.servers.granted_reads`) with the same rules again. A
bridge started without member authentication knows no caller: it serves whoever reaches it what
the node's RPC serves (public data, since nodes keep households' data private by default), and
must only be reachable by its operator (README, "Who reads what").
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.contract.chain import Paths as ChainPaths
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.forecasts import Paths as ForecastsPaths
from gridwire.contract.grid import Paths as GridPaths
from gridwire.contract.market import Paths as MarketPaths

__all__ = [
    "AUDITOR_ROLE",
    "CALLER",
    "OPERATOR_ROLE",
    "PRIVATE_ROOTS",
    "Access",
    "Subject",
    "denial",
    "raw_query_denial",
]

AUDITOR_ROLE = "auditor"
OPERATOR_ROLE = "operator"


class AuthenticatedMember(Protocol):
    """The caller as `clients.servers.auth` authenticated it: its address and roles."""

    @property
    def address(self) -> bytes: ...

    @property
    def roles(self) -> tuple[str, ...]: ...


CALLER: contextvars.ContextVar[AuthenticatedMember | None] = contextvars.ContextVar("gridledger_caller", default=None)


class Access(StrEnum):
    """A read's access rule (see the module docstring)."""

    PUBLIC = "public"
    OWNER = "owner"
    OWNER_OR_SUPPLIER = "owner-or-supplier"
    OPERATOR_AGGREGATE = "operator-aggregate"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Subject:
    """Where a read's owner comes from: `field` of the request (an address), the owner of the
    device whose id is in `device_field`, or (`from_record`) the `owner` field of the record read."""

    field: str = ""
    device_field: str = ""
    from_record: bool = False


# The query roots holding one household's data: the Bridge API's raw `Query` serves them to auditors
# only (an owner reads its own through the typed reads above, which know whose data a path is).
# `/store/<key>` reads any state value, so it counts as private too.
PRIVATE_ROOTS = frozenset(
    r.root
    for r in (
        DevicesPaths.READING, DevicesPaths.ENERGY, DevicesPaths.BATTERY,
        ForecastsPaths.FORECASTS, ForecastsPaths.FORECAST_POSTED, ForecastsPaths.FORECAST_ERROR,
        ForecastsPaths.FORECAST_ERRORS,
        MarketPaths.FILLS, MarketPaths.RULE, MarketPaths.RULES, MarketPaths.ALERT, MarketPaths.ALERTS,
        MarketPaths.STATEMENT, MarketPaths.STATEMENTS, MarketPaths.INSTRUCTIONS,
        CertificatesPaths.MATCHING, CertificatesPaths.SCORE,
        ChainPaths.STORE,
    )
)  # fmt: skip


def raw_query_denial(caller: AuthenticatedMember, path: str) -> str | None:
    """Why `caller` may not read `path` through the Bridge API's raw Query (None: it may)."""
    root = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    if root in PRIVATE_ROOTS and AUDITOR_ROLE not in caller.roles:
        return f"/{root} holds households' data: read it through the typed API (owner, supplier) or as an auditor"
    return None


Query = Callable[[str], Awaitable[tuple[int, bytes]]]  # path -> (code, value)


async def _device_owner(query: Query, device_id: str) -> bytes | None:
    from gridledger.devices.v1 import devices_pb2  # noqa: PLC0415

    code, raw = await query(DevicesPaths.DEVICE(device_id))
    if code != 0 or not raw:
        return None
    return bytes(devices_pb2.Device.FromString(raw).owner)


async def _supplier(query: Query) -> bytes:
    from gridledger.grid.v1 import grid_pb2  # noqa: PLC0415

    code, raw = await query(GridPaths.TARIFFS())
    return bytes(grid_pb2.Tariffs.FromString(raw).supplier) if code == 0 and raw else b""


async def owner_of(subject: Subject, request: Any, query: Query) -> bytes | None:
    """The address whose data the request reads (None: not known before the record is read,
    or a device that does not exist)."""
    if subject.field:
        return bytes(getattr(request, subject.field))
    if subject.device_field:
        return await _device_owner(query, str(getattr(request, subject.device_field)))
    return None


async def denial(access: Access, caller: AuthenticatedMember, owner: bytes | None, query: Query) -> str | None:
    """Why `caller` may not read data of `owner` under `access` (None: it may). `owner` None
    for a private rule means the owner could not be established: refused."""
    roles = set(caller.roles)
    if access is Access.PUBLIC or AUDITOR_ROLE in roles:
        return None
    if access is Access.AUDITOR:
        return "only auditors read this"
    if access is Access.OPERATOR_AGGREGATE:
        return None if OPERATOR_ROLE in roles else "only the grid operator and auditors read feeder views"
    if owner is not None and owner == caller.address:
        return None
    if access is Access.OWNER_OR_SUPPLIER and owner is not None:
        supplier = await _supplier(query)
        if supplier and supplier == caller.address:
            return None
    whose = owner.hex() if owner else "an unknown owner"
    extra = ", the supplier of last resort" if access is Access.OWNER_OR_SUPPLIER else ""
    return f"{caller.address.hex()} may not read data of {whose}: only its owner{extra} and auditors may ({access})"
