"""Forecasts messages as frozen records; field bounds are checked here (INVALID_ARGUMENT)."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.forecasts.v1 import forecasts_pb2

from abci_app.codec_util import id_field, nonneg_field, positive_field
from abci_app.errors import Code, TxError

__all__ = ["MAX_SLOTS", "MAX_WH", "PostForecast", "post_forecast_from_proto"]

MAX_WH = 10**12  # per slot; the nameplate bound (handler) is far lower for any real device
MAX_SLOTS = 672  # the highest forecasts.max_intervals_per_post allows (a week of 15 minutes)
MAX_TIME = 1 << 40


@dataclass(frozen=True, slots=True)
class PostForecast:
    """A device's forecast for consecutive intervals from `first_interval`: (export Wh, import Wh) per
    interval."""

    device_id: str
    first_interval: int
    slots: tuple[tuple[int, int], ...]  # (export Wh, import Wh) per interval, in order


def post_forecast_from_proto(m: forecasts_pb2.PostForecast) -> PostForecast:
    """Ids and integers in bounds, 1 to MAX_SLOTS slots (the governed cap is the handler's)."""
    if not m.slots or len(m.slots) > MAX_SLOTS:
        raise TxError(Code.INVALID_ARGUMENT, f"slots: expected 1 to {MAX_SLOTS}, got {len(m.slots)}")
    return PostForecast(
        id_field(m.device_id, "device_id"),
        positive_field(m.first_interval, "first_interval", MAX_TIME),
        tuple(
            (nonneg_field(s.export_wh, f"slots[{i}].export_wh", MAX_WH), nonneg_field(s.import_wh, "import_wh", MAX_WH))
            for i, s in enumerate(m.slots)
        ),
    )
