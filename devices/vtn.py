"""The grid operator's OpenADR 2.0b VTN (openleadr), run beside the bridge.

It registers any VEN (its ven_id is `ven-<name>`), takes demand-response events from an async
source and delivers each one to every registered VEN, including VENs that register after the
event was published but before it ends. The source is the ledger itself (`events_from_bridge`:
a bridge's `GatewayApi.Signals` stream for one feeder, so every `PublishDrEvent` the grid
operator commits becomes an OpenADR event, and each cleared interval's pool price an
ELECTRICITY_PRICE event), or a TOML file for tests without a ledger.

    python -m devices.vtn --listen 127.0.0.1:8080 --bridge 127.0.0.1:26659 --feeder feeder-north
    python -m devices.vtn --listen 127.0.0.1:8080 --events events.toml
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gridledger.api.v1 import gateway_pb2
from openleadr import OpenADRServer  # type: ignore[import-untyped]

from devices.bridge_signals import DR_LEVEL, RECONNECT_FIRST_S, RECONNECT_MAX_S, follow_signals

__all__ = ["DR_LEVEL", "DrEventSpec", "EventSource", "Vtn", "events_from_bridge", "main", "spec_of_signal"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DrEventSpec:
    """One event to publish: a SIMPLE level (1-3) or an ELECTRICITY_PRICE (minor units/kWh) interval."""

    event_id: str
    start: int
    duration_s: int
    payload: int
    signal: str = "simple"  # or "ELECTRICITY_PRICE"

    @property
    def end(self) -> int:
        """First second after the event."""
        return self.start + self.duration_s


EventSource = Callable[[], AsyncIterator[DrEventSpec]]


@dataclass
class _State:
    vens: dict[str, str] = field(default_factory=dict)  # ven_id -> name
    events: list[DrEventSpec] = field(default_factory=list)
    opts: dict[tuple[str, str], str] = field(default_factory=dict)  # (ven_id, event_id) -> optIn/optOut


class Vtn:
    """An openleadr VTN on host:port that forwards events from `source` to every VEN."""

    def __init__(self, host: str, port: int, source: EventSource, vtn_id: str = "GRIDLEDGER-VTN", poll_s: float = 1.0):
        self._server = OpenADRServer(
            vtn_id=vtn_id, http_host=host, http_port=port, requested_poll_freq=timedelta(seconds=poll_s)
        )
        self._server.add_handler("on_create_party_registration", self._register)
        self._source = source
        self._state = _State()
        self._pump: asyncio.Task[None] | None = None
        self.url = f"http://{host}:{port}/OpenADR2/Simple/2.0b"

    @property
    def opts(self) -> dict[tuple[str, str], str]:
        """Each VEN's answer per event."""
        return dict(self._state.opts)

    @property
    def vens(self) -> dict[str, str]:
        """Registered VENs: ven_id -> name."""
        return dict(self._state.vens)

    async def _register(self, info: dict[str, Any]) -> tuple[str, str]:
        name = str(info["ven_name"])
        ven_id = f"ven-{name}"
        if ven_id not in self._state.vens:
            self._state.vens[ven_id] = name
            now = time.time()
            for spec in self._state.events:
                if spec.end > now:
                    self._deliver(ven_id, spec)
        return ven_id, f"reg-{name}"

    def _deliver(self, ven_id: str, spec: DrEventSpec) -> None:
        def opted(ven_id: str, event_id: str, opt_type: str) -> None:
            self._state.opts[(ven_id, event_id)] = opt_type

        self._server.add_event(
            ven_id=ven_id,
            event_id=spec.event_id,
            signal_name=spec.signal,
            signal_type="level" if spec.signal == "simple" else "price",
            intervals=[
                {
                    "dtstart": datetime.fromtimestamp(spec.start, UTC),
                    "duration": timedelta(seconds=spec.duration_s),
                    "signal_payload": spec.payload,
                }
            ],
            callback=opted,
        )

    def publish(self, spec: DrEventSpec) -> None:
        """Deliver `spec` to every registered VEN and to VENs that register before it ends."""
        self._state.events.append(spec)
        for ven_id in sorted(self._state.vens):
            self._deliver(ven_id, spec)

    async def _run_source(self) -> None:
        async for spec in self._source():
            self.publish(spec)

    async def start(self) -> None:
        """Start the HTTP server and the event pump."""
        await self._server.run()
        self._pump = asyncio.create_task(self._run_source())

    async def stop(self) -> None:
        """Stop the pump and the server."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self._server.stop()


def events_from_toml(path: Path) -> EventSource:
    """A source that publishes each `[[event]]` of a TOML file (event_id, start, duration_s, payload, signal)."""
    specs = [DrEventSpec(**entry) for entry in tomllib.loads(path.read_text())["event"]]

    async def source() -> AsyncIterator[DrEventSpec]:
        for spec in specs:
            yield spec

    return source


def spec_of_signal(signal: gateway_pb2.Signal, interval_seconds: int) -> DrEventSpec | None:
    """The OpenADR event a ledger signal becomes: a demand-response event (`dr_event`) at
    SIMPLE level DR_LEVEL (2) over its window, or a cleared interval's pool price (`interval_cleared`,
    minor units per kWh, when the pool traded) over the interval; None for anything else."""
    attrs = {a.key: a.value for a in signal.attributes}
    try:
        if signal.type == "dr_event":
            start, end = int(attrs["start"]), int(attrs["end"])
            return DrEventSpec(attrs["event_id"], start, end - start, DR_LEVEL) if end > start else None
        if signal.type == "interval_cleared" and int(attrs.get("pool_price", "0")) > 0:
            interval = int(attrs["interval"])
            price = int(attrs["pool_price"])
            return DrEventSpec(f"price-{interval}", interval, interval_seconds, price, "ELECTRICITY_PRICE")
    except (KeyError, ValueError):
        log.warning("ignoring a malformed %s signal: %s", signal.type, attrs)
    return None


def events_from_bridge(target: str, feeder: str, *, interval_seconds: int = 900, from_height: int = 0) -> EventSource:
    """A source that follows a bridge's Signals stream for `feeder` (demand-response events and
    prices) for as long as it runs. When the stream breaks or ends it reconnects after an
    exponential backoff (RECONNECT_FIRST_S doubling to RECONNECT_MAX_S, reset by any answer) and
    resumes after the last height it read (the bridge replays from there), so no event is missed
    or repeated across a bridge restart (devices.bridge_signals.follow_signals)."""

    async def source() -> AsyncIterator[DrEventSpec]:
        async for response in follow_signals(
            target, feeder=feeder, from_height=from_height, first_s=RECONNECT_FIRST_S, max_s=RECONNECT_MAX_S
        ):
            for signal in response.signals:
                spec = spec_of_signal(signal, interval_seconds)
                if spec is not None:
                    yield spec

    return source


def main(argv: list[str] | None = None) -> None:
    """Run the VTN until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m devices.vtn")
    parser.add_argument("--listen", default="127.0.0.1:8080")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bridge", help="HOST:PORT of a gRPC bridge: publish the ledger's events for --feeder")
    source.add_argument("--events", type=Path, help="TOML file with [[event]] tables")
    parser.add_argument("--feeder", default="", help="with --bridge: the feeder whose events to publish")
    parser.add_argument("--interval-seconds", type=int, default=900, help="the market's delivery interval")
    parser.add_argument("--from-height", type=int, default=0, help="with --bridge: replay from this height")
    args = parser.parse_args(argv)
    if args.bridge and not args.feeder:
        parser.error("--bridge needs --feeder")
    host, _, port = args.listen.rpartition(":")
    logging.basicConfig(level=logging.INFO)
    events = (
        events_from_bridge(
            args.bridge, args.feeder, interval_seconds=args.interval_seconds, from_height=args.from_height
        )
        if args.bridge
        else events_from_toml(args.events)
    )

    async def run() -> None:
        vtn = Vtn(host, int(port), events)
        await vtn.start()
        try:
            await asyncio.Future()
        finally:
            await vtn.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
