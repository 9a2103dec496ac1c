"""Devices message handlers, and the per-reading checks.

Readings. Each reading of a SubmitReadings is checked on its own, in this order, and a
failed check rejects only that reading (a `reading_rejected` event with its code):
unknown device; bad signature (the registered key did not sign); retired key (signed by
one of the device's keeper.RECENT_RETIRED_KEYS = 4 most recently retired keys, so a bad
signature costs at most 5 Ed25519 verifications however often the key was rotated; a key
retired longer ago is still refused, as a bad signature); device suspended; relay not
allowed (the tx signer is neither the device's gateway nor its owner); an identical
resend of an accepted reading (one of the device's last RECENT_WINDOW sequence numbers)
is a `reading_duplicate`, not an error; replayed sequence (seq ≤ last, not such a
resend); bad interval (start ≥ end or longer than MAX_READING_SECONDS); too short (its
own interval shorter than the governed `devices.min_reading_seconds`, READING_TOO_SHORT);
before registration (start before the device's registered_at, READING_BEFORE_REGISTRATION:
no reading covers time before the device existed on the ledger, so a first reading starts
at registration or later); overlap (start < last end); decreasing register; energy above
nameplate; interval end in the future; battery state of charge out of bounds.

Integer rules (consensus):
- Registers are cumulative. A device's first reading sets the baseline and counts no
  energy; a later one counts the register deltas since the last accepted reading, over
  its span [last end, end): that is the reading's own [start, end) when it follows the
  last one directly, and reaches back over the gap otherwise (readings rejected, skipped
  by a gateway, or refused while the device was suspended), whose energy it carries.
- Nameplate, exact (`within`): a device of P W produces at most P × S / 3600 Wh in S
  seconds, and an integer register can tick over at most once more than that (its
  fractional part at the start), so a register delta D over S seconds is possible exactly
  when D = 0 or 3600 × (D − 1) < P × S. Nothing is rounded up. The rule is applied twice
  to every register (import and export against nameplate_w; a battery's charged and
  discharged also against max_charge_w and max_discharge_w), and a reading failing either
  is refused (ABOVE_NAMEPLATE):
  * to the reading's own span [last end, end) and its deltas; and
  * cumulatively, to the nameplate window: the span [anchor, end) from the device's window
    anchor (a time and the four registers there, kept in its ReadingState) and the deltas
    since the anchor. The first reading sets the anchor at its end; after an accepted
    reading whose end is NAMEPLATE_WINDOW_SECONDS (an hour) or more past the anchor, the
    anchor moves to that reading's end and registers. The windows tile the device's
    readings, each at least an hour, so however a device slices its readings (500 readings
    of one second each, or of the minimum length) it claims less than P × T / 3600 + 1 Wh
    in each window of T seconds: the quantisation allowance of 1 Wh once per window, never
    once per reading. (State imported without an anchor reads as anchor 0 with zero
    registers: a check that honest registers pass, and the next reading re-anchors.)
- Settlement intervals of L seconds (param) are aligned to multiples of L. A delta is split
  over the intervals the span overlaps in proportion to seconds, rounded down, and the
  last interval gets the remainder, so the parts always sum to the delta; the hour flows
  of the generation feed (feed.py) likewise, so certificates follow.
- Bounded writes: at most the last MAX_SPAN_RECORDED_SECONDS (a day, as a reading's own
  interval) of a span are recorded. For a longer gap, that window [end − a day, end) gets
  floor(D × a day / S) of each delta, split as above, and the rest (its share of the
  older part of the gap) is not recorded anywhere (the registers still move on, and a
  battery's state of charge takes the whole delta).
- Intervals and hours of the span that are already past their readers' windows: energy of
  intervals and hours before the pruning watermark is not recorded (keeper.add_energy);
  an interval whose market settlement already ran gets the energy in its record (and the
  device-hours get their flow, so certificates are issued for it as for any late
  reading), but its settlement is not reopened: the market drops the late mark, as for
  any reading arriving after settlement.
- Batteries keep state of charge in mWh. With r = isqrt(efficiency_bp × 10_000) (√η in
  basis points): charging C Wh adds floor(C × r / 10) mWh (C × 1000 × r / 10_000);
  discharging D Wh removes ceil(D × 10_000_000 / r) mWh. The first reading's device-
  reported soc_wh × 1000 is the starting state. A result outside [0, capacity × 1000]
  is refused with SOC_OUT_OF_BOUNDS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from math import isqrt

from gridwire.periods import split_by_period
from gridwire.reading import Reading, reading_sign_bytes

from abci_app.auth import require_member, require_role
from abci_app.certificates.params import period
from abci_app.context import TxContext
from abci_app.crypto import verify_cached
from abci_app.devices import events, feed, keeper
from abci_app.devices.devcert import verify_device_cert
from abci_app.devices.errors import DevicesCode
from abci_app.devices.feed import GENERATOR_KINDS, RENEWABLE_SOURCES
from abci_app.devices.messages import (
    KIND_NAMES,
    MoveSite,
    RegisterDevice,
    RegisterSite,
    ReinstateDevice,
    RotateDeviceKey,
    SetBatteryRules,
    SignedReading,
    SubmitReadings,
    SuspendDevice,
    TransferDevice,
)
from abci_app.devices.params import FUTURE_ALLOWANCE, MIN_READING, SETTLEMENT_INTERVAL
from abci_app.devices.records import (
    NO_BATTERY,
    BatteryRules,
    BatterySpec,
    Device,
    DeviceId,
    ReadingState,
    Site,
    SiteId,
)
from abci_app.errors import Code, TxError
from abci_app.identity.keeper import get_member
from abci_app.identity.roles import Role
from abci_app.params import domain_param
from abci_app.store.branch import Branch

__all__ = [
    "MAX_READING_SECONDS",
    "MAX_SPAN_RECORDED_SECONDS",
    "NAMEPLATE_WINDOW_SECONDS",
    "apportion",
    "move_site",
    "register_device",
    "register_site",
    "reinstate_device",
    "rotate_device_key",
    "set_battery_rules",
    "soc_after",
    "submit_readings",
    "suspend_device",
    "transfer_device",
    "within",
]

MAX_READING_SECONDS = 86_400  # one reading covers at most a day (bounds the interval writes)
MAX_SPAN_RECORDED_SECONDS = MAX_READING_SECONDS  # of a span after a gap, at most its last day is recorded
NAMEPLATE_WINDOW_SECONDS = 3_600  # the cumulative nameplate check's window (see the module doc)
BATTERY = 4


def _owned(ctx: TxContext, device_id: str) -> Device:
    device = keeper.get_device(ctx.store, device_id)
    if device is None:
        raise TxError(DevicesCode.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
    if device.owner != ctx.signer_address:
        raise TxError(DevicesCode.NOT_DEVICE_OWNER, f"signer is not the owner of device {device_id!r}")
    return device


def _owner_or_operator(ctx: TxContext, device_id: str) -> Device:
    require_member(ctx)
    device = keeper.get_device(ctx.store, device_id)
    if device is None:
        raise TxError(DevicesCode.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
    if device.owner != ctx.signer_address:
        require_role(ctx, Role.OPERATOR)
    return device


def _require_active_member(ctx: TxContext, address: bytes, what: str) -> None:
    member = get_member(ctx.store, address)
    if member is None or member.revoked:
        raise TxError(DevicesCode.UNKNOWN_OWNER, f"{what} {address.hex()} is not an enrolled, active member")


def register_site(ctx: TxContext, msg: RegisterSite) -> None:
    """Register a site for its signer (a site is registered by its owner only): UNAUTHORIZED when
    the message names another owner, SITE_EXISTS when the id is taken; emits site_registered."""
    owner = require_member(ctx)
    if msg.owner is not None and msg.owner != owner.address:
        raise TxError(Code.UNAUTHORIZED, "a site is registered by its owner")
    if keeper.get_site(ctx.store, msg.site_id) is not None:
        raise TxError(DevicesCode.SITE_EXISTS, f"site {msg.site_id!r} is already registered")
    site = Site(
        site_id=SiteId(msg.site_id),
        owner=owner.address,
        feeder=msg.feeder,
        grid_region=msg.grid_region,
        registered_at=ctx.block.time,
        location=msg.location,
    )
    keeper.put_site(ctx.store, site)
    ctx.emit(events.SITE_REGISTERED, site=msg.site_id, owner=owner.address.hex(), feeder=msg.feeder)


def move_site(ctx: TxContext, msg: MoveSite) -> None:
    """Grid operator only: the site and every device on it move to `feeder`."""
    require_role(ctx, Role.OPERATOR)
    site = keeper.get_site(ctx.store, msg.site_id)
    if site is None:
        raise TxError(DevicesCode.UNKNOWN_SITE, f"site {msg.site_id!r} is not registered")
    old_feeder = site.feeder
    keeper.put_site(ctx.store, replace(site, feeder=msg.feeder))
    for device_id in list(keeper.iter_site_devices(ctx.store, msg.site_id)):
        old = keeper.get_device(ctx.store, device_id)
        if old is None:  # pragma: no cover - indexes are kept in step
            continue
        keeper.put_device(ctx.store, replace(old, feeder=msg.feeder), old)
    ctx.emit(events.SITE_MOVED, site=msg.site_id, old_feeder=old_feeder, feeder=msg.feeder)


def register_device(ctx: TxContext, msg: RegisterDevice) -> None:
    """By the owner, or by a gateway member of the owner's org on the owner's behalf; the
    owner must be the site's owner (NOT_SITE_OWNER): a device on a site is registered by
    the site's owner, who may then transfer it (a leased battery). The device's feeder and
    grid region are its site's: a non-empty `feeder` or `grid_region` that differs from the
    site's is refused (SITE_MISMATCH), and MoveSite moves the site's devices with it.
    Only generating kinds (pv, wind) may declare a renewable energy source: a meter,
    appliance, EV charger or heat pump declaring one is refused (NOT_A_GENERATOR), since a
    meter measures energy from anywhere and is never a generator (a battery's source is
    not refused: it re-issues only what it stored, certificates/storage.py).
    With a device certificate, the device is certified only if the certificate passes every
    check of devcert.py (codes 129-136); without one it is registered uncertified, and is
    then never a generator (commissioning.py: no certificates, no sell order names it)."""
    signer = require_member(ctx)
    if msg.kind not in GENERATOR_KINDS and msg.kind != BATTERY and msg.energy_source.lower() in RENEWABLE_SOURCES:
        raise TxError(
            DevicesCode.NOT_A_GENERATOR,
            f"a {KIND_NAMES.get(msg.kind, msg.kind)} is not a generator and cannot declare the renewable energy "
            f"source {msg.energy_source!r}; only pv and wind devices generate certified energy",
        )
    owner = signer.address if msg.owner is None else msg.owner
    if owner != signer.address:
        require_role(ctx, Role.GATEWAY)
        member = get_member(ctx.store, owner)
        if member is None or member.revoked:
            raise TxError(DevicesCode.UNKNOWN_OWNER, f"owner {owner.hex()} is not an enrolled, active member")
        if member.org_id != signer.org_id:
            raise TxError(Code.UNAUTHORIZED, f"a gateway of {signer.org_id} registers only for its own org's members")
    site = keeper.get_site(ctx.store, msg.site_id)
    if site is None:
        raise TxError(DevicesCode.UNKNOWN_SITE, f"site {msg.site_id!r} is not registered")
    if site.owner != owner:
        raise TxError(DevicesCode.NOT_SITE_OWNER, f"only the owner of site {msg.site_id!r} registers devices on it")
    if msg.feeder not in {"", site.feeder} or msg.grid_region not in {"", site.grid_region}:
        raise TxError(
            DevicesCode.SITE_MISMATCH,
            f"a device is on its site's feeder {site.feeder!r} and grid region {site.grid_region!r}",
        )
    if keeper.get_device(ctx.store, msg.device_id) is not None:
        raise TxError(DevicesCode.DEVICE_EXISTS, f"device {msg.device_id!r} is already registered")
    certified = None
    if msg.device_cert_der:  # devcert.py: the certificate must bind exactly what is registered
        certified = verify_device_cert(
            ctx.store, msg.device_cert_der, msg.device_id, msg.kind, msg.public_key, msg.nameplate_w, ctx.block.time
        )
    battery = None
    if msg.battery is not None:
        b = msg.battery
        battery = BatterySpec(b.capacity_wh, b.max_charge_w, b.max_discharge_w, b.efficiency_bp)
    device = Device(
        device_id=DeviceId(msg.device_id),
        site_id=SiteId(msg.site_id),
        owner=owner,
        kind=msg.kind,
        public_key=msg.public_key,
        nameplate_w=msg.nameplate_w,
        energy_source=msg.energy_source,
        technology=msg.technology,
        commissioning_date=msg.commissioning_date,
        country=msg.country,
        grid_region=site.grid_region,
        feeder=site.feeder,
        gateway=msg.gateway or b"",
        battery=battery,
        suspended=False,
        registered_at=ctx.block.time,
        cert_ca_id="" if certified is None else certified.ca_id,
        cert_serial=b"" if certified is None else certified.serial,
    )
    keeper.put_device(ctx.store, device)
    ctx.emit(
        events.DEVICE_REGISTERED,
        device=msg.device_id,
        owner=owner.hex(),
        site=msg.site_id,
        kind=KIND_NAMES[msg.kind],
        feeder=device.feeder,
        certified_by=device.cert_ca_id,
    )


def suspend_device(ctx: TxContext, msg: SuspendDevice) -> None:
    """Suspend a device, by its owner or an operator: its readings are refused until it is
    reinstated; UNKNOWN_DEVICE, DEVICE_STATE when already suspended; emits device_suspended."""
    device = _owner_or_operator(ctx, msg.device_id)
    if device.suspended:
        raise TxError(DevicesCode.DEVICE_STATE, f"device {msg.device_id!r} is already suspended")
    keeper.put_device(ctx.store, replace(device, suspended=True))
    ctx.emit(events.DEVICE_SUSPENDED, device=msg.device_id, by=ctx.signer_address.hex(), reason=msg.reason)


def reinstate_device(ctx: TxContext, msg: ReinstateDevice) -> None:
    """Reinstate a suspended device, by its owner or an operator; UNKNOWN_DEVICE, DEVICE_STATE when
    it is not suspended; emits device_reinstated."""
    device = _owner_or_operator(ctx, msg.device_id)
    if not device.suspended:
        raise TxError(DevicesCode.DEVICE_STATE, f"device {msg.device_id!r} is not suspended")
    keeper.put_device(ctx.store, replace(device, suspended=False))
    ctx.emit(events.DEVICE_REINSTATED, device=msg.device_id, by=ctx.signer_address.hex())


def transfer_device(ctx: TxContext, msg: TransferDevice) -> None:
    """Hand a device to another enrolled, active member, by its owner (its index entries move with
    it, and its owner_since becomes the block time); UNKNOWN_DEVICE, NOT_DEVICE_OWNER,
    UNKNOWN_OWNER; emits device_transferred."""
    require_member(ctx)
    old = _owned(ctx, msg.device_id)
    _require_active_member(ctx, msg.new_owner, "new owner")
    keeper.put_device(ctx.store, replace(old, owner=msg.new_owner, owner_since=ctx.block.time), old)
    ctx.emit(events.DEVICE_TRANSFERRED, device=msg.device_id, old_owner=old.owner.hex(), owner=msg.new_owner.hex())


def rotate_device_key(ctx: TxContext, msg: RotateDeviceKey) -> None:
    """The old key is retired: readings it signs are refused from now on (RETIRED_KEY while
    it is one of the device's RECENT_RETIRED_KEYS most recent, BAD_READING_SIGNATURE after),
    and the device can never rotate back to it (KEY_NOT_NEW). A certified device rotates only
    with a device certificate for the new key (DEVICE_CERT_REQUIRED; checked as at
    registration); a certificate given for an uncertified device certifies it."""
    require_member(ctx)
    device = _owned(ctx, msg.device_id)
    if msg.new_public_key == device.public_key or keeper.is_retired(ctx.store, msg.device_id, msg.new_public_key):
        raise TxError(DevicesCode.KEY_NOT_NEW, "the new key is the current or a retired key of this device")
    rotated = replace(device, public_key=msg.new_public_key)
    if msg.new_device_cert_der:
        c = verify_device_cert(
            ctx.store,
            msg.new_device_cert_der,
            device.device_id,
            device.kind,
            msg.new_public_key,
            device.nameplate_w,
            ctx.block.time,
        )
        rotated = replace(rotated, cert_ca_id=c.ca_id, cert_serial=c.serial)
    elif device.cert_ca_id:
        raise TxError(DevicesCode.DEVICE_CERT_REQUIRED, "a certified device's new key needs a device certificate")
    keeper.retire_key(ctx.store, msg.device_id, device.public_key, ctx.block.time)
    keeper.put_device(ctx.store, rotated)
    ctx.emit(events.DEVICE_KEY_ROTATED, device=msg.device_id, public_key=msg.new_public_key.hex())


def set_battery_rules(ctx: TxContext, msg: SetBatteryRules) -> None:
    """Set a battery's rules, by its owner, keeping the community-batteries index in step;
    UNKNOWN_DEVICE, NOT_DEVICE_OWNER, NOT_A_BATTERY; emits battery_rules_set."""
    require_member(ctx)
    device = _owned(ctx, msg.device_id)
    if device.kind != BATTERY:
        raise TxError(DevicesCode.NOT_A_BATTERY, f"device {msg.device_id!r} is not a battery")
    rules = BatteryRules(
        charge_below_price=msg.charge_below_price,
        discharge_above_price=msg.discharge_above_price,
        reserve_bp=msg.reserve_bp,
        green_only=msg.green_only,
        community=msg.community,
    )
    keeper.put_rules(ctx.store, msg.device_id, rules)
    keeper.set_community(ctx.store, msg.device_id, msg.community)
    ctx.emit(
        events.BATTERY_RULES_SET,
        device=msg.device_id,
        charge_below_price=msg.charge_below_price,
        discharge_above_price=msg.discharge_above_price,
        reserve_bp=msg.reserve_bp,
        green_only=msg.green_only,
        community=msg.community,
    )


# ---- readings -------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def soc_after(soc_mwh: int, charged_wh: int, discharged_wh: int, efficiency_bp: int) -> int:
    """State of charge (mWh) after charging `charged_wh` and discharging `discharged_wh`
    (may leave [0, capacity]; the caller refuses that)."""
    root = isqrt(efficiency_bp * 10_000)
    return soc_mwh + charged_wh * root // 10 - _ceil_div(discharged_wh * 10_000_000, root)


def apportion(start: int, end: int, length: int, import_wh: int, export_wh: int) -> list[tuple[int, int, int]]:
    """(interval start, import, export) of each settlement interval [start, end) overlaps, by
    `gridwire.periods.split_by_period` (proportional to seconds, rounded down, the remainder
    to the last interval); intervals that get nothing are left out."""
    exports = dict(split_by_period(start, end, export_wh, length))
    out = [(k, i, exports[k]) for k, i in split_by_period(start, end, import_wh, length)]
    return [p for p in out if p[1] or p[2]]


class _RejectedError(Exception):
    def __init__(self, code: DevicesCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _verify_signer(store: Branch, device: Device, signature: bytes, message: bytes) -> None:
    if verify_cached(bytes(device.public_key), signature, message):
        return
    # bounded work: only the RECENT_RETIRED_KEYS most recently retired keys are tried
    if any(verify_cached(k, signature, message) for k in keeper.recent_retired(store, device.device_id)):
        raise _RejectedError(DevicesCode.RETIRED_KEY, "signed by a retired key of the device")
    raise _RejectedError(DevicesCode.BAD_READING_SIGNATURE, "the device's registered key did not sign this reading")


def _sign_bytes(chain_id: str, r: SignedReading) -> bytes:
    """The bytes the device signed for reading `r` on this chain."""
    reading = Reading(
        r.device_id, r.seq, r.start, r.end, r.import_wh, r.export_wh, r.charged_wh, r.discharged_wh, r.soc_wh
    )
    return reading_sign_bytes(chain_id, reading)


def _admitted(store: Branch, chain_id: str, msg: SubmitReadings) -> SubmitReadings:
    """CheckTx's share of `msg` (submit_readings): the battery readings to apply in full; every
    other reading of a registered device has its signature checked against the device's key
    here (the result is cached for FinalizeBlock, which judges it)."""
    batteries = []
    for r in msg.readings:
        device = keeper.get_device(store, r.device_id)
        if device is None:
            continue
        if device.kind == BATTERY:
            batteries.append(r)
            continue
        verify_cached(bytes(device.public_key), r.signature, _sign_bytes(chain_id, r))
    return replace(msg, readings=tuple(batteries))


def within(delta_wh: int, power_w: int, seconds: int) -> bool:
    """Whether a register delta of `delta_wh` Wh over `seconds` s is possible at `power_w` W:
    exactly when it is at most 0 or 3600 × (delta − 1) < power × seconds (the energy, at most
    power × seconds / 3600 Wh, plus the one tick of an integer register's quantisation)."""
    return delta_wh <= 0 or 3600 * (delta_wh - 1) < power_w * seconds


def _fits(device: Device, deltas: tuple[int, int, int, int], seconds: int) -> bool:
    """The exact nameplate rule (`within`) for the four register deltas over `seconds`."""
    d_import, d_export, d_charged, d_discharged = deltas
    fits = within(d_import, device.nameplate_w, seconds) and within(d_export, device.nameplate_w, seconds)
    if device.kind == BATTERY:
        battery = device.battery or NO_BATTERY
        fits = (
            fits
            and within(d_charged, battery.max_charge_w, seconds)
            and within(d_discharged, battery.max_discharge_w, seconds)
        )
    return fits


@dataclass(frozen=True, slots=True)
class _ReadingRules:
    """What every reading of a SubmitReadings message is judged against, read once per
    message (no reading changes a parameter or the pruning watermark)."""

    min_seconds: int  # devices.min_reading_seconds
    future_allowance: int  # devices.future_allowance_seconds
    interval: int  # the settlement interval's length
    hour: int  # the certificates' production period
    pruned_before: int  # the pruning watermark (keeper.pruned_before)

    @staticmethod
    def of(store: Branch) -> _ReadingRules:
        return _ReadingRules(
            domain_param(store, MIN_READING),
            domain_param(store, FUTURE_ALLOWANCE),
            domain_param(store, SETTLEMENT_INTERVAL),
            period(store),
            keeper.pruned_before(store),
        )


def _apply_reading(ctx: TxContext, r: SignedReading, rules: _ReadingRules) -> int | None:
    """Check and apply one reading; the start of its span (see the module doc) if accepted,
    None if an identical resend. Raises _RejectedError (before any write) when a check fails."""
    store = ctx.store
    device = keeper.get_device(store, r.device_id)
    if device is None:
        raise _RejectedError(DevicesCode.UNKNOWN_DEVICE, "device is not registered")
    message = _sign_bytes(ctx.block.chain_id, r)
    _verify_signer(store, device, r.signature, message)
    if device.suspended:
        raise _RejectedError(DevicesCode.DEVICE_SUSPENDED, "device is suspended")
    if ctx.signer_address not in (device.owner, device.gateway):
        raise _RejectedError(DevicesCode.RELAY_NOT_ALLOWED, "the signer is neither the device's gateway nor its owner")
    digest = hashlib.sha256(message).digest()
    last = keeper.get_reading(store, r.device_id)
    if last is not None and r.seq <= last.seq:
        if keeper.recent_hash(store, r.device_id, r.seq) == digest:
            return None
        raise _RejectedError(DevicesCode.SEQ_REPLAYED, f"seq {r.seq} is not above the last accepted {last.seq}")
    if r.start >= r.end or r.end - r.start > MAX_READING_SECONDS:
        raise _RejectedError(
            DevicesCode.BAD_INTERVAL, f"interval must satisfy start < end <= start + {MAX_READING_SECONDS}"
        )
    shortest = rules.min_seconds
    if r.end - r.start < shortest:
        raise _RejectedError(
            DevicesCode.READING_TOO_SHORT, f"interval of {r.end - r.start} s is shorter than the minimum {shortest} s"
        )
    if r.start < device.registered_at:
        raise _RejectedError(
            DevicesCode.READING_BEFORE_REGISTRATION,
            f"interval starts at {r.start}, before the device's registration at {device.registered_at}",
        )
    if last is not None and r.start < last.end:
        raise _RejectedError(DevicesCode.INTERVAL_OVERLAP, f"interval starts before the last one's end {last.end}")
    if last is not None:
        pairs = (
            (r.import_wh, last.import_wh),
            (r.export_wh, last.export_wh),
            (r.charged_wh, last.charged_wh),
            (r.discharged_wh, last.discharged_wh),
        )
        if any(new < old for new, old in pairs):
            raise _RejectedError(DevicesCode.REGISTER_DECREASED, "a cumulative register decreased")
    d_import = 0 if last is None else r.import_wh - last.import_wh
    d_export = 0 if last is None else r.export_wh - last.export_wh
    d_charged = 0 if last is None else r.charged_wh - last.charged_wh
    d_discharged = 0 if last is None else r.discharged_wh - last.discharged_wh
    span_start = r.start if last is None else last.end  # the registers' deltas cover [last end, end)
    seconds = r.end - span_start
    battery = (device.battery or NO_BATTERY) if device.kind == BATTERY else None
    registers = (r.import_wh, r.export_wh, r.charged_wh, r.discharged_wh)
    if not _fits(device, (d_import, d_export, d_charged, d_discharged), seconds):
        raise _RejectedError(DevicesCode.ABOVE_NAMEPLATE, f"energy above the device's power × {seconds} s")
    if last is None:
        anchor, anchor_registers = r.end, registers
    else:
        anchor, anchor_registers = last.window_start, last.window_registers()
        since = tuple(new - old for new, old in zip(registers, anchor_registers, strict=True))
        window = r.end - anchor
        if not _fits(device, (since[0], since[1], since[2], since[3]), window):
            raise _RejectedError(
                DevicesCode.ABOVE_NAMEPLATE,
                f"energy since the nameplate window's start {anchor} above the device's power × {window} s",
            )
        if window >= NAMEPLATE_WINDOW_SECONDS:
            anchor, anchor_registers = r.end, registers
    horizon = ctx.block.time + rules.future_allowance
    if r.end > horizon:
        raise _RejectedError(DevicesCode.INTERVAL_IN_FUTURE, f"interval ends after block time + allowance ({horizon})")
    soc: int | None = None
    if battery is not None:
        state = keeper.get_battery(store, r.device_id)
        if state is None:
            soc = r.soc_wh * 1000
        else:
            soc = soc_after(state.soc_mwh, d_charged, d_discharged, battery.efficiency_bp)
        if not 0 <= soc <= battery.capacity_wh * 1000:
            raise _RejectedError(DevicesCode.SOC_OUT_OF_BOUNDS, f"state of charge would be {soc} mWh")
    # All checks passed: apply.
    if soc is not None:
        keeper.put_battery(store, r.device_id, soc)
    window_start = max(span_start, r.end - MAX_SPAN_RECORDED_SECONDS)

    def recorded(delta: int) -> int:
        """The share of `delta` of [window_start, end) (all of it unless the span is longer)."""
        return delta if window_start == span_start else delta * (r.end - window_start) // seconds

    rec_import, rec_export = recorded(d_import), recorded(d_export)
    if rec_import or rec_export:
        for k, i, e in apportion(window_start, r.end, rules.interval, rec_import, rec_export):
            keeper.add_energy(store, r.device_id, k, i, e, device.site_id, pruned_before=rules.pruned_before)
    flow = keeper.HourFlow(rec_export, recorded(d_charged), recorded(d_discharged))
    feed.record_flow(store, device, window_start, r.end, flow, hour=rules.hour)
    keeper.remember(store, r.device_id, r.seq, digest)
    keeper.put_reading(
        store,
        r.device_id,
        ReadingState(
            seq=r.seq,
            start=r.start,
            end=r.end,
            import_wh=r.import_wh,
            export_wh=r.export_wh,
            charged_wh=r.charged_wh,
            discharged_wh=r.discharged_wh,
            soc_wh=r.soc_wh,
            hash=digest,
            window_start=anchor,
            window_import_wh=anchor_registers[0],
            window_export_wh=anchor_registers[1],
            window_charged_wh=anchor_registers[2],
            window_discharged_wh=anchor_registers[3],
            reporting_since=r.end if last is None else last.reporting_since,
        ),
    )
    return span_start


def submit_readings(ctx: TxContext, msg: SubmitReadings) -> None:
    """The tx fails only if the signer is not a member; each reading is judged on its own.

    In CheckTx (`ctx.admission`) a reading of a device other than a battery is only checked
    against its device's key, which verifies its signature once, ahead of the block (the
    verification cache), and is otherwise left to FinalizeBlock: no reading changes the tx's
    code, and no check of another tx reads what a meter's or a generator's reading writes
    (their sell orders are bounded by nameplate). A battery's reading is applied in full,
    because a sell order of its owner may rest on the charge it reports."""
    require_member(ctx)
    if ctx.admission:
        msg = _admitted(ctx.store, ctx.block.chain_id, msg)
        if not msg.readings:
            return
    rules = _ReadingRules.of(ctx.store)
    for r in msg.readings:
        try:
            span_start = _apply_reading(ctx, r, rules)
        except _RejectedError as rej:
            ctx.emit(events.READING_REJECTED, device=r.device_id, seq=r.seq, code=int(rej.code), reason=rej.reason)
            continue
        if span_start is not None:
            ctx.emit(
                events.READING_ACCEPTED,
                device=r.device_id,
                seq=r.seq,
                start=r.start,
                end=r.end,
                import_wh=r.import_wh,
                export_wh=r.export_wh,
                span_start=span_start,
            )
        else:
            ctx.emit(events.READING_DUPLICATE, device=r.device_id, seq=r.seq, status="duplicate")
