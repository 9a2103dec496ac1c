"""Forecasts gridctl commands: post a device's forecast, read what the ledger expects (and from
which source), read its forecast error per day."""

from __future__ import annotations

import argparse

from gridledger.forecasts.v1 import forecasts_pb2
from gridwire.contract.forecasts import Paths as ForecastsPaths

from clients.cli_support import AddCommand, Context, action_group, add_paging, page_query, to_json
from clients.cli_types import DEVICE_ID, count, positive_count, unix_seconds, watt_hours
from clients.forecasts import SOURCE_NAMES, post_forecast

__all__ = ["parse_slots", "register"]

VIEW_COLUMNS = ["interval_start", "source", "export_wh", "import_wh", "days_used"]
ERROR_COLUMNS = [
    "day", "intervals_posted", "intervals_fallback", "forecast_export_wh", "metered_export_wh",
    "forecast_import_wh", "metered_import_wh", "error_wh",
]  # fmt: skip


def parse_slots(text: str) -> list[tuple[int, int]]:
    """Slots from "EXPORT:IMPORT,EXPORT:IMPORT,…" (Wh per interval; ":IMPORT" may be left out)."""
    slots = []
    for part in text.split(","):
        export_wh, _, import_wh = part.strip().partition(":")
        try:
            slots.append((watt_hours(export_wh), watt_hours(import_wh or "0")))
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"slot {part!r}: expected EXPORT_WH[:IMPORT_WH]; {exc}") from None
    return slots


def _view(view: forecasts_pb2.ForecastView) -> dict[str, object]:
    return {**to_json(view), "source": SOURCE_NAMES.get(view.source, str(view.source))}


def cmd_post(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.submit(post_forecast(args.device_id, args.first, args.slots))
    ctx.done(result, device=args.device_id, first_interval=args.first, intervals=len(args.slots))


def cmd_show(ctx: Context, args: argparse.Namespace) -> None:
    path = ForecastsPaths.FORECASTS(args.device_id, args.interval, args.count)
    views = ctx.query_list(path, forecasts_pb2.ForecastViewList).forecasts
    ctx.show([_view(v) for v in views], title=f"forecast of {args.device_id}", columns=VIEW_COLUMNS)


def cmd_error(ctx: Context, args: argparse.Namespace) -> None:
    if args.day is not None:
        what = f"forecast error of {args.device_id} on day {args.day}"
        error = ctx.query(
            ForecastsPaths.FORECAST_ERROR(args.device_id, args.day), forecasts_pb2.ForecastError, what=what
        )
        ctx.show(to_json(error), title=what)
        return
    view = ctx.query_list(
        ForecastsPaths.FORECAST_ERRORS(args.device_id) + page_query(args), forecasts_pb2.ForecastErrorList
    )
    rows = [to_json(e) for e in view.errors]
    ctx.show_page(rows, view.page.next, title=f"forecast error of {args.device_id} per day", columns=ERROR_COLUMNS)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    forecast = action_group(add, "forecast", "device forecasts: posted, fallback from readings, error per day")
    p = forecast("post", cmd_post, "owner or gateway: post a device's forecast for coming intervals")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("--first", type=unix_seconds, required=True, help="first interval start (unix seconds, aligned)")
    p.add_argument(
        "--slots", type=parse_slots, required=True, help="EXPORT_WH[:IMPORT_WH],… one per consecutive interval"
    )
    p = forecast("show", cmd_show, "what the ledger expects of a device, and from which source")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("interval", type=unix_seconds, help="first interval start (unix seconds, aligned)")
    p.add_argument("--count", type=positive_count, default=1, help="consecutive intervals (default 1)")
    p = forecast("error", cmd_error, "a device's forecast error per day (one day with DAY)")
    p.add_argument("device_id", type=DEVICE_ID)
    p.add_argument("day", type=count, nargs="?", help="UTC day number (interval start ÷ 86400)")
    add_paging(p)
