"""PostForecast: authorise (the device's owner or its gateway), check the window and the
nameplate, store each interval's forecast (replacing an earlier one), emit one event."""

from __future__ import annotations

from abci_app.auth import require_member
from abci_app.context import TxContext
from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.devices.records import NO_BATTERY, Device
from abci_app.errors import TxError
from abci_app.forecasts import events, keeper
from abci_app.forecasts.errors import ForecastsCode
from abci_app.forecasts.messages import PostForecast
from abci_app.forecasts.params import LOCK, MAX_AHEAD, MAX_INTERVALS
from abci_app.forecasts.records import Forecast
from abci_app.params import domain_param
from abci_app.types import Address

__all__ = ["BATTERY", "bounds", "post_forecast"]

BATTERY = 4


def _ceil_wh(watts: int, seconds: int) -> int:
    return -(-watts * seconds // 3600)


def bounds(device: Device, length: int) -> tuple[int, int]:
    """(export, import) Wh a device can move in one interval of `length` s: ⌈nameplate_w ×
    length ÷ 3600⌉, for a battery also within its discharge and charge power (as readings)."""
    plate = _ceil_wh(device.nameplate_w, length)
    if device.kind != BATTERY:
        return plate, plate
    spec = device.battery or NO_BATTERY
    return min(plate, _ceil_wh(spec.max_discharge_w, length)), min(plate, _ceil_wh(spec.max_charge_w, length))


def post_forecast(ctx: TxContext, msg: PostForecast) -> None:
    """Checks in order: member, device known (UNKNOWN_DEVICE), signer its owner or gateway
    (NOT_DEVICE_OWNER), not suspended, slot count ≤ forecasts.max_intervals_per_post,
    first_interval aligned to the settlement interval (MISALIGNED), every interval starting
    after block time + forecasts.lock_seconds (INTERVAL_CLOSED) and at most
    forecasts.max_ahead_seconds ahead (TOO_FAR_AHEAD), every slot within `bounds`
    (ABOVE_NAMEPLATE). Then every slot is stored, replacing an earlier post for its interval."""
    member = require_member(ctx)
    store, now = ctx.store, ctx.block.time
    device = devices.get_device(store, msg.device_id)
    if device is None:
        raise TxError(ForecastsCode.UNKNOWN_DEVICE, f"device {msg.device_id!r} is not registered")
    if member.address not in (bytes(device.owner), bytes(device.gateway)):
        raise TxError(ForecastsCode.NOT_DEVICE_OWNER, "the signer is neither the device's owner nor its gateway")
    if device.suspended:
        raise TxError(ForecastsCode.DEVICE_SUSPENDED, f"device {msg.device_id!r} is suspended")
    cap = domain_param(store, MAX_INTERVALS)
    if len(msg.slots) > cap:
        raise TxError(ForecastsCode.TOO_MANY_INTERVALS, f"{len(msg.slots)} slots; at most {cap} per post")
    length = domain_param(store, SETTLEMENT_INTERVAL)
    first, last = msg.first_interval, msg.first_interval + (len(msg.slots) - 1) * length
    if first % length:
        raise TxError(ForecastsCode.MISALIGNED, f"first_interval {first} is not a multiple of {length} s")
    lock = domain_param(store, LOCK)
    if first - lock <= now:
        raise TxError(
            ForecastsCode.INTERVAL_CLOSED, f"interval {first} is locked: it starts within {lock} s of block time {now}"
        )
    ahead = domain_param(store, MAX_AHEAD)
    if last > now + ahead:
        raise TxError(ForecastsCode.TOO_FAR_AHEAD, f"interval {last} starts more than {ahead} s after {now}")
    max_export, max_import = bounds(device, length)
    for i, (export_wh, import_wh) in enumerate(msg.slots):
        if export_wh > max_export or import_wh > max_import:
            raise TxError(
                ForecastsCode.ABOVE_NAMEPLATE,
                f"slot {i}: {export_wh} Wh export / {import_wh} Wh import; the device moves at most "
                f"{max_export} / {max_import} Wh in {length} s",
            )
    replaced = 0
    for i, (export_wh, import_wh) in enumerate(msg.slots):
        start = first + i * length
        replaced += keeper.get_forecast(store, msg.device_id, start) is not None
        keeper.put_forecast(store, Forecast(msg.device_id, start, export_wh, import_wh, now, Address(member.address)))
    ctx.emit(
        events.FORECAST_POSTED,
        device=msg.device_id,
        owner=bytes(device.owner).hex(),
        poster=member.address.hex(),
        first_interval=first,
        intervals=len(msg.slots),
        export_wh=sum(s[0] for s in msg.slots),
        import_wh=sum(s[1] for s in msg.slots),
        replaced=replaced,
    )
