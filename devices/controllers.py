"""Controllers: turn price signals, alerts and DR events into device settings.

Prices and demand-response events are kept as schedules and applied by time (`apply(t)`).
Alerts are logged and kept; two of them also act on the flexible loads:

* `budget_spent` (a standing rule's daily budget is used up): discretionary consumption is held
  (`hold(True)`: the dryer waits, the thermostat stops heating early, the EV charges only what
  its departure needs) until the end of the alert interval's UTC day, when the budget renews;
* `deadline_at_risk` (a deferrable rule may not get its energy before its deadline): each
  deferrable load is told to run now (`run_now()`), whatever the price, at the next `apply`.

The grid's instructions (`Instruction`: a site's export and import caps over a curtailed
interval) are kept by the controller (`caps_at(t)`: the tightest caps in force) and applied to
the devices through their real protocols by a `LimitEnforcer`, which holds every controllable
device (`Actuator`: an inverter over SunSpec Modbus, a battery's SunSpec storage controls, an EV
charger's OCPP charging profile) at its share of the caps (`split_caps`) from the interval's
start, and releases them at its end. A site's caps are shared by this rule:

* export cap C (W at the connection point): the batteries do not discharge (discharge cap 0 W:
  what they hold is worth more after the congestion) and the generators (PV, wind) share C in
  proportion to their rating (model 121 WMax), each share rounded down, so their total output
  never exceeds C; the household's own consumption only lowers the export further;
* import cap I: the batteries do not charge (charge cap 0 W) and the EV chargers share I equally,
  each share rounded down; uncontrolled loads (the house itself) are not limited;
* an unlimited side ("unlimited" in the instruction) limits nothing: its devices stay free.

A restarted gateway gets the instructions still in force back from its outbox file and applies
them again; whatever was last commanded before a restart is unknown, so the first pass sends every
device its current state (limit or release).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from devices.signals import Alert, DrEvent, Instruction, PriceSignal, Signal

__all__ = [
    "BATTERY",
    "BUDGET_SPENT",
    "CHARGER",
    "DEADLINE_AT_RISK",
    "GENERATOR",
    "Actuator",
    "Deferrable",
    "DeviceLimit",
    "Holdable",
    "HomeController",
    "LimitEnforcer",
    "PriceFollower",
    "Sheddable",
    "split_caps",
]

log = logging.getLogger(__name__)

DAY = 86400
BUDGET_SPENT = "budget_spent"
DEADLINE_AT_RISK = "deadline_at_risk"
GENERATOR: Final = "generator"  # an inverter of PV or wind: its output can be capped
BATTERY: Final = "battery"  # its charging and discharging can be capped
CHARGER: Final = "charger"  # an EV charger: its charging can be capped


class PriceFollower(Protocol):
    """A device that decides by the current price (battery rules, thermostat, dryer, EV)."""

    price: int


class Sheddable(Protocol):
    """A device that reacts to demand response: `shed(level)` with 0 meaning no event."""

    def shed(self, level: int) -> None:
        """Apply (level ≥ 1) or lift (0) a demand-response request."""
        ...


class Holdable(Protocol):
    """A flexible load whose discretionary consumption can be held (the owner's budget is spent)."""

    def hold(self, on: bool) -> None:
        """Hold (True) or allow again (False) consumption that is not needed now."""
        ...


class Deferrable(Protocol):
    """A deferrable load that can be told to run now (its deadline is at risk)."""

    def run_now(self) -> None:
        """Run the waiting job as soon as it can, whatever the price."""
        ...


@dataclass
class HomeController:
    """Keeps the price schedule, DR events and alerts, and applies what is in force at a given time."""

    followers: Sequence[PriceFollower]
    sheddables: Sequence[Sheddable]
    prices: list[PriceSignal] = field(default_factory=list)
    events: dict[str, DrEvent] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    holdables: Sequence[Holdable] = ()
    deferrables: Sequence[Deferrable] = ()
    hold_until: int = 0  # budget_spent: discretionary consumption is held before this time
    run_now_pending: bool = False  # deadline_at_risk: deferrable loads run at the next apply
    instructions: dict[tuple[str, int, str], Instruction] = field(default_factory=dict)
    on_instruction: Callable[[], None] | None = None  # told of each new instruction (the enforcer wakes)

    def receive(self, signal: Signal) -> None:
        """Record one signal (a DR event with the same id replaces the earlier one, an instruction
        for the same site, interval and reason too)."""
        if isinstance(signal, PriceSignal):
            self.prices.append(signal)
        elif isinstance(signal, DrEvent):
            self.events[signal.event_id] = signal
        elif isinstance(signal, Instruction):
            self.instructions[(signal.site, signal.interval, signal.reason)] = signal
            log.info(
                "grid instruction for site %s over [%d, %d): export cap %s W, import cap %s W (%s)",
                signal.site, signal.interval, signal.interval_end,
                _text(signal.export_cap_w), _text(signal.import_cap_w), signal.reason,
            )  # fmt: skip
            if self.on_instruction is not None:
                self.on_instruction()
        else:
            self.alerts.append(signal)
            log.warning("alert %s: %s (best price %s)", signal.code, signal.reason, signal.best_price)
            if signal.code == BUDGET_SPENT and signal.interval is not None:
                self.hold_until = max(self.hold_until, (signal.interval // DAY + 1) * DAY)
            elif signal.code == DEADLINE_AT_RISK:
                self.run_now_pending = True

    def price_at(self, t: float) -> int | None:
        """The latest-received price covering `t`; else the price of the latest interval that
        started before `t` (a price signal can arrive after its interval began — OpenADR VENs
        poll — and the last known price is a better guide than none)."""
        for p in reversed(self.prices):
            if p.start <= t < p.end:
                return p.price
        started = [p for p in self.prices if p.start <= t]
        return max(started, key=lambda p: p.start).price if started else None

    def caps_at(self, t: float) -> tuple[int | None, int | None]:
        """(export cap, import cap) in W in force at `t`: the tightest of the instructions in
        force, None for a side none of them limits."""
        active = [i for i in self.instructions.values() if i.active(t)]
        exports = [i.export_cap_w for i in active if i.export_cap_w is not None]
        imports = [i.import_cap_w for i in active if i.import_cap_w is not None]
        return (min(exports) if exports else None, min(imports) if imports else None)

    def forget_instructions(self, t: float) -> None:
        """Drop the instructions that ended at or before `t`."""
        for key in [k for k, i in self.instructions.items() if i.interval_end <= t]:
            del self.instructions[key]

    def next_instruction_change(self, t: float) -> int | None:
        """The first time after `t` when an instruction starts or ends (None: no change ahead)."""
        ahead = [x for i in self.instructions.values() for x in (i.interval, i.interval_end) if x > t]
        return min(ahead) if ahead else None

    def dr_level_at(self, t: float) -> int:
        """The highest level of the DR events in force at `t` (0 if none)."""
        return max((e.level for e in self.events.values() if e.active(t)), default=0)

    def apply(self, t: float) -> None:
        """Push the price, DR level, budget hold and run-now requests in force at `t` to the devices."""
        price = self.price_at(t)
        if price is not None:
            for device in self.followers:
                device.price = price
        level = self.dr_level_at(t)
        for target in self.sheddables:
            target.shed(level)
        held = t < self.hold_until
        for load in self.holdables:
            load.hold(held)
        if self.run_now_pending:
            self.run_now_pending = False
            for job in self.deferrables:
                job.run_now()


def _text(cap: int | None) -> str:
    return "unlimited" if cap is None else str(cap)


@dataclass(frozen=True, slots=True)
class DeviceLimit:
    """What one device is held to: at most `export_w` W out (generation, discharge) and
    `import_w` W in (consumption, charging); None: that direction is free."""

    export_w: int | None = None
    import_w: int | None = None


class Actuator(Protocol):
    """A device whose power the gateway can cap, through its own protocol (devices/actuators.py)."""

    device_id: str
    kind: str  # GENERATOR | BATTERY | CHARGER

    async def rated_w(self) -> int:
        """The rating the caps are shared by (0 when unknown: equal shares)."""
        ...

    async def set_limit(self, limit: DeviceLimit | None) -> None:
        """Hold the device to `limit` (None: release every limit); raises when it could not be done."""
        ...


def _shares(cap: int, weights: Sequence[int]) -> list[int]:
    """`cap` split in proportion to `weights` (equal when none is positive), each rounded down."""
    if not weights:
        return []
    if sum(max(0, w) for w in weights) <= 0:
        weights = [1] * len(weights)
    total = sum(max(0, w) for w in weights)
    return [cap * max(0, w) // total for w in weights]


def split_caps(
    export_cap_w: int | None, import_cap_w: int | None, devices: Sequence[tuple[str, str, int]]
) -> dict[str, DeviceLimit | None]:
    """Each device's limit (None: released) under a site's caps, by the rule in the module
    docstring; `devices` are (device id, kind, rating in W). The generators' export shares sum to
    at most the export cap, the chargers' import shares to at most the import cap."""
    out: dict[str, DeviceLimit | None] = {d: None for d, _, _ in devices}
    if export_cap_w is None and import_cap_w is None:
        return out
    export: dict[str, int] = {}
    imports: dict[str, int] = {}
    generators = [(d, r) for d, k, r in devices if k == GENERATOR]
    chargers = [(d, r) for d, k, r in devices if k == CHARGER]
    for d, k, _ in devices:
        if k == BATTERY:
            if export_cap_w is not None:
                export[d] = 0
            if import_cap_w is not None:
                imports[d] = 0
    if export_cap_w is not None:
        export.update(zip([d for d, _ in generators], _shares(export_cap_w, [r for _, r in generators]), strict=True))
    if import_cap_w is not None:
        imports.update(zip([d for d, _ in chargers], _shares(import_cap_w, [0] * len(chargers)), strict=True))
    for d in out:
        if d in export or d in imports:
            out[d] = DeviceLimit(export.get(d), imports.get(d))
    return out


class LimitEnforcer:
    """Holds the home's actuators at the shares of the caps in force (see the module docstring).

    `enforce()` computes each device's limit at `now()` and sends it to the devices whose last
    acknowledged command differs (all of them on the first pass); a device that fails keeps its
    old state and is tried again on the next pass. `run()` passes whenever an instruction arrives,
    when one starts or ends, every `retry_s` wall seconds while a device is out of step, and while
    a cap is in force sends every device its limit again every `refresh_s` wall seconds (a device
    that restarted, or a charger that reconnected, has forgotten it)."""

    def __init__(
        self,
        controller: HomeController,
        actuators: Sequence[Actuator],
        now: Callable[[], float],
        *,
        speed: float = 1.0,
        retry_s: float = 2.0,
        refresh_s: float = 60.0,
    ) -> None:
        self.controller = controller
        self.actuators = list(actuators)
        self.now = now
        self.speed = speed
        self.retry_s = retry_s
        self.refresh_s = refresh_s
        self.commanded: dict[str, DeviceLimit | None] = {}  # acknowledged by the device
        self._ratings: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._failing: set[str] = set()
        controller.on_instruction = self._wake.set

    async def _rating(self, actuator: Actuator) -> int:
        if actuator.device_id not in self._ratings:
            self._ratings[actuator.device_id] = max(0, int(await actuator.rated_w()))
        return self._ratings[actuator.device_id]

    async def enforce(self) -> bool:
        """One pass at `now()`; True when every device holds its limit."""
        now = self.now()
        self.controller.forget_instructions(now)
        export_cap, import_cap = self.controller.caps_at(now)
        devices = []
        for a in self.actuators:
            try:
                rating = await self._rating(a) if a.kind == GENERATOR else 0
            except Exception:  # an unreadable rating: equal shares until it can be read
                log.warning("cannot read the rating of %s; its share is an equal one for now", a.device_id)
                rating = 0
            devices.append((a.device_id, a.kind, rating))
        if any(r == 0 for _, k, r in devices if k == GENERATOR):
            devices = [(d, k, 0 if k == GENERATOR else r) for d, k, r in devices]  # all equal, never over the cap
        wanted = split_caps(export_cap, import_cap, devices)
        if (export_cap is not None and not any(k in (GENERATOR, BATTERY) for _, k, _ in devices)) or (
            import_cap is not None and not any(k in (CHARGER, BATTERY) for _, k, _ in devices)
        ):
            log.warning("an instruction is in force but this home has no device to hold to it")
        in_step = True
        for a in self.actuators:
            limit = wanted[a.device_id]
            if a.device_id in self.commanded and self.commanded[a.device_id] == limit:
                continue
            try:
                await a.set_limit(limit)
            except Exception as exc:  # the device is told again on the next pass
                in_step = False
                if a.device_id not in self._failing:
                    log.warning("cannot hold %s to %s yet: %s", a.device_id, limit, exc)
                    self._failing.add(a.device_id)
                continue
            self._failing.discard(a.device_id)
            self.commanded[a.device_id] = limit
            log.info("%s held to %s", a.device_id, "no limit" if limit is None else limit)
        return in_step

    async def run(self) -> None:
        """Enforce until cancelled (see the class docstring)."""
        loop = asyncio.get_running_loop()
        refreshed = loop.time()
        while True:
            self._wake.clear()
            if loop.time() - refreshed >= self.refresh_s:
                self.commanded.clear()  # send everything again
                refreshed = loop.time()
            in_step = await self.enforce()
            now = self.now()
            change = self.controller.next_instruction_change(now)
            waits = [] if in_step else [self.retry_s]
            if change is not None:
                waits.append(max(0.0, (change - now) / self.speed))
            if self.controller.caps_at(now) != (None, None):
                waits.append(max(0.0, refreshed + self.refresh_s - loop.time()))
            else:
                refreshed = loop.time()  # nothing to keep up: the next cap is sent when it starts
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that
            # arrives as its timeout fires, and this loop would then never end
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(waits) if waits else None):
                    await self._wake.wait()
