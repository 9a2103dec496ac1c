"""The dashboard's ASGI app (Starlette): the page, its static files and charting library, the
JSON reads of each view and the server-sent-event stream of live updates.

No keys and no state of its own: every answer is read from the nodes when asked (through a
`NodePool`, failing over), and the live stream comes from the nodes' websockets (`Feed`).
Bad input gets HTTP 400 with {"error": message} and reads nothing. A retirement export is
verified by the page itself (static/verify.js, in the browser), not here; a transaction is signed
in the page (static/sign.js) with a key that never leaves it, and only relayed here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from clients.servers.dashboard import actions, inputs, relay, views
from clients.servers.dashboard.inputs import BadInputError
from clients.servers.dashboard.live import Feed
from clients.servers.dashboard.nodes import READ_GRANT, AllNodesDownError, NodePool, QueryError
from clients.signals import SignalFilter

__all__ = ["CHART_JS", "create_app"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CHART_JS = HERE / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
CHART_MATRIX = HERE / "node_modules" / "chartjs-chart-matrix" / "dist" / "chartjs-chart-matrix.min.js"  # heat-maps
NOBLE = HERE / "node_modules" / "@noble"  # Ed25519 and SHA-2 for the page's own audit (static/verify.js)
BUNDLE_FILTERS = ("owner", "device", "hour", "status")
STATUSES = ("active", "retired", "suspended", "revoked", "consumed_by_storage", "expired")
KEEPALIVE_SECONDS = 10.0
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'"


class _Headers(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


GRANT_HEADER = "x-gridledger-read-grant"  # base64 of the member's read grant for the dashboard's read key


def _grant(request: Request) -> bytes | None:
    """The read grant the page sent (None: none, or not base64)."""
    raw = request.headers.get(GRANT_HEADER, "")
    try:
        return base64.b64decode(raw, validate=True) if raw and len(raw) <= 400 else None
    except ValueError:
        return None


async def _read(fn: Callable[[], dict[str, Any]], grant: bytes | None = None) -> JSONResponse:
    """Run a view's reads in a worker thread, private ones under `grant`, and answer JSON (400 bad
    input, 503 no node)."""

    def under_grant() -> dict[str, Any]:
        token = READ_GRANT.set(grant)
        try:
            return fn()
        finally:
            READ_GRANT.reset(token)

    try:
        return JSONResponse(await run_in_threadpool(under_grant))
    except BadInputError as exc:
        return _error(400, str(exc))
    except QueryError as exc:
        return _error(400, f"the chain refused the query (code {exc.code}): {exc.log[:200]}")
    except AllNodesDownError as exc:
        return _error(503, str(exc)[:500])


def create_app(pool: NodePool, feed: Feed | None = None) -> Starlette:
    """The dashboard over `pool` (reads) and `feed` (live updates; none: the stream only keeps alive)."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def chart_js(request: Request) -> Response:
        if not CHART_JS.exists():
            return PlainTextResponse("Chart.js is not installed: run make setup", status_code=404)
        return FileResponse(CHART_JS, media_type="text/javascript")

    async def chart_matrix(request: Request) -> Response:
        if not CHART_MATRIX.exists():
            return PlainTextResponse("chartjs-chart-matrix is not installed: run make setup", status_code=404)
        return FileResponse(CHART_MATRIX, media_type="text/javascript")

    async def network(request: Request) -> Response:
        return await _read(lambda: views.network(pool))

    async def member_view(request: Request, view: Callable[[NodePool, bytes], Any]) -> Response:
        """One member's private view (`?member=ORG/NAME` or an address), read under their grant."""
        try:
            ref = inputs.member_ref(request.query_params.get("member"))
        except BadInputError as exc:
            return _error(400, str(exc))
        return await _read(lambda: view(pool, views.resolve_member(pool, ref)), _grant(request))

    async def home(request: Request) -> Response:
        return await member_view(request, views.home)

    async def market(request: Request) -> Response:
        try:
            raw = request.query_params.get("interval")
            interval = inputs.number(raw, "interval") if raw else None
        except BadInputError as exc:
            return _error(400, str(exc))
        return await _read(lambda: views.market(pool, interval))

    async def certificates(request: Request) -> Response:
        given = [(k, request.query_params[k]) for k in BUNDLE_FILTERS if request.query_params.get(k)]
        if len(given) != 1:
            return _error(400, "filter by exactly one of owner, device, hour, status")
        kind, raw = given[0]
        try:
            if kind == "owner":
                ref = inputs.member_ref(raw)
                return await _read(lambda: views.certificates(pool, "owner", views.resolve_member(pool, ref).hex()))
            if kind == "hour":
                value = str(inputs.number(raw, "hour"))
            elif kind == "status":
                if raw not in STATUSES:
                    raise BadInputError("status must be one of " + ", ".join(STATUSES))
                value = raw
            else:
                value = inputs.token(raw, "device id")
        except BadInputError as exc:
            return _error(400, str(exc))
        return await _read(lambda: views.certificates(pool, kind, value))

    async def matching(request: Request) -> Response:
        return await member_view(request, views.matching)

    async def read_key(request: Request) -> Response:
        """The chain id and the dashboard's read key, which a member's page grants reads to."""
        return await _read(lambda: {"chain_id": pool.chain_id(), "read_key": pool.read_public_key().hex()})

    async def bundle(request: Request) -> Response:
        try:
            bundle_id = inputs.number(request.path_params["bundle_id"], "bundle id", minimum=1)
        except BadInputError as exc:
            return _error(400, str(exc))
        return await _read(lambda: views.bundle_lineage(pool, bundle_id))

    async def grid(request: Request) -> Response:
        return await _read(lambda: views.grid(pool))

    async def command(request: Request) -> Response:
        form = {k: v for k, v in request.query_params.items() if len(v) <= 200}
        if len(form) != len(request.query_params):
            return _error(400, "a value is too long")
        try:
            argv = actions.command(form.pop("action", None), form)
        except BadInputError as exc:
            return _error(400, str(exc))
        return JSONResponse({"argv": argv, "command": actions.shell(argv)})

    async def broadcast(request: Request) -> Response:
        body = await request.body()
        if len(body) > 2 * relay.MAX_TX_BYTES:
            return _error(413, "the signed transaction is too large")
        try:
            tx = json.loads(body)["tx"]
            if not isinstance(tx, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(400, 'send {"tx": "<signed transaction, base64>"}')
        return await _read(lambda: relay.relay(pool, tx))

    async def sign_contract(request: Request) -> Response:
        return JSONResponse(actions.sign_contract())

    async def audit_contract(request: Request) -> Response:
        return JSONResponse(views.audit_contract())

    async def events(request: Request) -> Response:
        owner = request.query_params.get("owner", "")
        try:
            if owner:
                owner = inputs.hex_bytes(owner, "owner", size=20).hex()
            limit = inputs.number(request.query_params.get("limit"), "limit", default=0)
        except BadInputError as exc:
            return _error(400, str(exc))
        sub = feed.subscribe(SignalFilter(owner=owner)) if feed is not None else None
        if feed is not None and sub is None:
            return _error(503, "too many live streams; try again later")

        async def stream() -> AsyncIterator[str]:
            sent = 0
            try:
                yield "retry: 2000\n\n"
                while not limit or sent < limit:
                    if sub is None:
                        await asyncio.sleep(KEEPALIVE_SECONDS)
                        yield ": keepalive\n\n"
                        continue
                    try:
                        message = await asyncio.wait_for(sub.queue.get(), timeout=KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    yield f"event: {message['type']}\ndata: {json.dumps(message, sort_keys=True)}\n\n"
                    sent += 1
            finally:
                if feed is not None and sub is not None:
                    feed.unsubscribe(sub)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if feed is not None:
            feed.start()
        try:
            yield
        finally:
            if feed is not None:
                await feed.stop()

    routes = [
        Route("/", index),
        Route("/vendor/chart.js", chart_js),
        Route("/api/network", network),
        Route("/api/home", home),
        Route("/api/market", market),
        Route("/api/certificates", certificates),
        Route("/api/bundle/{bundle_id}", bundle),
        Route("/api/matching", matching),
        Route("/vendor/chartjs-chart-matrix.js", chart_matrix),
        Route("/api/grid", grid),
        Route("/api/audit-contract", audit_contract),
        Route("/api/command", command),
        Route("/api/broadcast", broadcast, methods=["POST"]),
        Route("/api/sign-contract", sign_contract),
        Route("/api/read-key", read_key),
        Route("/api/events", events),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Mount("/vendor/noble-ed25519", StaticFiles(directory=NOBLE / "ed25519", check_dir=False), name="ed25519"),
        Mount("/vendor/noble-hashes", StaticFiles(directory=NOBLE / "hashes", check_dir=False), name="hashes"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Headers)], lifespan=lifespan)
