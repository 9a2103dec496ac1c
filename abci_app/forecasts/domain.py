"""The forecasts domain as the registry sees it (between devices and the market: it reads
the devices keeper, and the market reads it through market/expected_keepers.py)."""

from __future__ import annotations

from gridledger.forecasts.v1 import forecasts_pb2

from abci_app.domain import Domain, MessageSpec
from abci_app.forecasts import events, genesis, handlers, invariants, keys, messages, queries, scoring
from abci_app.forecasts.errors import ERROR_RANGE, ForecastsCode
from abci_app.forecasts.params import PARAMS

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="forecasts",
    key_prefixes=keys.KEY_PREFIXES,
    error_range=ERROR_RANGE,
    errors=ForecastsCode,
    messages=(
        MessageSpec(
            forecasts_pb2.PostForecast,
            messages.PostForecast,
            messages.post_forecast_from_proto,
            handlers.post_forecast,
        ),
    ),
    queries=queries.QUERIES,
    events=events.EVENTS,
    genesis_sections=genesis.SECTIONS,
    genesis_import=genesis.import_genesis,
    genesis_export=genesis.export_genesis,
    params=PARAMS,
    end_block=scoring.end_block,
    invariants=(invariants.indexes_in_step, invariants.errors_bounded),
)
