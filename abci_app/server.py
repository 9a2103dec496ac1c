"""asyncio ABCI socket server: CometBFT opens four connections (consensus, mempool, query,
snapshot); each gets its responses in request order. Requests on all connections are
handled one at a time on the event loop, so the app never sees two at once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import structlog
from google.protobuf.message import DecodeError
from gridwire.contract.governance import EXIT_UPGRADE_NEEDED

from abci_app.app import GridLedgerApp, RequestRefusedError
from abci_app.errors import CODESPACE, Code
from abci_app.framing import FrameError, encode_uvarint, split_frames
from abci_app.governance.records import UpgradePlan
from abci_app.pb import abci
from abci_app.upgrades.runner import RefusedState, UpgradeNeeded, write_upgrade_info

__all__ = ["AbciProtocol", "serve"]

log = structlog.get_logger("gridledger.server")


def _dispatch_table(app: GridLedgerApp) -> dict[str, Callable[[Any], Any]]:
    return {
        "info": app.info,
        "init_chain": app.init_chain,
        "query": app.query,
        "check_tx": app.check_tx,
        "commit": app.commit,
        "list_snapshots": app.list_snapshots,
        "offer_snapshot": app.offer_snapshot,
        "load_snapshot_chunk": app.load_snapshot_chunk,
        "apply_snapshot_chunk": app.apply_snapshot_chunk,
        "prepare_proposal": app.prepare_proposal,
        "process_proposal": app.process_proposal,
        "extend_vote": app.extend_vote,
        "verify_vote_extension": app.verify_vote_extension,
        "finalize_block": app.finalize_block,
    }


# `Response` oneof field name → its field's tag (field number, wire type 2), as encoded.
_RESPONSE_TAGS = {f.name: encode_uvarint(f.number << 3 | 2) for f in abci.Response.DESCRIPTOR.fields}

# Requests whose failure means this node can no longer follow the chain: the process exits
# (non-zero) so the supervisor restarts it and CometBFT replays from the last commit.
_FATAL = {"init_chain", "finalize_block", "commit"}


class AbciProtocol(asyncio.Protocol):
    def __init__(self, app: GridLedgerApp, dispatch: dict[str, Callable[[Any], Any]]) -> None:
        self._app = app
        self._dispatch = dispatch
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._peer = str(transport.get_extra_info("peername"))
        log.debug("abci_connection_open", peer=self._peer)

    def connection_lost(self, exc: Exception | None) -> None:
        log.debug("abci_connection_closed", peer=self._peer, error=str(exc) if exc else None)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        try:
            frames = split_frames(self._buf)
        except FrameError as exc:
            self._drop(f"bad framing: {exc}")
            return
        if not frames:
            return
        out = bytearray()
        for frame in frames:
            try:
                req = abci.Request.FromString(frame)
            except DecodeError as exc:
                self._drop(f"undecodable request: {exc}")
                return
            resp = self._handle(req)
            if resp is None:
                return
            payload = resp if isinstance(resp, bytes) else resp.SerializeToString()
            out += encode_uvarint(len(payload))
            out += payload
        assert self._transport is not None
        self._transport.write(bytes(out))

    def _handle(self, req: abci.Request) -> abci.Response | bytes | None:
        kind = req.WhichOneof("value")
        if kind == "echo":
            return abci.Response(echo=abci.ResponseEcho(message=req.echo.message))
        if kind == "flush":
            return abci.Response(flush=abci.ResponseFlush())
        handler = self._dispatch.get(kind or "")
        if handler is None:
            return abci.Response(exception=abci.ResponseException(error=f"unknown request {kind!r}"))
        try:
            result = handler(getattr(req, kind))
        except RequestRefusedError as exc:
            log.error("request_refused", request=kind, reason=str(exc))
            return abci.Response(exception=abci.ResponseException(error=f"{kind} refused: {exc}"))
        except UpgradeNeeded as exc:
            self._stop_for_upgrade(exc)
        except RefusedState as exc:
            self._stop_refused(exc)
        except Exception as exc:
            log.exception("abci_request_failed", request=kind)
            if kind in _FATAL:
                # Never answer a consensus request wrongly: stop, and recover by replay.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(70)
            # An exception response makes CometBFT drop the connection; for mempool and
            # query requests a typed error is the right answer instead.
            if kind == "check_tx":
                return abci.Response(
                    check_tx=abci.ResponseCheckTx(code=Code.INTERNAL, log=str(exc), codespace=CODESPACE)
                )
            if kind == "query":
                return abci.Response(query=abci.ResponseQuery(code=Code.INTERNAL, log=str(exc), codespace=CODESPACE))
            return abci.Response(exception=abci.ResponseException(error=f"{kind}: {exc}"))
        # The serialised `Response{<kind>: result}`, without copying `result` into a wrapper
        # message first (a FinalizeBlock response holds every tx result and event).
        body: bytes = result.SerializeToString()
        return _RESPONSE_TAGS[kind] + encode_uvarint(len(body)) + body

    def _stop_for_upgrade(self, exc: UpgradeNeeded) -> NoReturn:
        """Stop before executing the upgrade's height, unanswered: nothing of it was staged, so
        nothing of it is committed; CometBFT keeps the decided block and replays it to the new
        version (abci_app/upgrades/runner.py)."""
        log.error(str(exc), upgrade=exc.plan.name, height=exc.plan.height, info=exc.plan.info)
        self._exit_for(exc.plan, EXIT_UPGRADE_NEEDED)

    def _stop_refused(self, exc: RefusedState) -> NoReturn:
        """Stop, unanswered, rather than install a restored state this version must not run on
        (nothing was written): with the code it would exit with at start, so the supervisor
        starts the right version, which restores again."""
        r = exc.refusal
        log.error(r.reason, upgrade=r.plan.name, height=r.plan.height, exit_code=r.exit_code, during="state_sync")
        self._exit_for(r.plan, r.exit_code)

    def _exit_for(self, plan: UpgradePlan, code: int) -> NoReturn:
        """Tell the supervisor which upgrade is due (when one is) and exit with `code`."""
        if code == EXIT_UPGRADE_NEEDED and self._app.upgrade_info_path is not None:
            try:
                write_upgrade_info(self._app.upgrade_info_path, plan)
            except OSError as err:
                log.error("upgrade_info_not_written", path=str(self._app.upgrade_info_path), error=str(err))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def _drop(self, reason: str) -> None:
        log.error("abci_connection_dropped", peer=self._peer, reason=reason)
        self._buf.clear()
        if self._transport is not None:
            self._transport.close()


async def serve(app: GridLedgerApp, address: str, ready: asyncio.Event | None = None) -> None:
    """Serve ABCI on `address` (tcp://host:port or unix:///path) until cancelled."""
    dispatch = _dispatch_table(app)
    loop = asyncio.get_running_loop()

    def factory() -> AbciProtocol:
        return AbciProtocol(app, dispatch)

    if address.startswith("unix://"):
        server = await loop.create_unix_server(factory, address[len("unix://") :])
    else:
        hostport = address.removeprefix("tcp://")
        host, _, port = hostport.rpartition(":")
        server = await loop.create_server(factory, host or "127.0.0.1", int(port), reuse_address=True)
    log.info("abci_listening", address=address)
    if ready is not None:
        ready.set()
    async with server:
        await server.serve_forever()
