"""Client side of the forecasts domain: message builders (no abci_app imports)."""

from __future__ import annotations

from collections.abc import Iterable

from gridledger.forecasts.v1 import forecasts_pb2

__all__ = ["SOURCE_NAMES", "post_forecast"]

SOURCE_NAMES = {
    forecasts_pb2.FORECAST_SOURCE_POSTED: "posted",
    forecasts_pb2.FORECAST_SOURCE_FALLBACK: "fallback",
    forecasts_pb2.FORECAST_SOURCE_NONE: "none",
}


def post_forecast(device_id: str, first_interval: int, slots: Iterable[tuple[int, int]]) -> forecasts_pb2.PostForecast:
    """A PostForecast: `slots` are (export Wh, import Wh) of consecutive settlement intervals
    from `first_interval` (for a battery: planned discharge, planned charge)."""
    return forecasts_pb2.PostForecast(
        device_id=device_id,
        first_interval=first_interval,
        slots=[forecasts_pb2.ForecastSlot(export_wh=e, import_wh=i) for e, i in slots],
    )
