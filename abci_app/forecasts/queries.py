"""Queries:

- /forecast/<device>/<interval start>: the ForecastView the ledger uses (posted, fallback or
  none, and which);
- /forecasts/<device>/<first interval>/<count>: count (≤ forecasts.max_intervals_per_post)
  consecutive intervals' ForecastViews;
- /forecast_posted/<device>/<interval start>: the stored posted Forecast (provable);
- /forecast_error/<device>/<day>: the stored ForecastError of a UTC day (provable);
- /forecast_errors/<device>: the device's daily errors, oldest first (paginated).
"""

from __future__ import annotations

from collections.abc import Mapping

from gridledger.forecasts.v1 import forecasts_pb2
from gridledger.tx.v1 import tx_pb2
from gridwire.contract.forecasts import Paths

from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.domain import QueryHandler, QueryResult
from abci_app.errors import Code, TxError
from abci_app.forecasts import keeper, keys
from abci_app.forecasts.params import MAX_INTERVALS
from abci_app.params import domain_param
from abci_app.query_util import args_exactly, id_arg, int_arg, page, record
from abci_app.store.branch import KVReader

__all__ = ["QUERIES"]

MAX_TIME = 1 << 40


def _device(store: KVReader, text: str) -> str:
    device_id = id_arg(text, "device")
    if devices.get_device(store, device_id) is None:
        raise TxError(Code.QUERY_NOT_FOUND, f"device {device_id!r} is not registered")
    return device_id


def _interval(store: KVReader, text: str) -> int:
    start = int_arg(text, "interval", MAX_TIME)
    length = domain_param(store, SETTLEMENT_INTERVAL)
    if start % length:
        raise TxError(Code.QUERY_BAD_REQUEST, f"interval {start} is not a multiple of {length} s")
    return start


def forecast(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/forecast/<device>/<interval start>: a ForecastView of what the ledger expects of the device then
    and where it comes from (posted, fallback or none)."""
    device, start = args_exactly(args, 2, "/forecast/<device>/<interval start>")
    device_id = _device(store, device)
    return QueryResult(keeper.expected(store, device_id, _interval(store, start)).to_proto().SerializeToString())


def forecasts(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/forecasts/<device>/<first interval>/<count>: the ForecastViews of `count` consecutive intervals (at
    most the domain's MAX_INTERVALS)."""
    device, first, count = args_exactly(args, 3, "/forecasts/<device>/<first interval>/<count>")
    device_id = _device(store, device)
    start = _interval(store, first)
    n = int_arg(count, "count", domain_param(store, MAX_INTERVALS))
    length = domain_param(store, SETTLEMENT_INTERVAL)
    views = [keeper.expected(store, device_id, start + i * length).to_proto() for i in range(n)]
    return QueryResult(forecasts_pb2.ForecastViewList(forecasts=views).SerializeToString())


def forecast_posted(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/forecast_posted/<device>/<interval start>: the posted Forecast itself, provable against the app
    hash."""
    device, start = args_exactly(args, 2, "/forecast_posted/<device>/<interval start>")
    return record(store, keys.forecast(id_arg(device, "device"), int_arg(start, "interval", MAX_TIME)))


def forecast_error(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/forecast_error/<device>/<day>: the stored ForecastError of that UTC day, provable against the app
    hash."""
    device, day = args_exactly(args, 2, "/forecast_error/<device>/<day>")
    return record(store, keys.day_error(id_arg(device, "device"), int_arg(day, "day", MAX_TIME)))


def forecast_errors(store: KVReader, args: list[str], options: Mapping[str, str]) -> QueryResult:
    """/forecast_errors/<device>: one page of the device's daily errors in day order (ForecastErrorList
    with the next page's cursor)."""
    (device,) = args_exactly(args, 1, "/forecast_errors/<device>")
    prefix = keys.day_error_prefix(id_arg(device, "device"))
    items, cursor = page(store, prefix, options, lambda _k, v: forecasts_pb2.ForecastError.FromString(v))
    return QueryResult(
        forecasts_pb2.ForecastErrorList(errors=items, page=tx_pb2.PageInfo(next=cursor)).SerializeToString()
    )


QUERIES: dict[str, QueryHandler] = {
    Paths.FORECAST.root: forecast,
    Paths.FORECASTS.root: forecasts,
    Paths.FORECAST_POSTED.root: forecast_posted,
    Paths.FORECAST_ERROR.root: forecast_error,
    Paths.FORECAST_ERRORS.root: forecast_errors,
}
