"""The asyncio ABCI socket server, spoken to over a raw TCP socket on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from abci_app.app import GridLedgerApp
from abci_app.framing import MAX_FRAME_BYTES, decode_uvarint, encode_uvarint
from abci_app.pb import abci
from abci_app.server import serve
from tests.support.driver import AppDriver

GUARD = 10.0  # seconds: only a guard against a hung test, never an assertion about speed

Scenario = Callable[[int], Awaitable[None]]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(app: GridLedgerApp, scenario: Scenario) -> None:
    """Serve `app` on a free 127.0.0.1 port, run `scenario(port)`, and always stop the server."""

    async def main() -> None:
        port = _free_port()
        ready = asyncio.Event()
        server = asyncio.create_task(serve(app, f"tcp://127.0.0.1:{port}", ready))
        try:
            await asyncio.wait_for(ready.wait(), GUARD)
            await asyncio.wait_for(scenario(port), GUARD)
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server

    asyncio.run(main())


def _frame(req: abci.Request) -> bytes:
    raw = req.SerializeToString()
    return encode_uvarint(len(raw)) + raw


async def _read_response(reader: asyncio.StreamReader) -> abci.Response:
    header = bytearray()
    while True:
        header += await reader.readexactly(1)
        decoded = decode_uvarint(header, 0)
        if decoded is not None:
            break
    length, _ = decoded
    return abci.Response.FromString(await reader.readexactly(length))


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


def _echo(message: str) -> abci.Request:
    return abci.Request(echo=abci.RequestEcho(message=message))


FLUSH = abci.Request(flush=abci.RequestFlush())
INFO = abci.Request(info=abci.RequestInfo(version="0.38.25"))


def _committed_app(driver: AppDriver) -> GridLedgerApp:
    driver.block([])
    return driver.app


def test_echo_flush_info_answered_in_order(driver: AppDriver) -> None:
    """Echo, Flush and Info sent one by one are answered in request order with the right payloads."""
    app = _committed_app(driver)

    async def scenario(port: int) -> None:
        reader, writer = await _connect(port)
        try:
            writer.write(_frame(_echo("hello")))
            writer.write(_frame(FLUSH))
            writer.write(_frame(INFO))
            await writer.drain()
            r1, r2, r3 = [await _read_response(reader) for _ in range(3)]
            assert r1.WhichOneof("value") == "echo"
            assert r1.echo.message == "hello"
            assert r2.WhichOneof("value") == "flush"
            assert r3.WhichOneof("value") == "info"
            assert r3.info.last_block_height == 1
            assert r3.info.last_block_app_hash == app.state.app_hash
            assert r3.info.last_block_app_hash
        finally:
            await _close(writer)

    _run(app, scenario)


def test_many_requests_in_one_write(driver: AppDriver) -> None:
    """Two hundred requests in a single write get two hundred responses, in order."""
    app = _committed_app(driver)

    async def scenario(port: int) -> None:
        reader, writer = await _connect(port)
        try:
            reqs = [_echo(f"m{i}") if i % 3 else INFO for i in range(200)]
            writer.write(b"".join(_frame(r) for r in reqs) + _frame(FLUSH))
            await writer.drain()
            for i in range(200):
                resp = await _read_response(reader)
                if i % 3:
                    assert resp.echo.message == f"m{i}"
                else:
                    assert resp.info.last_block_height == 1
            assert (await _read_response(reader)).WhichOneof("value") == "flush"
        finally:
            await _close(writer)

    _run(app, scenario)


def test_request_split_across_writes(driver: AppDriver) -> None:
    """A request delivered in several small writes (with pauses) is answered once, after its last byte."""
    app = _committed_app(driver)

    async def scenario(port: int) -> None:
        reader, writer = await _connect(port)
        try:
            raw = _frame(_echo("x" * 300)) + _frame(FLUSH)
            for i in range(0, len(raw), 7):
                writer.write(raw[i : i + 7])
                await writer.drain()
                await asyncio.sleep(0)
            first = await _read_response(reader)
            assert first.echo.message == "x" * 300
            assert (await _read_response(reader)).WhichOneof("value") == "flush"
        finally:
            await _close(writer)

    _run(app, scenario)


def _assert_dropped_then_still_serving(app: GridLedgerApp, poison: bytes) -> list[MutableMapping[str, Any]]:
    """Send `poison` on one connection; it must be closed while another connection keeps working."""

    async def scenario(port: int) -> None:
        # A connection opened before the bad one, like CometBFT's other three connections.
        other_reader, other_writer = await _connect(port)
        bad_reader, bad_writer = await _connect(port)
        try:
            bad_writer.write(poison)
            await bad_writer.drain()
            # The server closes the connection without answering: EOF (or a reset, if the
            # kernel still held unread bytes when it closed), never a response.
            try:
                leftover = await bad_reader.read()
            except ConnectionResetError:
                leftover = b""
            assert leftover == b""
            other_writer.write(_frame(INFO))
            await other_writer.drain()
            assert (await _read_response(other_reader)).info.last_block_height == 1
        finally:
            await _close(bad_writer)
            await _close(other_writer)
        # And a brand-new connection is served too: the app did not crash.
        reader, writer = await _connect(port)
        try:
            writer.write(_frame(_echo("still here")))
            await writer.drain()
            assert (await _read_response(reader)).echo.message == "still here"
        finally:
            await _close(writer)

    with structlog.testing.capture_logs() as logs:
        _run(app, scenario)
    return logs


def test_garbage_request_drops_only_that_connection(driver: AppDriver) -> None:
    """A frame that is not a protobuf Request closes that connection, is logged, and the server keeps serving."""
    app = _committed_app(driver)
    garbage = b"garbage!not protobuf"
    logs = _assert_dropped_then_still_serving(app, encode_uvarint(len(garbage)) + garbage)
    dropped = [e for e in logs if e["event"] == "abci_connection_dropped"]
    assert len(dropped) == 1
    assert "undecodable" in str(dropped[0]["reason"])
    assert app.state.height == 1


def test_huge_declared_length_drops_the_connection(driver: AppDriver) -> None:
    """A length prefix above the frame limit closes the connection without buffering, server alive."""
    app = _committed_app(driver)
    logs = _assert_dropped_then_still_serving(app, encode_uvarint(MAX_FRAME_BYTES + 1) + b"\x00" * 16)
    dropped = [e for e in logs if e["event"] == "abci_connection_dropped"]
    assert len(dropped) == 1
    assert "framing" in str(dropped[0]["reason"])


def test_overlong_length_prefix_drops_the_connection(driver: AppDriver) -> None:
    """A length prefix longer than 10 bytes closes the connection, server alive."""
    app = _committed_app(driver)
    logs = _assert_dropped_then_still_serving(app, b"\xff" * 12)
    assert any(e["event"] == "abci_connection_dropped" for e in logs)


def test_consensus_request_is_dispatched_to_the_app(driver: AppDriver) -> None:
    """A CheckTx of garbage over the socket gets a typed CheckTx response with a non-zero code."""
    app = _committed_app(driver)

    async def scenario(port: int) -> None:
        reader, writer = await _connect(port)
        try:
            writer.write(_frame(abci.Request(check_tx=abci.RequestCheckTx(tx=b"\x01\x02\x03", type=abci.NEW))))
            await writer.drain()
            resp = await _read_response(reader)
            assert resp.WhichOneof("value") == "check_tx"
            assert resp.check_tx.code != 0
            assert resp.check_tx.codespace == "gridledger"
        finally:
            await _close(writer)

    _run(app, scenario)
