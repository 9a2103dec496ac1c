"""What the market needs of lower domains it does not own, named narrowly (as Cosmos's
expected_keepers.go): here, one device's expected energy in one interval from forecasts.

The market depends on this interface only; `FORECASTS` binds it to the forecasts domain's
keeper (abci_app/forecasts/keeper.py, whose module doc states the rule: posted, else the
deterministic fallback from the device's readings, else none).
"""

from __future__ import annotations

from typing import Final, Protocol

from gridledger.forecasts.v1 import forecasts_pb2

from abci_app.forecasts import keeper as forecasts_keeper
from abci_app.store.branch import KVReader

__all__ = ["FORECASTS", "NO_FORECAST", "POSTED", "ExpectedEnergy", "ForecastsKeeper"]

POSTED: Final = int(forecasts_pb2.FORECAST_SOURCE_POSTED)
NO_FORECAST: Final = int(forecasts_pb2.FORECAST_SOURCE_NONE)


class ExpectedEnergy(Protocol):
    """A device's expected energy in an interval and its source (POSTED, FALLBACK, NO_FORECAST)."""

    @property
    def source(self) -> int:
        """Where the expectation comes from: a FORECAST_SOURCE number (posted, fallback or none)."""

    @property
    def export_wh(self) -> int:
        """The Wh the device is expected to export in the interval."""

    @property
    def import_wh(self) -> int:
        """The Wh the device is expected to import in the interval."""


class ForecastsKeeper(Protocol):
    """What the market needs of the forecasts domain: a device's expected energy in an interval."""

    def expected(self, store: KVReader, device_id: str, interval_start: int, /) -> ExpectedEnergy:
        """The device's expected energy in the interval (never fails for a registered device)."""
        ...


FORECASTS: ForecastsKeeper = forecasts_keeper
