"""OpenADR 2.0b VEN (the gateway's demand-response client) on `openleadr`, as a `SignalSource`.

The VEN registers with the VTN, polls it, opts in to every event and turns each event signal
into a `DrEvent` (SIMPLE level signals) or `PriceSignal`s (ELECTRICITY_PRICE, price per kWh in
minor units as the payload).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from openleadr import OpenADRClient  # type: ignore[import-untyped]

from devices.signals import DrEvent, PriceSignal, Signal

__all__ = ["OpenAdrVen", "signals_from_event"]


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def signals_from_event(event: dict[str, Any]) -> list[Signal]:
    """The gateway's signals for one openleadr event dict (unknown signal names are ignored)."""
    descriptor = event["event_descriptor"]
    event_id = str(descriptor["event_id"])
    cancelled = descriptor.get("event_status") == "cancelled"
    out: list[Signal] = []
    for sig in event["event_signals"]:
        name = str(sig["signal_name"]).lower()
        for interval in sig["intervals"]:
            start = _ts(interval["dtstart"])
            duration: timedelta = interval["duration"]
            end = start + int(duration.total_seconds())
            payload = interval["signal_payload"]
            if name == "simple":
                out.append(DrEvent(event_id, start, end, int(payload), cancelled))
            elif name == "electricity_price":
                out.append(PriceSignal(start, end, int(payload)))
    return out


class OpenAdrVen:
    """An openleadr VEN for one home; iterate `signals()` to receive its events."""

    def __init__(self, ven_name: str, vtn_url: str) -> None:
        self._client = OpenADRClient(ven_name=ven_name, vtn_url=vtn_url, show_fingerprint=False)
        self._client.add_handler("on_event", self._on_event)
        self._client.add_handler("on_update_event", self._on_event)
        self._queue: asyncio.Queue[Signal | None] = asyncio.Queue()
        self.ven_id: str | None = None

    async def _on_event(self, event: dict[str, Any]) -> str:
        for signal in signals_from_event(event):
            self._queue.put_nowait(signal)
        return "optIn"

    async def start(self) -> None:
        """Register with the VTN and start polling (raises RuntimeError when registration fails)."""
        await self._client.run()
        if not self._client.registration_id:
            raise RuntimeError("VTN did not register this VEN")
        self.ven_id = self._client.ven_id

    async def stop(self) -> None:
        """Stop polling and end `signals()`."""
        await self._client.stop()
        self._queue.put_nowait(None)

    async def signals(self) -> AsyncIterator[Signal]:
        """Signals from the VTN's events, in arrival order."""
        while (item := await self._queue.get()) is not None:
            yield item
