"""Forecasts records (frozen) and their stored protobuf encoding.

Each encodes field by field (abci_app/proto_record.py) to its `gridledger.forecasts.v1`
message: Forecast to Forecast, DayError to ForecastError, Expected to the query answer
ForecastView; `decode(raw).encode() == raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gridledger.forecasts.v1 import forecasts_pb2

from abci_app.proto_record import ProtoRecord, proto_record
from abci_app.types import Address

__all__ = ["FALLBACK", "NONE", "POSTED", "SOURCE_NAMES", "DayError", "Expected", "Forecast"]

POSTED: Final = int(forecasts_pb2.FORECAST_SOURCE_POSTED)
FALLBACK: Final = int(forecasts_pb2.FORECAST_SOURCE_FALLBACK)
NONE: Final = int(forecasts_pb2.FORECAST_SOURCE_NONE)
SOURCE_NAMES: Final[dict[int, str]] = {POSTED: "posted", FALLBACK: "fallback", NONE: "none"}


@proto_record()
@dataclass(frozen=True, slots=True)
class Forecast(ProtoRecord[forecasts_pb2.Forecast]):
    """A posted forecast of one device for one interval."""

    device_id: str
    interval_start: int
    export_wh: int
    import_wh: int
    posted_at: int
    poster: Address


@proto_record()
@dataclass(frozen=True, slots=True)
class Expected(ProtoRecord[forecasts_pb2.ForecastView]):
    """What the ledger expects of a device in an interval and where it comes from (`source`:
    POSTED, FALLBACK or NONE; with NONE both energies are 0)."""

    device_id: str
    interval_start: int
    source: int
    export_wh: int = 0
    import_wh: int = 0
    posted_at: int = 0
    days_used: int = 0


@proto_record()
@dataclass(frozen=True, slots=True)
class DayError(ProtoRecord[forecasts_pb2.ForecastError]):
    """One device's forecast error on one UTC day, summed over its scored intervals."""

    device_id: str
    day: int
    intervals_posted: int = 0
    intervals_fallback: int = 0
    forecast_export_wh: int = 0
    forecast_import_wh: int = 0
    metered_export_wh: int = 0
    metered_import_wh: int = 0
    error_wh: int = 0
