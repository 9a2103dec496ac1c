"""Forecasts records (frozen) and their stored protobuf encoding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gridledger.forecasts.v1 import forecasts_pb2

from abci_app.types import Address

__all__ = ["FALLBACK", "NONE", "POSTED", "SOURCE_NAMES", "DayError", "Expected", "Forecast"]

POSTED: Final = int(forecasts_pb2.FORECAST_SOURCE_POSTED)
FALLBACK: Final = int(forecasts_pb2.FORECAST_SOURCE_FALLBACK)
NONE: Final = int(forecasts_pb2.FORECAST_SOURCE_NONE)
SOURCE_NAMES: Final[dict[int, str]] = {POSTED: "posted", FALLBACK: "fallback", NONE: "none"}


@dataclass(frozen=True, slots=True)
class Forecast:
    """A posted forecast of one device for one interval."""

    device_id: str
    interval_start: int
    export_wh: int
    import_wh: int
    posted_at: int
    poster: Address

    def to_proto(self) -> forecasts_pb2.Forecast:
        return forecasts_pb2.Forecast(
            device_id=self.device_id,
            interval_start=self.interval_start,
            export_wh=self.export_wh,
            import_wh=self.import_wh,
            posted_at=self.posted_at,
            poster=self.poster,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: forecasts_pb2.Forecast) -> Forecast:
        return Forecast(pb.device_id, pb.interval_start, pb.export_wh, pb.import_wh, pb.posted_at, Address(pb.poster))

    @staticmethod
    def decode(raw: bytes) -> Forecast:
        return Forecast.from_proto(forecasts_pb2.Forecast.FromString(raw))


@dataclass(frozen=True, slots=True)
class Expected:
    """What the ledger expects of a device in an interval and where it comes from (`source`:
    POSTED, FALLBACK or NONE; with NONE both energies are 0)."""

    device_id: str
    interval_start: int
    source: int
    export_wh: int = 0
    import_wh: int = 0
    posted_at: int = 0
    days_used: int = 0

    def to_proto(self) -> forecasts_pb2.ForecastView:
        return forecasts_pb2.ForecastView(
            device_id=self.device_id,
            interval_start=self.interval_start,
            source=self.source,  # type: ignore[arg-type]
            export_wh=self.export_wh,
            import_wh=self.import_wh,
            posted_at=self.posted_at,
            days_used=self.days_used,
        )


@dataclass(frozen=True, slots=True)
class DayError:
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

    def to_proto(self) -> forecasts_pb2.ForecastError:
        return forecasts_pb2.ForecastError(
            device_id=self.device_id,
            day=self.day,
            intervals_posted=self.intervals_posted,
            intervals_fallback=self.intervals_fallback,
            forecast_export_wh=self.forecast_export_wh,
            forecast_import_wh=self.forecast_import_wh,
            metered_export_wh=self.metered_export_wh,
            metered_import_wh=self.metered_import_wh,
            error_wh=self.error_wh,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: forecasts_pb2.ForecastError) -> DayError:
        return DayError(
            pb.device_id,
            pb.day,
            pb.intervals_posted,
            pb.intervals_fallback,
            pb.forecast_export_wh,
            pb.forecast_import_wh,
            pb.metered_export_wh,
            pb.metered_import_wh,
            pb.error_wh,
        )

    @staticmethod
    def decode(raw: bytes) -> DayError:
        return DayError.from_proto(forecasts_pb2.ForecastError.FromString(raw))
