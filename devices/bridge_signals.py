"""The gateway's signals from the ledger itself: the bridge's `GatewayApi.Signals` stream.

`follow_signals` follows the stream for an owner and/or a feeder for as long as it runs: when
the stream breaks or ends it reconnects after an exponential backoff (0.5 s doubling to 30 s,
reset by any answer) and asks again from the height after the last response it handed on (the
bridge replays from there). It is a plain loop, not tenacity: the responses are yielded from
inside the stream, and a retry wrapper around a generator's body would swallow its closing. The
grid operator's VTN (devices/vtn.py) and the home gateway (`BridgeSignals`) both use it.

`BridgeSignals` is the home gateway's `SignalSource` on it (`signals = "bridge"` or `"both"` in
the config, for the home's `owner` and `feeder`). It turns the ledger's events into the
controller's signals (`signal_of`): a cleared interval's pool price becomes a `PriceSignal` over
the interval, a `dr_event` a `DrEvent` at level 2 over its window, an `alert` for the owner an
`Alert` (its reason is the code), a `grid_instruction` an `Instruction` (the site's export and
import caps in W, "unlimited" becoming None, over [interval, interval_end)); tariffs, grid fees
and settled DR events are not passed on. An instruction with a hostile value (a negative,
non-decimal or absurd cap, an empty interval, an unknown reason, no site) is dropped with a
warning, never raised. The stream brings every instruction of the home's feeder and of its
owner (the bridge's owner-or-feeder routing); only those of the home's `site` are handed on (with
no `site` configured: those of sites the home's `owner` owns).
After the signals of a response are handed on, its height and the signals still in force are
stored in the gateway's outbox file in one transaction, so a restarted gateway first hands its
controller what is still in force, then resumes the stream after the stored height: no signal
is missed and none is read twice (a crash between handing a response's signals on and storing
it hands them on once more, to a controller that has lost them with the crash).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable

import grpc
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc

from devices.controllers import BUDGET_SPENT, DAY
from devices.outbox import Outbox
from devices.signals import Alert, DrEvent, Instruction, PriceSignal, Signal

__all__ = ["DR_LEVEL", "MAX_CAP_W", "BridgeSignals", "follow_signals", "signal_of"]

log = logging.getLogger(__name__)

DR_LEVEL = 2  # the OpenADR SIMPLE level (moderate) a ledger demand-response event is applied at
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 30.0
MAX_CAP_W = 10**12  # an instruction's cap above this (a terawatt at a household connection) is not believed
_DIGITS = re.compile(r"[0-9]{1,13}")


def _channel(target: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(target) if credentials is None else grpc.aio.secure_channel(target, credentials)


async def follow_signals(
    target: str,
    *,
    owner: str = "",
    feeder: str = "",
    from_height: int = 0,
    credentials: grpc.ChannelCredentials | None = None,
    first_s: float | None = None,
    max_s: float | None = None,
) -> AsyncIterator[gateway_pb2.SignalsResponse]:
    """Every response of the bridge's Signals stream for `owner`/`feeder` from `from_height` (0:
    live only), across broken and ended streams (see the module docstring). A resumption the
    bridge refuses as too far back (OUT_OF_RANGE) continues live, with an error logged."""
    first = RECONNECT_FIRST_S if first_s is None else first_s
    most = RECONNECT_MAX_S if max_s is None else max_s
    next_height = from_height
    failures = 0
    while True:
        try:
            async with _channel(target, credentials) as channel:
                stub = gateway_pb2_grpc.GatewayApiStub(channel)  # type: ignore[no-untyped-call]
                request = gateway_pb2.SignalsRequest(owner=owner, feeder=feeder, from_height=next_height)
                async for response in stub.Signals(request):
                    failures = 0
                    yield response
                    next_height = response.height + 1
            log.warning("the bridge at %s ended the signals stream; following it again", target)
        except grpc.aio.AioRpcError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # our own cancellation, reported as CANCELLED:
                raise asyncio.CancelledError from exc  # stop, do not follow the stream again
            if exc.code() == grpc.StatusCode.OUT_OF_RANGE and next_height > 0:
                details = exc.details()
                log.error("%s cannot replay from height %d (%s); following it live", target, next_height, details)
                next_height = 0
            else:
                log.warning("signals stream from %s broke (%s); resuming at height %d", target, exc.code(), next_height)
        failures += 1
        await asyncio.sleep(min(most, first * 2 ** min(failures - 1, 10)))


def signal_of(signal: gateway_pb2.Signal, interval_seconds: int) -> Signal | None:
    """The controller's signal for a ledger signal (see the module docstring); None for the rest."""
    a = {x.key: x.value for x in signal.attributes}
    try:
        if signal.type == "interval_cleared":
            interval, price = int(a["interval"]), int(a.get("pool_price", "0"))
            return PriceSignal(interval, interval + interval_seconds, price) if price > 0 else None
        if signal.type == "dr_event":
            start, end = int(a["start"]), int(a["end"])
            return DrEvent(a["event_id"], start, end, DR_LEVEL) if end > start else None
        if signal.type == "alert":
            interval, best = int(a["interval"]), int(a.get("best_price", "0"))
            code = a["reason"]
            text = f"rule {a.get('rule_id', '?')}: {code} for the interval at {interval}"
            return Alert(code, text, best or None, interval, a.get("alert_id", ""))
        if signal.type == "grid_instruction":
            return _instruction(a)
    except (KeyError, ValueError):
        log.warning("ignoring a malformed %s signal: %s", signal.type, a)
    return None


