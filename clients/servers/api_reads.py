"""Typed reads (gridledger.api.v1 IdentityApi, GovernanceApi, AccountsApi, DevicesApi, GridApi,
MarketApi, CertificatesApi, ForecastsApi): each RPC is one `abci_query` path whose answer is the domain's own
record or view.

The services are built from one table (`READS`): the request is checked and turned into a
path (INVALID_ARGUMENT when malformed), the node's answer decoded as the RPC's response type.
An absent record is NOT_FOUND, a path the app refuses INVALID_ARGUMENT, an unreachable node
UNAVAILABLE. New domains add rows.

`CertificatesApi.ExportRetirement` is the one read that is more than a path: the retirement
with its Merkle proof, checked against a verified header before the bridge answers, and that
header with its commit and validators, so `verify_retirement_export` can check it offline.
When the bridge runs a light client from a genesis file and the header's validator set is no
longer the genesis set, the export also carries the trust steps leading from the genesis set
to it, so a checker holding only the genesis file can still verify it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError, Message
from gridledger.api.v1 import certificates_api_pb2, forecasts_api_pb2, grid_api_pb2, market_api_pb2, reads_pb2
from gridledger.certificates.v1 import certificates_pb2
from gridwire.contract.accounts import Paths as AccountsPaths
from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.forecasts import Paths as ForecastsPaths
from gridwire.contract.governance import Paths as GovernancePaths
from gridwire.contract.grid import Paths as GridPaths
from gridwire.contract.identity import Paths as IdentityPaths
from gridwire.contract.market import Paths as MarketPaths
from gridwire.contract.paths import page_suffix

from clients.servers.access import CALLER, Access, Subject, denial, owner_of
from clients.servers.api_export import export_handler
from clients.servers.api_status import status_for
from clients.servers.granted_reads import query_for_caller

if TYPE_CHECKING:
    from clients.servers.node import NodeLink

__all__ = [
    "READS",
    "ReadRpc",
    "add_read_services",
    "read_service_names",
]

MAX_PAGE = 500
HOUR = 3600
MAX_SCORE_HOURS = 366 * 24
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
    if page.after and not re.fullmatch(r"(?:[0-9a-f]{2}){1,256}", page.after):  # bytes, as the ledger reads it
        raise BadRequestError("page.after must be the hex cursor of the previous page (whole bytes)")
    return page_suffix(page.limit, page.after)


INT64_MAX = 2**63 - 1  # the ledger's ids, times and counters fit a signed 64-bit integer


def _number(n: int, name: str = "id") -> int:
    if not 1 <= n <= INT64_MAX:
        raise BadRequestError(f"{name} must be 1..{INT64_MAX}")
    return n


MAX_TIME = 2**40  # unix seconds (year 36812): the bound the ledger's domains read times with


def _time(n: int, name: str) -> int:
    """A time in unix seconds (or a day number, or a count) the ledger can read: 0..MAX_TIME."""
    if not 0 <= n <= MAX_TIME:
        raise BadRequestError(f"{name} must be 0..{MAX_TIME}")
    return n


def _hour(n: int, name: str) -> int:
    """A production hour's start; the ledger checks that it is aligned to its certificate
    period (an hour unless governance shortened it for a demonstration)."""
    return _time(n, name)


_STATUS_NAMES = {
    certificates_pb2.BUNDLE_STATUS_ACTIVE: "active",
    certificates_pb2.BUNDLE_STATUS_RETIRED: "retired",
    certificates_pb2.BUNDLE_STATUS_SUSPENDED: "suspended",
    certificates_pb2.BUNDLE_STATUS_REVOKED: "revoked",
    certificates_pb2.BUNDLE_STATUS_CONSUMED_BY_STORAGE: "consumed_by_storage",
    certificates_pb2.BUNDLE_STATUS_EXPIRED: "expired",
}


def _bundles(r: certificates_api_pb2.ListBundlesRequest) -> str:
    which = r.WhichOneof("by")
    if which == "owner":
        where = ("owner", _addr(r.owner, "owner"))
    elif which == "device_id":
        where = ("device", _id(r.device_id, "device_id"))
    elif which == "hour_start":
        where = ("hour", str(_hour(r.hour_start, "hour_start")))
    elif which == "status" and r.status in _STATUS_NAMES:
        where = ("status", _STATUS_NAMES[r.status])
    else:
        raise BadRequestError("set owner, device_id, hour_start or a known status")
    return CertificatesPaths.BUNDLES(*where) + _page(r.page)


def _retirements(r: certificates_api_pb2.ListRetirementsRequest) -> str:
    hour = (str(_hour(r.hour_start, "hour_start")),) if r.hour_start else ()
    return CertificatesPaths.RETIREMENTS("owner", _addr(r.owner, "owner"), *hour) + _page(r.page)


def _score(r: certificates_api_pb2.ScoreRequest) -> str:
    lo, hi = _hour(r.from_hour, "from_hour"), _hour(r.to_hour, "to_hour")
    if not lo <= hi <= lo + MAX_SCORE_HOURS * HOUR:  # the ledger bounds it by its own period too
        raise BadRequestError(f"need from_hour <= to_hour <= from_hour + {MAX_SCORE_HOURS} hours")
    return CertificatesPaths.SCORE(_addr(r.member, "member"), lo, hi)


MAX_FORECAST_INTERVALS = 672  # the highest forecasts.max_intervals_per_post governance allows


def _forecasts(r: forecasts_api_pb2.ForecastRequest) -> str:
    """The forecast view of `count` intervals (0: one); above the governed maximum of the chain
    (at most 672) the ledger answers INVALID_ARGUMENT itself."""
    count = max(1, r.count)
    if count > MAX_FORECAST_INTERVALS:
        raise BadRequestError(f"count must be 1..{MAX_FORECAST_INTERVALS}")
    return ForecastsPaths.FORECASTS(_id(r.device_id, "device_id"), _time(r.interval_start, "interval_start"), count)


def _devices(r: reads_pb2.ListDevicesRequest) -> str:
    which = r.WhichOneof("by")
    if which == "owner":
        return DevicesPaths.DEVICES("owner", _addr(r.owner, "owner")) + _page(r.page)
    if which == "feeder":
        return DevicesPaths.DEVICES("feeder", _id(r.feeder, "feeder")) + _page(r.page)
    raise BadRequestError("set owner or feeder")


@dataclass(frozen=True)
class ReadRpc:
    """One typed read: the service and method, request type and path, and response type."""

    service: str
    method: str
    request: type[Message]
    response: type[Message]
    path: Callable[[Any], str]
    access: Access  # who may read it (clients.servers.access); every row declares one
    subject: Subject  # whose data it is


def _import(name: str) -> type[Message]:
    from google.protobuf import symbol_database  # noqa: PLC0415

    return symbol_database.Default().GetSymbol(name)


R = reads_pb2
G = grid_api_pb2
M = market_api_pb2
C = certificates_api_pb2
F = forecasts_api_pb2
PUB, OWN, OS, OPA = Access.PUBLIC, Access.OWNER, Access.OWNER_OR_SUPPLIER, Access.OPERATOR_AGGREGATE
NONE, RECORD = Subject(), Subject(from_record=True)
BY_OWNER, BY_MEMBER = Subject(field="owner"), Subject(field="member")
DEV, DEVICE_ID = Subject(device_field="id"), Subject(device_field="device_id")
# Orders and the book are public (a pseudonymous bid in a public auction); fills, statements, matching
# and scores are settled metered energy: a household's consumption, so owner-or-supplier.
READS: tuple[ReadRpc, ...] = (
    ReadRpc("IdentityApi", "GetMember", R.ByAddress, _import("gridledger.identity.v1.Member"),
            lambda r: IdentityPaths.MEMBER(_addr(r.address)), PUB, NONE),
    ReadRpc("IdentityApi", "ListMembers", R.ListMembersRequest, _import("gridledger.identity.v1.MemberList"),
            lambda r: IdentityPaths.MEMBERS(_id(r.org_id, 'org_id')) + _page(r.page), PUB, NONE),
    ReadRpc("IdentityApi", "GetOrg", R.ById, _import("gridledger.identity.v1.Org"),
            lambda r: IdentityPaths.ORG(_id(r.id, 'id')), PUB, NONE),
    ReadRpc("IdentityApi", "ListOrgs", R.PageRequest, _import("gridledger.identity.v1.OrgList"),
            lambda r: IdentityPaths.ORGS() + _page(r), PUB, NONE),
    ReadRpc("GovernanceApi", "GetProposal", R.ByNumber, _import("gridledger.governance.v1.Proposal"),
            lambda r: GovernancePaths.PROPOSAL(_number(r.id)), PUB, NONE),
    ReadRpc("GovernanceApi", "ListProposals", R.PageRequest, _import("gridledger.governance.v1.ProposalList"),
            lambda r: GovernancePaths.PROPOSALS() + _page(r), PUB, NONE),
    ReadRpc("GovernanceApi", "GetParams", R.Empty, _import("gridledger.state.v1.Params"),
            lambda r: GovernancePaths.PARAMS(), PUB, NONE),
    ReadRpc("GovernanceApi", "ListValidators", R.Empty, _import("gridledger.governance.v1.ValidatorList"),
            lambda r: GovernancePaths.VALIDATORS(), PUB, NONE),
    ReadRpc("AccountsApi", "GetAccount", R.ByAddress, _import("gridledger.accounts.v1.AccountView"),
            lambda r: AccountsPaths.ACCOUNT(_addr(r.address)), PUB, NONE),
    ReadRpc("AccountsApi", "GetSupply", R.Empty, _import("gridledger.accounts.v1.SupplyView"),
            lambda r: AccountsPaths.SUPPLY(), PUB, NONE),
    ReadRpc("DevicesApi", "GetDevice", R.ById, _import("gridledger.devices.v1.Device"),
            lambda r: DevicesPaths.DEVICE(_id(r.id, 'id')), PUB, NONE),
    ReadRpc("DevicesApi", "GetSite", R.ById, _import("gridledger.devices.v1.Site"),
            lambda r: DevicesPaths.SITE(_id(r.id, 'id')), PUB, NONE),
    ReadRpc("DevicesApi", "ListDevices", R.ListDevicesRequest, _import("gridledger.devices.v1.DeviceList"), _devices,
            PUB, NONE),
    ReadRpc("DevicesApi", "GetLastReading", R.ById, _import("gridledger.devices.v1.ReadingState"),
            lambda r: DevicesPaths.READING(_id(r.id, 'id')), OS, DEV),
    ReadRpc("DevicesApi", "GetIntervalEnergy", R.IntervalEnergyRequest, _import("gridledger.devices.v1.IntervalEnergy"),
            lambda r: DevicesPaths.ENERGY(_id(r.device_id, 'device_id'), _time(r.interval_start, 'interval_start')),
            OS, DEVICE_ID),
    ReadRpc("DevicesApi", "GetBattery", R.ById, _import("gridledger.devices.v1.BatteryView"),
            lambda r: DevicesPaths.BATTERY(_id(r.id, 'id')), OS, DEV),
    ReadRpc("GridApi", "GetTariffs", R.Empty, _import("gridledger.grid.v1.Tariffs"), lambda r: GridPaths.TARIFFS(),
            PUB, NONE),
    ReadRpc("GridApi", "GetGridFees", R.Empty, _import("gridledger.grid.v1.GridFees"), lambda r: GridPaths.FEES(),
            PUB, NONE),
    ReadRpc("GridApi", "GetFeederLimit", R.ById, _import("gridledger.grid.v1.FeederLimit"),
            lambda r: GridPaths.FEEDER(_id(r.id, 'id')), PUB, NONE),
    ReadRpc("GridApi", "ListFeederLimits", R.PageRequest, _import("gridledger.grid.v1.FeederLimitList"),
            lambda r: GridPaths.FEEDERS() + _page(r), PUB, NONE),
    ReadRpc("GridApi", "GetDrEvent", R.ById, _import("gridledger.grid.v1.DrEvent"),
            lambda r: GridPaths.DR(_id(r.id, 'id')), PUB, NONE),
    ReadRpc("GridApi", "ListDrEvents", R.PageRequest, _import("gridledger.grid.v1.DrEventList"),
            lambda r: GridPaths.DR_EVENTS() + _page(r), PUB, NONE),
    ReadRpc("GridApi", "ListDrEnrolments", G.ListDrEnrolmentsRequest, _import("gridledger.grid.v1.DrEnrolmentList"),
            lambda r: GridPaths.DR_ENROLMENTS(_id(r.event_id, 'event_id')) + _page(r.page), PUB, NONE),
    ReadRpc("ForecastsApi", "GetForecast", F.ForecastRequest, _import("gridledger.forecasts.v1.ForecastViewList"),
            _forecasts, OS, DEVICE_ID),
    ReadRpc("ForecastsApi", "GetPostedForecast", R.IntervalEnergyRequest, _import("gridledger.forecasts.v1.Forecast"),
            lambda r: ForecastsPaths.FORECAST_POSTED(_id(r.device_id, "device_id"),
                                                     _time(r.interval_start, "interval_start")), OS, DEVICE_ID),
    ReadRpc("ForecastsApi", "GetForecastError", F.ForecastErrorRequest,
            _import("gridledger.forecasts.v1.ForecastError"),
            lambda r: ForecastsPaths.FORECAST_ERROR(_id(r.device_id, 'device_id'), _time(r.day, 'day')), OS, DEVICE_ID),
    ReadRpc("ForecastsApi", "ListForecastErrors", F.ByDevice, _import("gridledger.forecasts.v1.ForecastErrorList"),
            lambda r: ForecastsPaths.FORECAST_ERRORS(_id(r.device_id, 'device_id')) + _page(r.page), OS, DEVICE_ID),
    ReadRpc("MarketApi", "GetOrder", R.ByNumber, _import("gridledger.market.v1.Order"),
            lambda r: MarketPaths.ORDER(_number(r.id)), PUB, NONE),
    ReadRpc("MarketApi", "ListOrders", M.ByOwner, _import("gridledger.market.v1.OrderList"),
            lambda r: MarketPaths.ORDERS(_addr(r.owner, 'owner')) + _page(r.page), PUB, NONE),
    ReadRpc("MarketApi", "ListBook", M.BookRequest, _import("gridledger.market.v1.OrderList"),
            lambda r: MarketPaths.BOOK(_time(r.interval_start, 'interval_start')) + _page(r.page), PUB, NONE),
    ReadRpc("MarketApi", "GetClearing", M.IntervalRequest, _import("gridledger.market.v1.ClearingResult"),
            lambda r: MarketPaths.CLEARING(_time(r.interval_start, 'interval_start')), PUB, NONE),
    ReadRpc("MarketApi", "ListFills", M.ByOwner, _import("gridledger.market.v1.FillList"),
            lambda r: MarketPaths.FILLS(_addr(r.owner, 'owner')) + _page(r.page), OS, BY_OWNER),
    ReadRpc("MarketApi", "GetRule", R.ByNumber, _import("gridledger.market.v1.Rule"),
            lambda r: MarketPaths.RULE(_number(r.id)), OWN, RECORD),
    ReadRpc("MarketApi", "ListRules", M.ByOwner, _import("gridledger.market.v1.RuleList"),
            lambda r: MarketPaths.RULES(_addr(r.owner, 'owner')) + _page(r.page), OWN, BY_OWNER),
    ReadRpc("MarketApi", "GetAlert", R.ByNumber, _import("gridledger.market.v1.Alert"),
            lambda r: MarketPaths.ALERT(_number(r.id)), OWN, RECORD),
    ReadRpc("MarketApi", "ListAlerts", M.ByOwner, _import("gridledger.market.v1.AlertList"),
            lambda r: MarketPaths.ALERTS(_addr(r.owner, 'owner')) + _page(r.page), OWN, BY_OWNER),
    ReadRpc("MarketApi", "GetStatement", M.StatementRequest, _import("gridledger.market.v1.Statement"),
            lambda r: MarketPaths.STATEMENT(_addr(r.owner, 'owner'), _time(r.interval_start, 'interval_start')),
            OS, BY_OWNER),
    ReadRpc("MarketApi", "ListStatements", M.ByOwner, _import("gridledger.market.v1.StatementList"),
            lambda r: MarketPaths.STATEMENTS(_addr(r.owner, 'owner')) + _page(r.page), OS, BY_OWNER),
    ReadRpc("MarketApi", "GetUpstream", M.IntervalRequest, _import("gridledger.market.v1.UpstreamTrade"),
            lambda r: MarketPaths.UPSTREAM(_time(r.interval_start, 'interval_start')), PUB, NONE),
    ReadRpc("MarketApi", "ListInstructions", M.BookRequest, _import("gridledger.market.v1.GridInstructionList"),
            lambda r: MarketPaths.INSTRUCTIONS(_time(r.interval_start, 'interval_start')) + _page(r.page), OPA, NONE),
    ReadRpc("MarketApi", "GetInstruction", M.InstructionRequest, _import("gridledger.market.v1.GridInstruction"),
            lambda r: MarketPaths.INSTRUCTIONS(_time(r.interval_start, 'interval_start'), _id(r.site_id, 'site_id')),
            OS, RECORD),
    ReadRpc("CertificatesApi", "GetBundle", R.ByNumber, _import("gridledger.certificates.v1.Bundle"),
            lambda r: CertificatesPaths.BUNDLE(_number(r.id)), PUB, NONE),
    ReadRpc("CertificatesApi", "ListBundles", C.ListBundlesRequest, _import("gridledger.certificates.v1.BundleList"),
            _bundles, PUB, NONE),
    ReadRpc("CertificatesApi", "GetBundleHistory", R.ByNumber,
            _import("gridledger.certificates.v1.BundleHistoryView"),
            lambda r: CertificatesPaths.BUNDLE_HISTORY(_number(r.id)), PUB, NONE),
    ReadRpc("CertificatesApi", "GetRetirement", R.ByNumber, _import("gridledger.certificates.v1.Retirement"),
            lambda r: CertificatesPaths.RETIREMENT(_number(r.id)), PUB, NONE),
    ReadRpc("CertificatesApi", "ListRetirements", C.ListRetirementsRequest,
            _import("gridledger.certificates.v1.RetirementList"), _retirements, PUB, NONE),
    ReadRpc("CertificatesApi", "GetMatching", C.MemberHourRequest, _import("gridledger.certificates.v1.Matching"),
            lambda r: CertificatesPaths.MATCHING(_addr(r.member, 'member'), _hour(r.hour_start, 'hour_start')),
            OS, BY_MEMBER),
    ReadRpc("CertificatesApi", "GetScore", C.ScoreRequest, _import("gridledger.certificates.v1.Score"), _score,
            OS, BY_MEMBER),
    ReadRpc("CertificatesApi", "GetResidual", C.ResidualRequest, _import("gridledger.certificates.v1.Residual"),
            lambda r: CertificatesPaths.RESIDUAL(_id(r.grid_region, 'grid_region'), _hour(r.hour_start, 'hour_start')),
            PUB, NONE),
)  # fmt: skip


def _handler(bridge: NodeLink, rpc: ReadRpc) -> Callable[..., Any]:
    async def handle(request: Message, context: grpc.aio.ServicerContext) -> Message:
        try:
            path = rpc.path(request)
        except BadRequestError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise
        caller = CALLER.get()

        async def query(at: str) -> tuple[int, bytes]:
            found = await bridge.node_or_abort(context, bridge.rpc.abci_query, at)
            return int(found.get("code", 0)), base64.b64decode(found.get("value") or "")

        if caller is not None and not rpc.subject.from_record:
            refused = await denial(rpc.access, caller, await owner_of(rpc.subject, request, query), query)
            if refused:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, refused)
        answer = await query_for_caller(bridge, context, path)
        code = int(answer.get("code", 0))
        if code != 0:
            log = str(answer.get("log", ""))
            await context.abort(status_for(code, log), log)
        raw = base64.b64decode(answer.get("value") or "")
        if caller is not None and rpc.subject.from_record and raw:
            refused = await denial(rpc.access, caller, _record_owner(rpc, raw), query)
            if refused:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, refused)
        if not raw and rpc.method.startswith("Get") and not _always_present(rpc):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"nothing at {path}")
        try:
            return rpc.response.FromString(raw)
        except DecodeError as exc:
            await context.abort(grpc.StatusCode.INTERNAL, f"{path}: undecodable {rpc.response.__name__}: {exc}")
            raise

    return handle


def _record_owner(rpc: ReadRpc, raw: bytes) -> bytes | None:
    """The `owner` of a record read by number (None when it cannot be decoded)."""
    try:
        return bytes(getattr(rpc.response.FromString(raw), "owner"))  # noqa: B009
    except (DecodeError, AttributeError):
        return None


def _always_present(rpc: ReadRpc) -> bool:
    """Views that exist even when empty (an account never used, the supply before any mint)."""
    return rpc.method in ("GetAccount", "GetSupply", "GetParams", "GetMatching", "GetScore", "GetResidual")


def read_service_names() -> list[str]:
    """Full names of the typed read services (for reflection)."""
    return sorted({f"gridledger.api.v1.{r.service}" for r in READS})


def add_read_services(bridge: NodeLink, server: grpc.aio.Server) -> None:
    """Mount every typed read service of `READS` (and CertificatesApi.ExportRetirement) on `server`."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for rpc in READS:
        by_service.setdefault(rpc.service, {})[rpc.method] = grpc.unary_unary_rpc_method_handler(
            _handler(bridge, rpc),
            request_deserializer=rpc.request.FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )
    by_service["CertificatesApi"]["ExportRetirement"] = grpc.unary_unary_rpc_method_handler(
        export_handler(bridge),
        request_deserializer=reads_pb2.ByNumber.FromString,
        response_serializer=lambda m: m.SerializeToString(),
    )
    for service, handlers in sorted(by_service.items()):
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(f"gridledger.api.v1.{service}", handlers),)
        )
