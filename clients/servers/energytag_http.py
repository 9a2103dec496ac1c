"""A small read-only HTTP endpoint serving a node's certificates in the EnergyTag GC
Registry API's JSON shape (clients/energytag.py maps them), from the node's queries.

GET only; every answer is JSON:

    /certificates/query?source_id=<owner hex>[&certificate_bundle_status=<status>]
                                          GranularCertificateQueryResponse
    /certificates/bundle/<bundle id>      GranularCertificateBundle
    /certificates/device/<device id>      {"filtered_certificate_bundles": [...]}  (the device's export)
    /certificates/cancellation/<retirement id>   GranularCertificateCancellation
    /storage/scr/<id>, /storage/sdr/<id>  StorageChargeRecord, StorageDischargeRecord
    /storage/lineage/<bundle id>          the storage certificate back to its sources:
                                          {"filtered_certificate_bundles", "filtered_sdrs", "filtered_scrs"}
    /spec                                 the statuses and actions served, and the spec they follow

404 for what does not exist, 400 for a malformed argument, 502 when the node's query fails,
405 for any other method. It signs and sends nothing; it serves what any node's RPC serves.
Run: `python -m clients.servers.energytag_http --node http://127.0.0.1:26657 --port 8080`.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from clients.energytag import ACTION_TYPES, CERTIFICATE_STATUSES, QUERY_NOT_FOUND, Reader, Registry

__all__ = ["SPEC_VERSION", "EnergyTagServer", "main", "serve"]

SPEC_VERSION = "Energy Tag API Specification 2.0 (EnergyTag GC Scheme Standard v2)"
_ID = re.compile(r"^[0-9]{1,20}$")
_HEX = re.compile(r"^[0-9a-f]{40}$")
_DEVICE = re.compile(r"^[A-Za-z0-9._:-]{1,255}$")


class _HttpError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _id(text: str) -> int:
    if not _ID.match(text):
        raise _HttpError(400, f"{text[:40]!r} is not a non-negative integer id")
    return int(text)


def _found(value: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if value is None:
        raise _HttpError(404, f"{what} does not exist")
    return value


def _route(registry: Registry, path: str, params: dict[str, list[str]]) -> dict[str, Any]:
    parts = [p for p in path.split("/") if p]
    match parts:
        case ["spec"]:
            return {"spec": SPEC_VERSION, "certificate_statuses": list(CERTIFICATE_STATUSES), "actions": ACTION_TYPES}
        case ["certificates", "query"]:
            owner = params.get("source_id", [""])[0].lower()
            status = params.get("certificate_bundle_status", [None])[0]
            if not _HEX.match(owner):
                raise _HttpError(400, "source_id must be a 20-byte account address in hex")
            if status is not None and status not in CERTIFICATE_STATUSES:
                raise _HttpError(400, f"certificate_bundle_status must be one of {list(CERTIFICATE_STATUSES)}")
            return registry.query(owner, status)
        case ["certificates", "bundle", bundle_id]:
            b = registry.bundle_pb(_id(bundle_id))
            if b is None:
                raise _HttpError(404, f"bundle {bundle_id} does not exist")
            return registry.bundle(b)
        case ["certificates", "device", device_id]:
            if not _DEVICE.match(device_id):
                raise _HttpError(400, "malformed device id")
            return {"filtered_certificate_bundles": [registry.bundle(b) for b in registry.bundles("device", device_id)]}
        case ["certificates", "cancellation", rid]:
            return _found(registry.cancellation(_id(rid)), f"retirement {rid}")
        case ["storage", "scr", scr_id]:
            return _found(registry.scr(_id(scr_id)), f"SCR {scr_id}")
        case ["storage", "sdr", sdr_id]:
            return _found(registry.sdr(_id(sdr_id)), f"SDR {sdr_id}")
        case ["storage", "lineage", bundle_id]:
            if registry.bundle_pb(_id(bundle_id)) is None:
                raise _HttpError(404, f"bundle {bundle_id} does not exist")
            return registry.lineage(int(bundle_id))
    raise _HttpError(404, f"no such path {path[:80]!r}")


def _handler(read: Reader) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            try:
                self._send(200, _route(Registry(read), url.path, parse_qs(url.query)))
            except _HttpError as exc:
                self._send(exc.status, {"detail": exc.detail})
            except (RuntimeError, OSError, ValueError) as exc:  # the node's query failed or answered garbage
                self._send(502, {"detail": f"node query failed: {str(exc)[:200]}"})

        def _refuse(self) -> None:
            self._send(405, {"detail": "read-only: GET only"})

        do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class EnergyTagServer:
    """The endpoint on (host, port); port 0 picks a free one. `start` serves in a thread, `stop` ends it."""

    def __init__(self, read: Reader, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(read))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EnergyTagServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="energytag-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()


def serve(read: Reader, host: str, port: int, ready: Callable[[str], None] = print) -> None:
    """Serve until interrupted."""
    server = EnergyTagServer(read, host, port)
    ready(f"EnergyTag registry API on {server.url}")
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()


def main(argv: list[str] | None = None) -> int:
    from clients.client import GridClient, QueryFailedError  # noqa: PLC0415 - only the command line needs them
    from clients.rpc import CometRPC  # noqa: PLC0415

    parser = argparse.ArgumentParser(description="Serve a node's certificates in the EnergyTag Registry API shape.")
    parser.add_argument("--node", default="http://127.0.0.1:26657", help="the node's CometBFT RPC")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    client = GridClient(CometRPC(args.node), chain_id="")

    def read(path: str) -> bytes:
        try:
            return client.query_raw(path)
        except QueryFailedError as exc:
            if exc.code == QUERY_NOT_FOUND:
                return b""
            raise

    serve(read, args.host, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
