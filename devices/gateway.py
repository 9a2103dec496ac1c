"""The device gateway: reads devices, signs readings, keeps them in the outbox, submits batches.

    python -m devices.gateway --config home.toml

Per interval (simulated seconds) each device's registers are read through its adapter, turned
into the next reading (seq = last + 1, interval from the last reading's end), signed with the
device's key and stored in the outbox before anything is sent. Pending readings go to the
`ReadingSink` in batches; an outage (`SinkUnavailableError`) is retried with exponential backoff
and the readings stay pending, so a restart or an outage loses nothing, and a resend is answered
"duplicate" and counted as committed.

With `claim_certificates = true` each finished EV session's certificate claim is kept in the same
outbox file and retried by a second loop until the ledger's answer is final
(devices/session_claims.py), so a claim is not lost to an outage or to certificates not issued yet.
The EV chargers' open OCPP transactions are kept in that file too (devices/ocpp_central.py): a
session that was charging when the gateway stopped is finished by the charger's StopTransaction
after the restart, with its whole energy, and its claim is stored with the transaction's closing.

Price signals, alerts and demand-response events reach the home's controller from the OpenADR VEN
(`vtn_url`), from the bridge's Signals stream for the home's owner and feeder
(devices/bridge_signals.py: resumed after a break, and after a restart from the height kept in
the outbox file), or from both (`signals = "openadr" | "bridge" | "both"`); a signal arriving from
both is applied once (`pump_signals` with one `SeenSignals`). The grid's instructions for the
home's `site` come from the bridge's stream and are applied to the devices through their own
protocols (devices/controllers.py `LimitEnforcer`, devices/actuators.py): the inverter's output
limit over SunSpec Modbus, the battery's storage controls, the EV charger's OCPP charging profile.

With `forecast_intervals = N` the gateway also posts its devices' forecasts (devices with
`forecast = "pv" | "load"`, devices/forecaster.py) for the next N intervals still open, at
start and after every interval's readings: one PostForecast tx through the same sink, signed
with the same key and nonce sequence as the readings (so they never race). A failed post is
logged and tried again at the next interval; the ledger keeps the latest post of each interval.
In a demonstration's `real_time_ledger` simulation the forecasts are of the simulated day,
divided by the same energy divisor as the readings (the ledger's units).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from gridwire.reading import Reading
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt, wait_exponential

from devices.bridge_link import bridge_channel_credentials, bridge_signal_source, pump_signals
from devices.config import ConfigError, GatewayConfig, load_config
from devices.controllers import HomeController
from devices.forecaster import ForecastPoster, ForecastSink, forecasters_for
from devices.keys import DeviceKey, load_or_create_key
from devices.outbox import Outbox
from devices.readers import RegisterReader
from devices.session_claims import RetryPolicy, SessionClaims, SessionHook, ledger_claimer
from devices.sim.clock import Clock
from devices.sink import MemorySink, Outcome, ReadingSink, SinkUnavailableError

if TYPE_CHECKING:
    from devices.home import Home

__all__ = [
    "FlushReport",
    "Gateway",
    "bridge_channel_credentials",
    "bridge_signal_source",
    "main",
    "pump_signals",
    "session_claimer",
]

log = logging.getLogger(__name__)

COMMIT_SLACK_S = 5  # a forecasts tx commits within this: its first interval stays open until then


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What one flush did."""

    committed: int
    rejected: int
    pending: int
    unavailable: bool


