"""The grid operator's OpenADR 2.0b VTN (openleadr), run beside the bridge.

It registers any VEN (its ven_id is `ven-<name>`), takes demand-response events from an async
source (later: the ledger's grid-operator event stream) and delivers each one to every
registered VEN, including VENs that register after the event was published but before it ends.

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

from openleadr import OpenADRServer  # type: ignore[import-untyped]

__all__ = ["DrEventSpec", "EventSource", "Vtn", "main"]

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


def main(argv: list[str] | None = None) -> None:
    """Run the VTN until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m devices.vtn")
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument("--events", type=Path, required=True, help="TOML file with [[event]] tables")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    logging.basicConfig(level=logging.INFO)

    async def run() -> None:
        vtn = Vtn(host, int(port), events_from_toml(args.events))
        await vtn.start()
        try:
            await asyncio.Future()
        finally:
            await vtn.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
