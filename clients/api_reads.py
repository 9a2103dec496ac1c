"""Typed reads (gridledger.api.v1 IdentityApi, GovernanceApi, AccountsApi, DevicesApi): each RPC
is one `abci_query` path whose answer is the domain's own record or view.

The services are built from one table (`READS`): the request is checked and turned into a
path (INVALID_ARGUMENT when malformed), the node's answer decoded as the RPC's response type.
An absent record is NOT_FOUND, a path the app refuses INVALID_ARGUMENT, an unreachable node
UNAVAILABLE. New domains add rows.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError, Message
from gridledger.api.v1 import reads_pb2

from clients.api_status import status_for

if TYPE_CHECKING:
    from clients.bridge import BridgeService

__all__ = ["READS", "ReadRpc", "add_read_services", "read_service_names"]

MAX_PAGE = 500
_ID = re.compile(r"^[\x21-\x7e]{1,64}$")  # printable ASCII without '/', checked below


class BadRequestError(ValueError):
    """The request cannot be turned into a query path."""


def _id(text: str, name: str) -> str:
    if not _ID.match(text) or "/" in text or "?" in text:
        raise BadRequestError(f"{name} must be 1..64 printable characters without '/' or '?'")
    return text


def _addr(raw: bytes, name: str = "address") -> str:
    if len(raw) != 20:
        raise BadRequestError(f"{name} must be 20 bytes, got {len(raw)}")
    return raw.hex()


def _page(page: reads_pb2.PageRequest) -> str:
    if page.limit > MAX_PAGE:
        raise BadRequestError(f"page.limit must be ≤ {MAX_PAGE}")
    parts = []
    if page.limit:
        parts.append(f"limit={page.limit}")
    if page.after:
        if not re.fullmatch(r"[0-9a-f]{1,512}", page.after):
            raise BadRequestError("page.after must be the hex cursor of the previous page")
        parts.append(f"after={page.after}")
    return "?" + "&".join(parts) if parts else ""


def _devices(r: reads_pb2.ListDevicesRequest) -> str:
    which = r.WhichOneof("by")
    if which == "owner":
        return f"/devices/owner/{_addr(r.owner, 'owner')}{_page(r.page)}"
    if which == "feeder":
        return f"/devices/feeder/{_id(r.feeder, 'feeder')}{_page(r.page)}"
    raise BadRequestError("set owner or feeder")


@dataclass(frozen=True)
class ReadRpc:
    """One typed read: the service and method, request type and path, and response type."""

    service: str
    method: str
    request: type[Message]
    response: type[Message]
    path: Callable[[Any], str]


def _import(name: str) -> type[Message]:
    from google.protobuf import symbol_database  # noqa: PLC0415

    return symbol_database.Default().GetSymbol(name)


R = reads_pb2
READS: tuple[ReadRpc, ...] = (
    ReadRpc("IdentityApi", "GetMember", R.ByAddress, _import("gridledger.identity.v1.Member"),
            lambda r: f"/member/{_addr(r.address)}"),
    ReadRpc("IdentityApi", "ListMembers", R.ListMembersRequest, _import("gridledger.identity.v1.MemberList"),
            lambda r: f"/members/{_id(r.org_id, 'org_id')}{_page(r.page)}"),
    ReadRpc("IdentityApi", "GetOrg", R.ById, _import("gridledger.identity.v1.Org"),
            lambda r: f"/org/{_id(r.id, 'id')}"),
    ReadRpc("IdentityApi", "ListOrgs", R.PageRequest, _import("gridledger.identity.v1.OrgList"),
            lambda r: f"/orgs{_page(r)}"),
    ReadRpc("GovernanceApi", "GetProposal", R.ByNumber, _import("gridledger.governance.v1.Proposal"),
            lambda r: f"/proposal/{r.id}"),
    ReadRpc("GovernanceApi", "ListProposals", R.PageRequest, _import("gridledger.governance.v1.ProposalList"),
            lambda r: f"/proposals{_page(r)}"),
    ReadRpc("GovernanceApi", "GetParams", R.Empty, _import("gridledger.state.v1.Params"), lambda r: "/params"),
    ReadRpc("GovernanceApi", "ListValidators", R.Empty, _import("gridledger.governance.v1.ValidatorList"),
            lambda r: "/validators"),
    ReadRpc("AccountsApi", "GetAccount", R.ByAddress, _import("gridledger.accounts.v1.AccountView"),
            lambda r: f"/account/{_addr(r.address)}"),
    ReadRpc("AccountsApi", "GetSupply", R.Empty, _import("gridledger.accounts.v1.SupplyView"), lambda r: "/supply"),
    ReadRpc("DevicesApi", "GetDevice", R.ById, _import("gridledger.devices.v1.Device"),
            lambda r: f"/device/{_id(r.id, 'id')}"),
    ReadRpc("DevicesApi", "GetSite", R.ById, _import("gridledger.devices.v1.Site"),
            lambda r: f"/site/{_id(r.id, 'id')}"),
    ReadRpc("DevicesApi", "ListDevices", R.ListDevicesRequest, _import("gridledger.devices.v1.DeviceList"), _devices),
    ReadRpc("DevicesApi", "GetLastReading", R.ById, _import("gridledger.devices.v1.ReadingState"),
            lambda r: f"/reading/{_id(r.id, 'id')}"),
    ReadRpc("DevicesApi", "GetIntervalEnergy", R.IntervalEnergyRequest, _import("gridledger.devices.v1.IntervalEnergy"),
            lambda r: f"/energy/{_id(r.device_id, 'device_id')}/{r.interval_start}"),
    ReadRpc("DevicesApi", "GetBattery", R.ById, _import("gridledger.devices.v1.BatteryView"),
            lambda r: f"/battery/{_id(r.id, 'id')}"),
)  # fmt: skip


def _handler(bridge: BridgeService, rpc: ReadRpc) -> Callable[..., Any]:
    async def handle(request: Message, context: grpc.aio.ServicerContext) -> Message:
        try:
            path = rpc.path(request)
        except BadRequestError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise
        answer = await bridge._node_or_abort(context, bridge.rpc.abci_query, path)
        code = int(answer.get("code", 0))
        if code != 0:
            log = str(answer.get("log", ""))
            await context.abort(status_for(code, log), log)
        raw = base64.b64decode(answer.get("value") or "")
        if not raw and rpc.method.startswith("Get") and not _always_present(rpc):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"nothing at {path}")
        try:
            return rpc.response.FromString(raw)
        except DecodeError as exc:
            await context.abort(grpc.StatusCode.INTERNAL, f"{path}: undecodable {rpc.response.__name__}: {exc}")
            raise

    return handle


def _always_present(rpc: ReadRpc) -> bool:
    """Views that exist even when empty (an account never used, the supply before any mint)."""
    return rpc.method in ("GetAccount", "GetSupply", "GetParams")


def read_service_names() -> list[str]:
    """Full names of the typed read services (for reflection)."""
    return sorted({f"gridledger.api.v1.{r.service}" for r in READS})


def add_read_services(bridge: BridgeService, server: grpc.aio.Server) -> None:
    """Mount every typed read service of `READS` on `server`."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for rpc in READS:
        by_service.setdefault(rpc.service, {})[rpc.method] = grpc.unary_unary_rpc_method_handler(
            _handler(bridge, rpc),
            request_deserializer=rpc.request.FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )
    for service, handlers in sorted(by_service.items()):
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(f"gridledger.api.v1.{service}", handlers),)
        )