class Gateway:
    """One home's gateway: devices (readers and keys), an outbox, a sink and its controllers."""

    def __init__(
        self,
        chain_id: str,
        outbox: Outbox,
        sink: ReadingSink,
        readers: Mapping[str, RegisterReader],
        keys: Mapping[str, DeviceKey],
        *,
        interval_seconds: int = 900,
        batch_size: int = 200,
        retries: int = 3,
        backoff_max_s: float = 30.0,
        forecasts: ForecastPoster | None = None,
    ) -> None:
        missing = sorted(set(readers) - set(keys))
        if missing:
            raise ValueError(f"no key for devices {missing}")
        self.chain_id = chain_id
        self.outbox = outbox
        self.sink = sink
        self.readers = dict(readers)
        self.keys = dict(keys)
        self.interval = interval_seconds
        self.batch_size = batch_size
        self._retries = retries
        self._backoff_max = backoff_max_s
        self.forecasts = forecasts
        self.forecast_heights: list[int] = []  # the heights the forecasts committed in, in order

    async def collect(self, end: int) -> int:
        """Read every device and store one signed reading per device ending at `end`; returns how many.

        A device that cannot be read, or whose last reading already ends at or after `end`, is
        skipped this time (its next reading covers the gap).
        """
        stored = 0
        for device_id in sorted(self.readers):
            last = self.outbox.last(device_id)
            start = end - self.interval if last is None else last.reading.end
            if start >= end:
                continue
            try:
                regs = await self.readers[device_id].read_registers()
            except Exception:  # a device that cannot be read now is read again next interval
                log.exception("reading %s failed", device_id)
                continue
            if last is not None:
                old = last.reading
                if (regs.import_wh, regs.export_wh, regs.charged_wh, regs.discharged_wh) < (0, 0, 0, 0) or any(
                    new < prev
                    for new, prev in (
                        (regs.import_wh, old.import_wh),
                        (regs.export_wh, old.export_wh),
                        (regs.charged_wh, old.charged_wh),
                        (regs.discharged_wh, old.discharged_wh),
                    )
                ):
                    log.error("%s registers went backwards; reading withheld", device_id)
                    continue
            reading = Reading(
                device_id=device_id,
                seq=1 if last is None else last.reading.seq + 1,
                start=start,
                end=end,
                import_wh=regs.import_wh,
                export_wh=regs.export_wh,
                charged_wh=regs.charged_wh,
                discharged_wh=regs.discharged_wh,
                soc_wh=regs.soc_wh,
            )
            self.outbox.put(self.keys[device_id].sign(self.chain_id, reading))
            stored += 1
        return stored

    async def _submit_once(self) -> tuple[int, int, bool]:
        batch = self.outbox.pending(self.batch_size)
        if not batch:
            return 0, 0, False
        results = await self.sink.submit(batch)
        committed = rejected = 0
        for res in results:
            if res.outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE):
                self.outbox.mark_committed(res.device_id, res.seq, res.height)
                committed += 1
            else:
                self.outbox.mark_rejected(res.device_id, res.seq, res.code, res.reason)
                log.warning("%s seq %d rejected: %d %s", res.device_id, res.seq, res.code, res.reason)
                rejected += 1
        return committed, rejected, True

    async def flush(self) -> FlushReport:
        """Submit pending readings batch by batch until none are left or the sink stays unavailable."""
        committed = rejected = 0
        unavailable = False
        while True:
            try:
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type(SinkUnavailableError),
                    wait=wait_exponential(multiplier=0.2, max=self._backoff_max),
                    stop=stop_after_attempt(self._retries),
                ):
                    with attempt:
                        c, r, sent = await self._submit_once()
            except RetryError:
                unavailable = True
                break
            committed += c
            rejected += r
            if not sent:
                break
        return FlushReport(committed, rejected, self.outbox.counts().pending, unavailable)

    async def post_forecasts(self, now: float) -> int | None:
        """Post the forecasts as of `now` (when configured); the height, or None when there are
        none or the sink refused or was unavailable (logged: the next interval posts again)."""
        if self.forecasts is None:
            return None
        try:
            height = await self.forecasts.post(int(now))
        except SinkUnavailableError as exc:
            log.warning("forecasts not posted: %s", exc)
            return None
        self.forecast_heights.append(height)
        log.info("forecasts of %d devices posted at height %d", len(self.forecasts.forecasters), height)
        return height

    async def run(
        self, clock: Clock, speed: float, stop: asyncio.Event, controller: HomeController | None = None
    ) -> None:
        """Collect at every interval boundary of `clock` and flush after each, then post the
        forecasts (when configured, also once at the start), until `stop` is set."""
        await self.post_forecasts(clock.now())
        while not stop.is_set():
            now = clock.now()
            boundary = (int(now) // self.interval + 1) * self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, (boundary - now) / speed))
            if stop.is_set():
                break
            if controller is not None:
                controller.apply(clock.now())
            await self.collect(boundary)
            report = await self.flush()
            log.info("interval %d: %s", boundary, report)
            await self.post_forecasts(clock.now())


def build_sink(cfg: GatewayConfig) -> ReadingSink:
    """The configured sink: the in-memory stand-in, or the bridge's GatewayApi (`sink = "grpc"`)
    signing each batch's tx with the gateway member's key from `gateway_key`."""
    if cfg.sink == "memory":
        return MemorySink(chain_id=cfg.chain_id)
    from devices.sink_grpc import GrpcSink  # noqa: PLC0415 - only the real sink needs grpc

    assert cfg.gateway_key is not None  # checked by GatewayConfig
    key = DeviceKey.load(cfg.gateway_key).private
    return GrpcSink(cfg.bridge, cfg.chain_id, key, credentials=bridge_channel_credentials(cfg, key))


def session_claimer(
    cfg: GatewayConfig,
    outbox: Outbox,
    *,
    policy: RetryPolicy | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[SessionClaims, SessionHook]:
    """For `claim_certificates = true`: the durable session claims (in `outbox`) and the central
    system's hook that makes each finished session of a configured OCPP device a claim of the
    owner's certificates of its hours (`hook.claim`, stored with the transaction's closing; the
    hook itself stores a session's claim and wakes the loop). `SessionClaims.run` then claims them
    (`clients.session_claim.claim_session`, signed with `owner_key`, through `node_rpc`), retrying
    until the ledger's answer is final; see devices/session_claims.py."""
    from clients.client import GridClient  # noqa: PLC0415 - only claiming gateways talk to a node
    from clients.rpc import CometRPC  # noqa: PLC0415

    assert cfg.owner_key is not None  # checked by GatewayConfig
    client = GridClient(CometRPC(cfg.node_rpc), cfg.chain_id, DeviceKey.load(cfg.owner_key).private)
    claims = SessionClaims(outbox, ledger_claimer(client), policy, clock=clock)
    devices = {d.charge_point_id: d.id for d in cfg.devices if d.adapter == "ocpp"}
    return claims, claims.hook(devices, client.address)


def forecast_poster(cfg: GatewayConfig, sink: object, home: Home) -> ForecastPoster | None:
    """For `forecast_intervals` > 0: the poster of the configured devices' forecasts through
    `sink` (its `post_forecasts`), for the ledger's intervals of `interval_seconds`, in the
    ledger's units (scaled to the home's simulated day when it runs faster than the ledger)."""
    if not cfg.forecast_intervals:
        return None
    if not callable(getattr(sink, "post_forecasts", None)):
        raise ConfigError(f"sink {cfg.sink!r} cannot post forecasts")
    forecasters = forecasters_for(cfg.devices, to_sim=home.to_sim, speed=home.energy_divisor)
    return ForecastPoster(
        cast("ForecastSink", sink),
        forecasters,
        length=cfg.interval_seconds,
        count=cfg.forecast_intervals,
        lock=cfg.forecast_lock_seconds + COMMIT_SLACK_S,
    )


async def run_gateway(cfg: GatewayConfig, stop: asyncio.Event) -> None:
    """Run the gateway described by `cfg` (and its simulated home when configured) until `stop`."""
    from devices.home import start_home  # noqa: PLC0415 - pulls in every adapter and simulator

    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    keys = {d.id: load_or_create_key(cfg.state_dir / "keys" / f"{d.id}.pem") for d in cfg.devices}
    with Outbox(cfg.state_dir / "outbox.sqlite") as outbox:
        claims: asyncio.Task[None] | None = None
        async with start_home(cfg, outbox) as home:  # the chargers' open transactions live in the outbox too
            if cfg.claim_certificates:
                runner, hook = session_claimer(cfg, outbox)
                if home.central is not None:
                    home.central.claim_of = hook.claim  # stored with the closing of its transaction
                    home.central.on_session = hook
                claims = asyncio.create_task(runner.run(stop))  # also resumes claims left pending
            sink = build_sink(cfg)
            gateway = Gateway(
                cfg.chain_id,
                outbox,
                sink,
                home.readers,
                keys,
                interval_seconds=cfg.interval_seconds,
                batch_size=cfg.batch_size,
                forecasts=forecast_poster(cfg, sink, home),
            )
            try:
                await gateway.run(home.clock, home.speed, stop, home.controller)
            finally:
                if claims is not None:
                    if not stop.is_set():  # the gateway failed: stop claiming too (a claim cut
                        claims.cancel()  # short stays pending and is resent next time)
                    with contextlib.suppress(asyncio.CancelledError):
                        await claims


def main(argv: list[str] | None = None) -> None:
    """Entry point: `python -m devices.gateway --config FILE`."""
    parser = argparse.ArgumentParser(prog="python -m devices.gateway")
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the one line a wrong configuration gets
        raise SystemExit(2) from None

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_gateway(cfg, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