def _cap(text: str) -> int | None:
    """A cap attribute: "unlimited" → None, else decimal W in [0, MAX_CAP_W] (ValueError otherwise)."""
    if text == "unlimited":
        return None
    if not _DIGITS.fullmatch(text) or int(text) > MAX_CAP_W:
        raise ValueError(f"bad cap {text!r}")
    return int(text)


def _instruction(a: dict[str, str]) -> Instruction:
    for name in ("interval", "interval_end"):
        if not _DIGITS.fullmatch(a[name]):
            raise ValueError(f"bad {name} {a[name]!r}")
    if not a["site"]:
        raise ValueError("no site")
    return Instruction(
        int(a["interval"]),
        int(a["interval_end"]),
        a["site"],
        _cap(a["export_cap_w"]),
        _cap(a["import_cap_w"]),
        a["reason"],
    )


def _until(signal: Signal, interval_seconds: int) -> int:
    """Until when a signal matters to a restarted controller."""
    if isinstance(signal, (PriceSignal, DrEvent)):
        return signal.end
    if isinstance(signal, Instruction):
        return signal.interval_end
    interval = signal.interval or 0
    return (interval // DAY + 1) * DAY if signal.code == BUDGET_SPENT else interval + interval_seconds


def _encode(signal: Signal) -> str:
    return json.dumps({"type": type(signal).__name__, **dataclasses.asdict(signal)}, sort_keys=True)


_TYPES: dict[str, type[PriceSignal] | type[DrEvent] | type[Alert] | type[Instruction]] = {
    t.__name__: t for t in (PriceSignal, DrEvent, Alert, Instruction)
}


def _decode(body: str) -> Signal:
    fields = json.loads(body)
    return _TYPES[fields.pop("type")](**fields)


class BridgeSignals:
    """A `SignalSource` on the bridge's Signals stream for one home, resumed from the outbox file."""

    def __init__(
        self,
        target: str,
        outbox: Outbox,
        *,
        owner: str = "",
        feeder: str = "",
        site: str = "",
        interval_seconds: int = 900,
        credentials: grpc.ChannelCredentials | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not owner and not feeder:
            raise ValueError("the signals stream needs an owner or a feeder")
        self.target = target
        self.outbox = outbox
        self.owner = owner.lower()
        self.feeder = feeder
        self.site = site
        self.interval_seconds = interval_seconds
        self.credentials = credentials
        self.clock = clock
        self.stream = f"{self.owner}/{feeder}"  # the outbox's key of this stream's height and signals

    async def signals(self) -> AsyncIterator[Signal]:
        """The kept signals still in force, then the stream's, for as long as it is followed."""
        for body in self.outbox.kept_signals(self.stream, self.clock()):
            yield _decode(body)
        last = self.outbox.signals_height(self.stream)
        async for response in follow_signals(
            self.target,
            owner=self.owner,
            feeder=self.feeder,
            from_height=0 if last is None else last + 1,
            credentials=self.credentials,
        ):
            mine = [x for x in response.signals if x.type != "grid_instruction" or self._mine(x)]
            got = [s for s in (signal_of(x, self.interval_seconds) for x in mine) if s is not None]
            for signal in got:
                yield signal
            kept = [(_encode(s), _until(s, self.interval_seconds)) for s in got]
            self.outbox.record_signals(self.stream, response.height, kept, self.clock())

    def _mine(self, signal: gateway_pb2.Signal) -> bool:
        """Whether a grid instruction is for this home: its `site`, or with no site configured a
        site its `owner` owns (the stream also brings the feeder's other sites' instructions)."""
        a = {x.key: x.value for x in signal.attributes}
        if self.site:
            return a.get("site") == self.site
        return bool(self.owner) and a.get("owner", "").lower() == self.owner
